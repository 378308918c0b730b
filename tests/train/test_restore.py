"""restore_best: the best-on-validation weights only where validation can rank them."""

from __future__ import annotations

import pytest
import torch

from seqselect.data import SequenceData
from seqselect.train import train
from seqselect.train.trainer import MIN_RANKING_VAL, resolve_restore_best


def _unlearnable_val(toy_splits):
    """Validation labels flipped: its best point is early, so restoring is visible."""
    s = toy_splits()
    s.val = SequenceData(s.val.x, s.val.mask, s.val.y.flip(0))
    return s


def _with_val_size(toy_splits, n_val: int):
    s = toy_splits(n=40 + n_val + 14)
    s.val = s.val.subset(torch.arange(n_val) % len(s.val))  # 10 rows, repeated to n_val
    return s


def test_none_restores_only_from_a_validation_split_of_50_or_more(toy_splits):
    assert resolve_restore_best(None, _with_val_size(toy_splits, MIN_RANKING_VAL - 1)) is False
    big = _with_val_size(toy_splits, MIN_RANKING_VAL)
    assert len(big.val) == MIN_RANKING_VAL
    assert resolve_restore_best(None, big) is True
    assert resolve_restore_best(True, toy_splits()) is True
    assert resolve_restore_best(False, big) is False


@pytest.mark.parametrize(("restore_best", "restored"), [(True, True), (False, False),
                                                        (None, False)])
def test_tested_weights_are_the_best_or_the_final_ones(tiny, toy_splits, restore_best, restored):
    s = _unlearnable_val(toy_splits)
    r = train(lambda: tiny(2, 3), s, budget="20 steps", batch_size=8, lr=0.05, seed=1,
              restore_best=restore_best, progress=False)
    best_val = r.hparams["best_val_step"]
    assert best_val is not None and best_val < r.steps  # an early point is the best
    assert r.hparams["restore_best"] is restored
    assert r.best_step == (best_val if restored else r.steps)
    tested = next(h for h in r.history if h["step"] == r.best_step)
    assert r.val_metrics["accuracy"] == tested["val_metric"]


def test_history_has_every_validation_point_for_choosing_refit_epochs(tiny, toy_splits):
    r = train(lambda: tiny(2, 3), toy_splits(), budget="4 epochs", batch_size=8, progress=False)
    assert [h["step"] for h in r.history] == list(range(2, 21, 2))  # 5 steps an epoch
    assert [h["epoch"] for h in r.history] == [step / 5 for step in range(2, 21, 2)]
    assert all(h["val_metric"] is not None and h["val_loss"] is not None for h in r.history)
