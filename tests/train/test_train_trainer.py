"""The trainer: budgets, overfitting a tiny batch, divergence, determinism, whole-set eval."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from seqselect.data import DatasetSplits, SequenceData, load_dataset
from seqselect.models import create_model
from seqselect.train import Budget, evaluate, train


class Tiny(nn.Module):
    """Mean-pool then MLP: (B, L, C) -> (B, O), or per step (B, L, O)."""

    def __init__(self, c: int, o: int, per_step: bool = False, vocab: int | None = None):
        super().__init__()
        self.embed = nn.Embedding(vocab, c) if vocab else None
        self.net = nn.Sequential(nn.Linear(c, 32), nn.Tanh(), nn.Linear(32, o))
        self.per_step = per_step

    def forward(self, x, mask=None):
        h = self.embed(x) if self.embed is not None else x
        if self.per_step:
            return self.net(h)
        if mask is not None:
            w = mask.unsqueeze(-1).float()
            h = (h * w).sum(1) / w.sum(1)
        else:
            h = h.mean(1)
        return self.net(h)


def _splits(n=64, length=6, classes=3, seed=0) -> DatasetSplits:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    x = torch.randn(n, length, 2, generator=g) * 0.1 + y[:, None, None].float()
    mask = torch.ones(n, length, dtype=torch.bool)
    mask[::4, length // 2 :] = False
    x[~mask] = 0
    part = lambda sl: SequenceData(x[sl], mask[sl], y[sl])  # noqa: E731
    return DatasetSplits(name="toy", task="classify", model_task="classify", train=part(slice(0, 40)),
                         val=part(slice(40, 50)), test=part(slice(50, n)), d_input=2, d_output=classes,
                         class_names=[str(i) for i in range(classes)])


def test_budget_parse():
    assert Budget.parse("90s") == Budget(seconds=90)
    assert Budget.parse("10m") == Budget(seconds=600)
    assert Budget.parse("1.5h") == Budget(seconds=5400)
    assert Budget.parse("5 epochs") == Budget(epochs=5)
    assert Budget.parse("200 steps") == Budget(steps=200)
    assert Budget.parse("5 epochs, 60s") == Budget(epochs=5, seconds=60)
    assert Budget.parse("45") == Budget(seconds=45)
    for bad in ("soon", "5 parsecs", ""):
        with pytest.raises(ValueError):
            Budget.parse(bad)
    with pytest.raises(ValueError):
        Budget()


def test_overfits_a_tiny_batch():
    x = torch.randn(8, 5, 3)
    y = torch.arange(8) % 4
    data = SequenceData(x, torch.ones(8, 5, dtype=torch.bool), y)
    s = DatasetSplits(name="tiny", task="classify", model_task="classify", train=data, val=data,
                      test=data, d_input=3, d_output=4, class_names=list("abcd"))
    r = train(lambda: Tiny(3, 4), s, budget="150 steps", lr=3e-2, weight_decay=0.0, batch_size=8,
              progress=False)
    assert r.status == "ok" and r.steps == 150
    assert r.test_metrics["accuracy"] == 1.0 and r.test_metrics["cross_entropy"] < 0.05


def test_budgets_stop_where_they_say():
    s = _splits()
    r = train(lambda: Tiny(2, 3), s, budget=Budget(epochs=3), batch_size=16, progress=False)
    assert r.steps == 9 and r.epochs == 3 and r.stopped_by == "epochs"  # ceil(40/16) = 3 per epoch
    r = train(lambda: Tiny(2, 3), s, budget="7 steps", batch_size=16, progress=False)
    assert r.steps == 7 and r.stopped_by == "steps"


def test_a_seconds_budget_stops_at_the_first_step_past_it(monkeypatch):
    """On a fake clock (every reading 10 ms later), so no assertion depends on machine speed."""
    import types

    from seqselect.train import trainer

    ticks = iter(range(10**9))
    fake_time = types.SimpleNamespace(**vars(trainer.time))
    fake_time.perf_counter = lambda: 0.01 * next(ticks)
    monkeypatch.setattr(trainer, "time", fake_time)
    r = train(lambda: Tiny(2, 3), _splits(), budget="0.3s", batch_size=4, progress=False)
    assert r.stopped_by == "seconds"
    assert 0.3 <= r.train_seconds < 0.4  # stopped within a few clock readings of the budget
    assert 1 <= r.steps < 30  # at most one step per clock reading


def test_evaluation_covers_the_whole_test_set_with_a_partial_batch():
    s = _splits(n=77)  # 27 test examples
    r = train(lambda: Tiny(2, 3), s, budget="2 epochs", progress=False)
    assert r.test_metrics["n"] == 27
    m = evaluate(Tiny(2, 3), s.test, "classify", batch_size=5)  # 5 full batches + 2
    assert m["n"] == 27


def test_same_seed_same_metrics_different_seed_differs():
    s = load_dataset("task:adding?length=12&n=120")
    build = lambda: create_model("gru", d_model=8, **s.model_kwargs())  # noqa: E731
    a = train(build, s, budget="30 steps", seed=7, batch_size=16, progress=False)
    b = train(build, s, budget="30 steps", seed=7, batch_size=16, progress=False)
    c = train(build, s, budget="30 steps", seed=8, batch_size=16, progress=False)
    assert a.test_metrics == b.test_metrics and a.seed == 7
    assert [h["train_loss"] for h in a.history] == [h["train_loss"] for h in b.history]
    assert a.test_metrics != c.test_metrics


def test_nan_loss_ends_the_run_as_diverged():
    class Blowup(Tiny):
        calls = 0

        def forward(self, x, mask=None):
            out = super().forward(x, mask)
            if self.training:  # count training steps only, not validation passes
                Blowup.calls += 1
                if Blowup.calls == 4:
                    return out * float("nan")
            return out

    s = _splits()
    r = train(lambda: Blowup(2, 3), s, budget="20 steps", batch_size=8, progress=False)
    assert r.status == "diverged" and r.diverged_at_step == 4 and r.steps == 4
    assert r.test_metrics == {} and r.stopped_by == "diverged"
    json.dumps(r.to_dict())  # recordable


def test_early_stopping_and_best_state_restored():
    s = _splits()
    s.val = SequenceData(s.val.x, s.val.mask, s.val.y.flip(0))  # labels it cannot learn
    r = train(lambda: Tiny(2, 3), s, budget="200 epochs", batch_size=40, patience=3, lr=0.05,
              progress=False)
    assert r.stopped_by == "early_stopping" and r.steps < 200
    best = next(h for h in r.history if h["step"] == r.best_step)
    assert r.val_metrics["accuracy"] == best["val_metric"]


def test_per_step_tokens_with_ignored_positions():
    s = load_dataset("task:selective_copy?length=24&n=60&n_memorize=4&vocab=6")
    r = train(lambda: Tiny(8, s.d_output, per_step=True, vocab=s.vocab_size), s, budget="5 steps",
              progress=False)
    assert r.status == "ok"
    assert r.test_metrics["n_steps"] == 4 * len(s.test)  # only the recall positions are scored
    assert {"accuracy", "cross_entropy", "sequence_accuracy"} <= set(r.test_metrics)


def test_regression_metrics_and_zoo_model_with_tagged_groups():
    s = load_dataset("task:adding?length=10&n=80")
    r = train(lambda: create_model("tcn", d_model=8, n_layers=2, **s.model_kwargs()), s,
              budget="10 steps", progress=False, threads=1)
    assert set(r.test_metrics) >= {"mse", "mae", "n"} and r.task_metric == "mse"
    assert not r.higher_is_better and r.hparams["threads"] == 1
    assert math.isfinite(r.test_metrics["mse"])
    assert r.param_groups.startswith("seqselect.models.optim")


def test_masked_padding_does_not_change_metrics():
    s = _splits()
    model = Tiny(2, 3)
    m1 = evaluate(model, s.test, "classify")
    noisy = SequenceData(s.test.x.clone(), s.test.mask, s.test.y)
    noisy.x[~noisy.mask] = 123.0
    assert evaluate(model, noisy, "classify") == m1
