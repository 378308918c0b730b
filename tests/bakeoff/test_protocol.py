"""The verdict protocol: cv on small training sets, hold-out on large ones, folds that are
stratified and disjoint, fold trials that never read the test split, refits on the pool,
and the refit's epochs from the folds' histories."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from seqselect.bakeoff.protocol import (
    CV_MAX_TRAIN,
    CV_MIN_VAL,
    choose_protocol,
    fold_of,
    folds_for,
    pool_folds,
    pool_of,
    refit_epochs,
    trial_splits,
)
from seqselect.bakeoff.records import Trial
from seqselect.bakeoff.trial import TrialSpec, run_trial
from seqselect.data.types import DatasetSplits, SequenceData


def _part(n: int, length: int, seed: int, n_classes: int = 3) -> SequenceData:
    """``n`` series whose class ``i % n_classes`` sets their level (learnable in a step)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % n_classes
    x = y.float()[:, None, None] + 0.1 * torch.randn(n, length, 1, generator=g)
    mask = torch.ones(n, length, dtype=torch.bool)
    mask[::4, length - 2:] = False  # some shorter series: the pool pads them
    return SequenceData(x * mask[..., None], mask, y)


def _splits(n_train: int, n_val: int, n_test: int = 12, task: str = "classify"):
    return DatasetSplits(
        name="levels", task=task, model_task="classify" if task == "classify" else "regress",
        train=_part(n_train, 10, 0), val=_part(n_val, 12, 1), test=_part(n_test, 10, 2),
        d_output=3, d_input=1, class_names=["a", "b", "c"],
    )


class ForbiddenSplit:
    """A test split that raises when anything reads it."""

    def __getattr__(self, name):
        raise AssertionError(f"the test split was read during selection ({name})")

    def __len__(self):
        raise AssertionError("the test split was read during selection (len)")


def test_small_training_sets_are_cross_validated_and_large_ones_held_out():
    small = choose_protocol(_splits(60, 15), seeds=3)
    assert small.kind == "cv" and small.n_folds == 3 and small.n_pool == 75
    assert small.restore_best is False and "cross-validation" in small.reason
    # A large training split with a large enough validation split: hold-out.
    large = choose_protocol(_splits(CV_MAX_TRAIN, CV_MIN_VAL), seeds=3)
    assert large.kind == "holdout" and large.restore_best is True
    # Many training rows but a validation split too small to rank on: cv again.
    assert choose_protocol(_splits(CV_MAX_TRAIN, CV_MIN_VAL - 1), seeds=3).kind == "cv"
    # Forecasting windows are ordered in time: never shuffled folds.
    forecast = choose_protocol(_splits(60, 15, task="forecast"), seeds=3)
    assert forecast.kind == "holdout"
    # ... and 15 validation windows cannot rank states: the last one is kept
    assert forecast.restore_best is False and "too few to rank" in forecast.reason
    many = choose_protocol(_splits(60, CV_MIN_VAL, task="forecast"), seeds=3)
    assert many.restore_best is True


def test_folds_are_stratified_disjoint_and_cover_the_pool():
    splits = _splits(60, 15)
    protocol = choose_protocol(splits, seeds=5)
    folds = pool_folds(splits, protocol)
    labels = pool_of(splits).y.numpy()
    held_out = np.concatenate([val for _, val in folds])
    assert sorted(held_out.tolist()) == list(range(75))  # each row scored exactly once
    for train, val in folds:
        assert not set(train) & set(val)
        assert np.bincount(labels[val], minlength=3).tolist() == [5, 5, 5]
    # The same data and fold seed give the same folds; a seed picks fold seed % k.
    again = pool_folds(splits, protocol)
    assert all((a[1] == b[1]).all() for a, b in zip(folds, again, strict=True))
    assert [fold_of(s, protocol) for s in range(7)] == [0, 1, 2, 3, 4, 0, 1]
    # A class rarer than k: fewer folds, each still holding every class.
    rare = replace(splits, train=_part(6, 10, 0), val=_part(3, 10, 1))
    assert choose_protocol(rare, seeds=3).n_folds == 3


