"""The learning-rate schedule of a run, scaled to its budget.

The schedule is a factor of each parameter group's base learning rate as a function of
the step, over a planned number of steps ``T``:

* ``onecycle`` (the recipe's default): linear warm-up over the first 10% of ``T`` from
  ``1/25`` of the base rate to the base rate, then a cosine down to ``1/25,000`` of it at
  ``T`` (Smith & Topin 2019; torch's ``OneCycleLR`` defaults ``div_factor=25``,
  ``final_div_factor=1e3``).
* ``cosine``: linear warm-up from 0 over the first 10% of ``T``, then a cosine to 0 at ``T``.
* ``constant``: the base rate at every step (the trainer's behaviour before the recipe).

``T`` comes from the budget. Step and epoch budgets give it directly. A seconds budget
does not, so :class:`StepPlanner` times the first ``probe_steps`` steps (they run at the
warm-up's starting rate), plans ``T`` from that throughput and the seconds left, and
re-plans once, at half of the first plan, from the measured rate of the whole run so far
(which then includes the validation points); the plan is fixed after that. Past ``T`` the
factor stays at its final value. Every plan is recorded as ``(step, T)`` in
``StepPlanner.plans``; a planner made with ``script=`` (a replay,
:mod:`seqselect.train.work`) sets those plans at those steps instead of timing anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["LR_SCHEDULES", "LRSchedule", "StepPlanner", "lr_factor"]

#: The values ``train(lr_schedule=...)`` accepts.
LR_SCHEDULES: tuple[str, ...] = ("onecycle", "cosine", "constant")
WARMUP_FRACTION = 0.1  # of the planned steps; OneCycleLR's pct_start default is 0.3, 0.1
# let 20-s runs on small UCR sets spend more of their steps at the full rate
ONECYCLE_START = 1 / 25  # OneCycleLR div_factor=25
ONECYCLE_END = 1 / 25_000  # div_factor * final_div_factor = 25 * 1e3


def lr_factor(kind: str, step: int, total: int) -> float:
    """The factor of the base learning rate at ``step`` (0-based) of ``total`` planned steps.

    Raises:
        ValueError: an unknown ``kind``.
    """
    if kind not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {kind!r}")
    if kind == "constant":
        return 1.0
    total = max(1, total)
    warmup = max(1, round(WARMUP_FRACTION * total))
    start, end = (ONECYCLE_START, ONECYCLE_END) if kind == "onecycle" else (0.0, 0.0)
    if step < warmup:
        return start + (1.0 - start) * step / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return end + (1.0 - end) * 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass
class StepPlanner:
    """Plans the total steps of a seconds budget from the measured throughput.

    ``observe(steps, elapsed_s)`` after every step; ``total`` is None until the probe is
    done, then the plan (re-planned once). ``fixed`` plans (step/epoch budgets) never change.
    The re-plan (at half of the plan, and at least ``probe_steps`` after the probe) reads
    the rate *since the probe*: the probe holds the first step's one-time costs and
    whatever else the machine was doing then, and a slow probe read as the run's rate
    left a trial at half its seconds with its schedule done (ACSF1: 94 steps planned and
    run in 6.8 s of 12.2).
    ``plans`` records ``(step, total)`` each time the plan is set; ``script`` (a replay's
    recorded plans, ``{step: total}``) replaces the timing: the plans are set at those steps.
    """

    seconds: float | None
    fixed: int | None = None  # the steps a step or epoch budget allows
    probe_steps: int = 8
    safety: float = 0.95  # of the seconds left: the first plan ignores validation time
    total: int | None = None
    probed: bool = False
    replanned: bool = False
    script: dict[int, int] | None = None
    plans: list[tuple[int, int]] = field(default_factory=list)
    _probe_end: tuple[int, float] = (0, 0.0)  # (steps, elapsed s) when the probe ended

    def __post_init__(self) -> None:
        if self.script is not None:
            self.seconds = self.fixed = None  # the recorded plans decide, not a clock
            self._set(0, self.script.get(0))
        elif self.fixed is not None:
            self._set(0, self.fixed)

    def observe(self, steps: int, elapsed_s: float) -> None:
        """Plan after the probe, re-plan once at half of the plan (a seconds budget only);
        a replay sets the plan recorded at ``steps``, if any."""
        if self.script is not None:
            self._set(steps, self.script.get(steps))
            return
        if self.seconds is None or self.replanned:
            return
        if not self.probed:
            if steps >= self.probe_steps:
                self._set(steps, self._cap(self._plan(steps, elapsed_s, self.safety)))
                self.probed = True
                self._probe_end = (steps, elapsed_s)
            return
        probe_steps, probe_s = self._probe_end
        if steps >= max((self.total or 0) // 2, probe_steps + self.probe_steps):
            per_step = (elapsed_s - probe_s) / (steps - probe_steps)
            self._set(steps, self._cap(max(steps + 1, self._plan(
                steps, elapsed_s, 1.0, per_step=per_step
            ))))
            self.replanned = True

    def _set(self, steps: int, total: int | None) -> None:
        if total is not None:
            self.total = total
            self.plans.append((steps, total))

    def _plan(
        self, steps: int, elapsed_s: float, safety: float, per_step: float | None = None
    ) -> int:
        """The total steps: those done plus the seconds left (times ``safety``) at
        ``per_step`` seconds a step (default: the average so far)."""
        if per_step is None:
            per_step = elapsed_s / max(1, steps)
        per_step = max(per_step, 1e-9)
        left = max(0.0, self.seconds - elapsed_s) * safety
        return steps + max(1, int(left / per_step))

    def _cap(self, total: int) -> int:
        return min(total, self.fixed) if self.fixed is not None else total


class LRSchedule:
    """Sets each optimizer group's ``lr`` to its base rate times :func:`lr_factor`."""

    def __init__(self, kind: str, optimizer, planner: StepPlanner) -> None:
        lr_factor(kind, 0, 1)  # validates kind
        self.kind, self.optimizer, self.planner = kind, optimizer, planner
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.apply(0)

    def factor(self, step: int) -> float:
        """The factor at ``step``; before a seconds plan exists, the warm-up's start."""
        if self.planner.total is None:
            return lr_factor(self.kind, 0, 1)
        return lr_factor(self.kind, step, self.planner.total)

    def apply(self, step: int) -> float:
        """Set the rates for ``step`` (0-based: the next step to take); returns the factor."""
        factor = self.factor(step)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * factor
        return factor
