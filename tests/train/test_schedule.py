"""The learning-rate schedule and the seconds-budget step planner (fake clock)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from seqselect.budget import Budget
from seqselect.train.loop import LoopSettings, TrainingLoop
from seqselect.train.optimizer import make_optimizer
from seqselect.train.schedule import (
    ONECYCLE_END,
    ONECYCLE_START,
    LRSchedule,
    StepPlanner,
    lr_factor,
)


@pytest.mark.parametrize("kind", ["onecycle", "cosine"])
def test_warmup_rises_then_cosine_falls_to_about_zero_at_the_planned_step(kind):
    total = 200
    factors = [lr_factor(kind, step, total) for step in range(total + 1)]
    warmup = 20  # 10% of the plan
    assert all(a < b for a, b in itertools.pairwise(factors[: warmup + 1]))
    assert factors[warmup] == pytest.approx(1.0)
    tail = factors[warmup:]
    assert all(a >= b for a, b in itertools.pairwise(tail))
    assert factors[total] == pytest.approx(0.0, abs=1e-4)
    # the cosine's midpoint is half the rate (above the floor)
    mid = warmup + (total - warmup) // 2
    assert factors[mid] == pytest.approx(0.5, abs=0.01)


def test_onecycle_starts_at_a_25th_and_ends_at_its_floor_and_stays_there():
    assert lr_factor("onecycle", 0, 100) == pytest.approx(ONECYCLE_START)
    assert lr_factor("onecycle", 100, 100) == pytest.approx(ONECYCLE_END)
    assert lr_factor("onecycle", 500, 100) == pytest.approx(ONECYCLE_END)
    assert lr_factor("cosine", 0, 100) == 0.0


def test_constant_is_one_and_unknown_kinds_raise():
    assert {lr_factor("constant", s, 10) for s in range(20)} == {1.0}
    with pytest.raises(ValueError, match="lr_schedule"):
        lr_factor("linear", 0, 10)


def test_planner_plans_from_the_probe_then_replans_once_at_half():
    planner = StepPlanner(seconds=10.0, probe_steps=8)
    for step in range(1, 8):
        planner.observe(step, 0.1 * step)
        assert planner.total is None  # still probing
    planner.observe(8, 0.8)  # 0.1 s a step, 9.2 s left, 95% of it: 87 more steps
    assert planner.total == 8 + 87 and not planner.replanned
    planner.observe(46, 4.6)  # before half of the plan (95 // 2 = 47): no re-plan
    assert planner.total == 95
    # slower than planned since the probe: 5.075 s for 39 steps, 4.125 s left -> 31 more
    planner.observe(47, 5.875)
    assert (planner.total, planner.replanned) == (47 + 31, True)
    planner.observe(60, 6.1)  # fixed from now on
    assert planner.total == 78


def test_a_slow_probe_is_corrected_by_the_rate_since_the_probe():
    # the first 8 steps take 0.5 s each (one-time costs, a busy machine), then 0.0625 s
    planner = StepPlanner(seconds=10.0, probe_steps=8)
    planner.observe(8, 4.0)  # 6 s left at 0.5 s a step, 95% of it: 11 more steps
    assert planner.total == 19
    planner.observe(10, 4.125)  # half of the plan, but only 2 steps since the probe
    assert not planner.replanned
    planner.observe(16, 4.5)  # 8 steps at 0.0625 s: 5.5 s left -> 88 more steps
    assert (planner.total, planner.replanned) == (16 + 88, True)
    # the average since step 0 (0.28 s a step) would have planned 19 more


def test_planner_keeps_a_step_budget_and_caps_a_seconds_plan_by_it():
    assert StepPlanner(seconds=None, fixed=300).total == 300
    both = StepPlanner(seconds=10.0, fixed=50, probe_steps=4)
    both.observe(4, 0.04)  # the seconds would allow ~950 steps; the step budget says 50
    assert both.total == 50


def test_schedule_sets_every_groups_rate_from_its_own_base():
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([{"params": [a], "lr": 1.0}, {"params": [b], "lr": 0.1}])
    schedule = LRSchedule("cosine", opt, StepPlanner(seconds=None, fixed=10))
    schedule.apply(5)
    factor = lr_factor("cosine", 5, 10)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([factor, 0.1 * factor])


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.01  # every reading is 10 ms later
        return self.now


def test_a_seconds_run_follows_its_plan_and_ends_near_the_floor(tiny, toy_splits):
    splits = toy_splits()
    torch.manual_seed(0)
    model = tiny(2, 3)
    loop = TrainingLoop(
        model, splits, make_optimizer("adamw", model, lr=0.01, weight_decay=0.0),
        budget=Budget.parse("3s"), settings=LoopSettings(batch_size=8, lr_schedule="onecycle"),
        generator=torch.Generator().manual_seed(0), device=torch.device("cpu"),
        clock=FakeClock(),
    )
    reason = loop.run()
    assert loop.planner.replanned and reason == "seconds"
    assert loop.steps <= loop.planner.total
    assert loop.optimizer.param_groups[0]["lr"] <= 0.01 * 0.05  # the cosine's tail
    factors = [h["lr_factor"] for h in loop.history]
    assert max(factors) > 0.9 and factors[-1] < 0.05
    assert not math.isnan(loop.history[-1]["train_loss"])
