"""The work a training run did, in steps, so that another process can redo exactly it.

A seconds budget buys a machine-dependent number of steps: the trainer probes its
throughput, plans the learning-rate schedule's length from it (re-planning once), and
validates on a wall-clock cadence. Two runs of ``--budget 5m`` with the same seed therefore
train for slightly different numbers of steps and give slightly different metrics, on two
machines or on one. Everything the clock decided is written down here:

* ``steps``: how many optimisation steps ran;
* ``plans``: ``(step, total)`` each time the schedule's planned length was set — at step 0
  for a step or epoch cap, after the throughput probe, at the one re-plan;
* ``validations``: the steps after which a validation point ran inside the loop (the
  validation at the end is the trainer's rule, not the clock's, and is not listed);
* ``threads``: torch's intra-op threads (float sums can depend on how they are split).

``train(..., replay=record)`` trains for ``record.steps`` steps, sets the plans at the
recorded steps and validates at the recorded steps: with the same seed and data it repeats
the run's arithmetic exactly, so its metrics are bit-identical (on CPU) whatever the
machine's speed. ``tests/bakeoff/test_replay.py`` checks that across two processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["WorkRecord"]


@dataclass(frozen=True)
class WorkRecord:
    """What a run's clock decided (see the module docstring); ``to_dict()`` is JSON-ready."""

    steps: int
    plans: tuple[tuple[int, int], ...] = ()
    validations: tuple[int, ...] = ()
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"a replayed run needs at least one step, got {self.steps}")

    def plan_at(self) -> dict[int, int]:
        """``{step: planned total}``: the plan that takes effect after ``step`` steps."""
        return dict(self.plans)

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "plans": [list(plan) for plan in self.plans],
            "validations": list(self.validations),
            "threads": self.threads,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkRecord:
        """The inverse of :meth:`to_dict`.

        Raises:
            ValueError: a record without ``steps`` (the run stored none).
        """
        if not isinstance(data, dict) or not data.get("steps"):
            raise ValueError(f"not a work record (it needs a positive 'steps'): {data!r}")
        return cls(
            steps=int(data["steps"]),
            plans=tuple((int(step), int(total)) for step, total in data.get("plans") or ()),
            validations=tuple(int(step) for step in data.get("validations") or ()),
            threads=data.get("threads"),
        )
