"""TrainingLoop: each rule on its own (step, validate, should_stop), on a fake clock."""

from __future__ import annotations

import math

import pytest
import torch

from seqselect.budget import Budget
from seqselect.data import SequenceData
from seqselect.train.loop import (
    BestState,
    LoopSettings,
    TrainingLoop,
    ValidationSchedule,
    default_eval_every,
)
from seqselect.train.optimizer import make_optimizer


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_loop(model, splits, budget="100 steps", clock=None, **settings) -> TrainingLoop:
    torch.manual_seed(0)
    return TrainingLoop(
        model, splits, make_optimizer("adamw", model, lr=0.05, weight_decay=0.0),
        budget=Budget.parse(budget), settings=LoopSettings(**{"batch_size": 8, **settings}),
        generator=torch.Generator().manual_seed(0), device=torch.device("cpu"),
        clock=clock or FakeClock(),
    )


def test_default_eval_every_is_an_epoch_but_10_to_50_points():
    assert default_eval_every(Budget(epochs=3), steps_per_epoch=5) == 2  # 15 steps: 1/10
    assert default_eval_every(Budget(epochs=100), steps_per_epoch=5) == 10  # 500 steps: 1/50
    assert default_eval_every(Budget(epochs=20), steps_per_epoch=5) == 5  # once per epoch
    assert default_eval_every(Budget(seconds=60), steps_per_epoch=7) == 7  # no step count
    assert default_eval_every(Budget(steps=40), steps_per_epoch=1) == 1  # each step: 40 points
    assert default_eval_every(Budget(steps=400, epochs=100), steps_per_epoch=1) == 2  # 100 steps


def test_the_validation_schedule_of_a_seconds_budget():
    schedule = ValidationSchedule.for_budget(Budget(seconds=100), steps_per_epoch=4)
    assert (schedule.every_steps, schedule.min_gap_s, schedule.max_gap_s) == (4, 2.0, 10.0)
    assert not schedule.is_due(4, seconds_since_last=1.0)  # on cadence but too soon
    assert schedule.is_due(4, seconds_since_last=2.0)
    assert not schedule.is_due(5, seconds_since_last=9.9)
    assert schedule.is_due(5, seconds_since_last=10.0)  # too long without a point
    given = ValidationSchedule.for_budget(Budget(seconds=100), steps_per_epoch=4, eval_every=3)
    assert (given.every_steps, given.min_gap_s) == (3, 0.0)  # eval_every lifts the minimum gap
    steps_only = ValidationSchedule.for_budget(Budget(steps=100), steps_per_epoch=4)
    assert steps_only.max_gap_s == math.inf and steps_only.is_due(8, 0.0)


def test_should_stop_on_steps(tiny, toy_splits):
    loop = make_loop(tiny(2, 3), toy_splits(), budget="3 steps")
    batch = toy_splits().train
    for _ in range(2):
        loop.step(batch)
        assert loop.should_stop() is None
    loop.step(batch)
    assert loop.should_stop() == "steps"


def test_should_stop_on_epochs_after_the_last_batch_of_the_epoch(tiny, toy_splits):
    loop = make_loop(tiny(2, 3), toy_splits(), budget="2 epochs")  # 40 / 8 = 5 steps an epoch
    assert loop.run() == "epochs" and loop.steps == 10 and loop.epochs == 2.0


def test_should_stop_on_seconds_on_a_fake_clock(tiny, toy_splits):
    clock = FakeClock()
    loop = make_loop(tiny(2, 3), toy_splits(), budget="10s", clock=clock)
    loop.step(toy_splits().train)
    clock.now = 9.99
    assert loop.should_stop() is None
    clock.now = 10.0
    assert loop.should_stop() == "seconds" and loop.elapsed() == 10.0


def test_should_stop_on_early_stopping_after_patience_validations(tiny, toy_splits):
    s = toy_splits()
    loop = make_loop(tiny(2, 3), s, patience=2)
    loop.step(s.train)
    assert loop.validate() is True  # the first point is always the best so far
    assert loop.should_stop() is None
    loop.best.score = 2.0  # no accuracy beats this: every later point is "no improvement"
    loop.step(s.train)
    assert loop.validate() is False and loop.should_stop() is None
    loop.step(s.train)
    assert loop.validate() is False and loop.should_stop() == "early_stopping"
    assert loop.evals_without_improvement == 2


def test_without_validation_data_patience_never_stops(tiny, toy_splits):
    s = toy_splits()
    s.val = s.val.subset(torch.arange(0))
    loop = make_loop(tiny(2, 3), s, patience=0)
    loop.step(s.train)
    assert loop.validate() is False and loop.should_stop() is None
    assert loop.history[-1]["val_loss"] is None and loop.best.step is None


def test_should_stop_on_divergence_first_and_the_weights_stay(tiny, toy_splits):
    s = toy_splits()
    model = tiny(2, 3)
    loop = make_loop(model, s, budget="1 steps")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    bad = SequenceData(s.train.x * float("nan"), s.train.mask, s.train.y)
    assert math.isnan(loop.step(bad))
    assert loop.diverged_at_step == 1 and loop.should_stop() == "diverged"  # before "steps"
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert loop.finish() == ({}, {})