def test_fold_trials_see_no_test_and_refits_train_on_the_pool():
    splits = _splits(60, 15)
    protocol = choose_protocol(splits, seeds=3)
    guarded = replace(splits, test=ForbiddenSplit())
    fold = trial_splits(guarded, protocol, "fold", 2)
    assert len(fold.test) == 0 and len(fold.train) + len(fold.val) == 75
    refit = trial_splits(splits, protocol, "refit", None)
    pool = pool_of(splits)
    assert len(refit.val) == 0 and refit.test is splits.test
    assert torch.equal(refit.train.x, pool.x) and torch.equal(refit.train.y, pool.y)
    # Validation rows are in the pool, padded to its length, masks kept.
    assert pool.mask[60:].sum() == splits.val.mask.sum()


def test_a_fold_trial_trains_and_scores_without_reading_the_test_split(tmp_path):
    splits = _splits(60, 15)
    protocol = choose_protocol(splits, seeds=3)
    spec = TrialSpec(
        run="r", model="gru", seed=1, train_seconds=2.0, measure_seconds=0.15,
        overrides={}, params=1500, max_epochs=2, role="fold", fold=1,
        protocol=protocol.to_dict(), weights_path=None,
    )
    trial = run_trial(spec, replace(splits, test=ForbiddenSplit()))
    assert trial.status == "ok", trial.error
    assert trial.role == "fold" and trial.fold == 1 and trial.metrics == {}
    assert trial.val_metrics["n"] == len(pool_folds(splits, protocol)[1][1])
    assert trial.predictions is None and trial.history
    # A loss per validation sequence, whose mean is the trainer's validation cross-entropy.
    assert len(trial.val_losses) == trial.val_metrics["n"] and min(trial.val_losses) >= 0
    assert sum(trial.val_losses) / len(trial.val_losses) == pytest.approx(
        trial.val_metrics["cross_entropy"], abs=1e-5)
    # The refit is tested once: a prediction per test example.
    refit = run_trial(replace(spec, role="refit", fold=None), splits)
    assert refit.status == "ok" and refit.metrics["n"] == 12 and refit.val_metrics == {}
    assert refit.val_losses is None
    assert len(refit.predictions) == 12 and set(refit.predictions) <= {0, 1, 2}
    assert refit.extra["n_train"] == 75 and refit.extra["protocol"] == "cv"


def _fold(history: list[tuple[float, float]], status: str = "ok") -> Trial:
    return Trial(
        model="m", seed=0, status=status, role="fold",
        history=[{"epoch": e, "val_metric": v} for e, v in history],
    )


def test_the_refit_trains_as_long_as_its_folds_trained():
    # Fold a peaked early on validation (epoch 2) but trained 4 epochs; b trained 3.
    # The refit trains the folds' median length (3.5 -> 4), whatever the mid-run scores.
    a = _fold([(1.0, 0.5), (2.0, 0.9), (3.0, 0.7), (4.0, 0.8)])
    b = _fold([(1.0, 0.6), (2.5, 0.8), (3.0, 0.7)])
    assert refit_epochs([a, b], "classify") == 4
    c = _fold([(1.0, 0.9), (2.0, 0.2), (2.2, 0.4)])
    assert refit_epochs([c], "regress") == 3  # rounded up
    assert refit_epochs([a, b, c], "classify") == 3  # median of 4, 3, 2.2
    # No usable history (diverged, or none): the share alone bounds the refit.
    assert refit_epochs([_fold([(1.0, 0.5)], status="diverged")], "classify") is None
    assert refit_epochs([], "classify") is None


@pytest.mark.parametrize(("seeds", "folds", "refits"), [
    (1, "3 fold runs, seeds 0-2", "then seed 0 refit"),
    (3, "3 fold runs, seeds 0-2", "then seeds 0-2 refit"),
    (4, "4 fold runs, seeds 0-3", "then seeds 0-3 refit"),
    (7, "7 fold runs, seeds 0-6", "then seeds 0-6 refit"),
])
def test_the_reason_names_the_fold_runs_and_the_refits(seeds, folds, refits):
    protocol = choose_protocol(_splits(60, 15), seeds=seeds)
    assert "every fold is scored" in protocol.reason
    assert folds in protocol.reason and refits in protocol.reason


def test_as_many_folds_as_seeds_between_three_and_five():
    assert [folds_for(s) for s in (1, 2, 3, 4, 5, 9)] == [3, 3, 3, 4, 5, 5]
    assert choose_protocol(_splits(60, 15), seeds=7).n_folds == 5  # 7 runs on 5 folds


def test_a_fit_may_ask_for_fewer_folds():
    assert choose_protocol(_splits(60, 15), seeds=5, n_folds=3).n_folds == 3