def test_validate_records_history_and_keeps_the_best_weights(tiny, toy_splits):
    s = toy_splits()
    model = tiny(2, 3)
    clock = FakeClock()
    loop = make_loop(model, s, clock=clock)
    losses = [loop.step(s.train), loop.step(s.train)]
    clock.now = 1.5
    loop.validate()
    entry = loop.history[-1]
    assert entry["step"] == 2 and entry["epoch"] == 0.4 and entry["elapsed_s"] == 1.5
    assert entry["val_metric"] is not None and entry["val_loss"] is not None
    assert entry["train_loss"] == pytest.approx(sum(losses) / 2)
    kept = {k: v.clone() for k, v in model.state_dict().items()}
    assert loop.best.step == 2
    loop.best.score = 2.0  # later points cannot win
    for _ in range(3):
        loop.step(s.train)
    loop.validate()
    assert loop.best.step == 2
    assert not all(torch.equal(kept[k], v) for k, v in model.state_dict().items())
    loop.best.restore(model)
    assert all(torch.equal(kept[k], v) for k, v in model.state_dict().items())


def test_train_loss_in_history_is_the_mean_since_the_last_point(tiny, toy_splits):
    s = toy_splits()
    loop = make_loop(tiny(2, 3), s)
    losses = [loop.step(s.train) for _ in range(3)]
    loop.validate()
    assert loop.history[-1]["train_loss"] == pytest.approx(sum(losses) / 3)
    loop.validate()
    assert loop.history[-1]["train_loss"] is None  # no step since


def test_best_state_breaks_ties_by_the_lower_loss(tiny):
    model = tiny(2, 3)
    best = BestState(higher_is_better=True)
    assert best.offer(0.5, 1.0, step=1, model=model)
    assert not best.offer(0.5, 1.0, step=2, model=model)  # equal on both: no
    assert best.offer(0.5, 0.9, step=3, model=model) and best.step == 3
    assert not best.offer(0.4, 0.1, step=4, model=model)
    lower = BestState(higher_is_better=False)
    assert lower.offer(3.0, 3.0, 1, model) and lower.offer(2.0, 2.0, 2, model)
    assert not lower.offer(2.5, 0.0, 3, model) and lower.step == 2


def test_finish_adds_a_last_point_restores_the_best_and_evaluates(tiny, toy_splits):
    s = toy_splits()
    loop = make_loop(tiny(2, 3), s, budget="7 steps", eval_every=5)
    assert loop.run() == "steps"
    assert [h["step"] for h in loop.history] == [5]
    val_metrics, test_metrics = loop.finish()
    assert [h["step"] for h in loop.history] == [5, 7]
    assert test_metrics["n"] == len(s.test) and val_metrics["n"] == len(s.val)
    assert val_metrics["accuracy"] == loop.history[
        [h["step"] for h in loop.history].index(loop.best.step)
    ]["val_metric"]


def test_settings_refuse_a_batch_size_below_one():
    with pytest.raises(ValueError, match="batch_size"):
        LoopSettings(batch_size=0)


def test_a_validation_that_would_end_past_the_seconds_budget_is_left_to_finish(
    tiny, toy_splits, monkeypatch
):
    # Each validation pass takes 3 s of a 10 s budget: after the one at 2 s (ending at
    # 5 s), the one due at 8 s would end at 11 s and is not started; finish() validates
    # the last step anyway.
    from seqselect.train import loop as loop_module

    clock = FakeClock()
    real = loop_module.evaluate_split

    def slow_evaluate(*args, **kwargs):
        clock.now += 3.0
        return real(*args, **kwargs)

    monkeypatch.setattr(loop_module, "evaluate_split", slow_evaluate)
    s = toy_splits()
    loop = make_loop(tiny(2, 3), s, budget="10s", clock=clock)
    loop.step(s.train)
    clock.now = 2.0
    loop.validate()
    assert loop.elapsed() == 5.0 and not loop._validation_overruns()  # 5 + 3 <= 10
    loop.step(s.train)
    clock.now = 8.0
    loop.step(s.train)
    assert loop._validation_overruns()  # 8 + 3 > 10
    replaying = make_loop(tiny(2, 3), s, budget="10s", clock=clock)
    replaying.schedule = ValidationSchedule(1, at_steps=frozenset({1}))
    replaying._validation_s, replaying._last_step_time = 3.0, 9.0
    assert not replaying._validation_overruns()  # a replay validates where its run did


def test_finish_reuses_the_last_validation_pass_of_the_tested_weights(
    tiny, toy_splits, monkeypatch
):
    from seqselect.train import loop as loop_module

    calls: list[str] = []
    real = loop_module.evaluate_split

    def counted(model, splits, split, **kwargs):
        calls.append(split)
        return real(model, splits, split, **kwargs)

    monkeypatch.setattr(loop_module, "evaluate_split", counted)
    s = toy_splits()
    loop = make_loop(tiny(2, 3), s, budget="6 steps", eval_every=3, restore_best=False)
    assert loop.run() == "steps"
    val_metrics, _ = loop.finish()
    assert [entry["step"] for entry in loop.history] == [3, 6]
    assert calls == ["val", "val", "test"]  # not a third validation pass
    assert val_metrics["cross_entropy"] == loop.history[-1]["val_loss"]
    assert val_metrics == real(loop.model, s, "val", batch_size=loop.settings.eval_batch_size,
                               device=loop.device)
