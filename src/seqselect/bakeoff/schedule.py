"""Stage 2 of the bake-off: how the budget is shared among the trials.

``budget`` is the wall time of the trial phase (set-up aside). It is split equally among
candidates x seeds, in waves of ``slots`` parallel trials: each trial gets
``budget / ceil(trials / slots)`` seconds of wall time, of which the trainer gets what is
left after the trial's own overhead (building, the final validation and test passes,
latency measurement, saving), which set-up measures once per model. A share is never
more than that, and less when the time actually left is short (an earlier overrun), so
the whole phase ends within the budget + 10%.
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqselect.bakeoff.plan import Plan
from seqselect.bakeoff.trial import TrialSpec, calibrate

__all__ = ["BUDGET_TOLERANCE", "Schedule", "make_schedule", "measure_seconds"]

#: Whole-phase tolerance the budget promises (the issue's "budget + 10%").
BUDGET_TOLERANCE = 0.10


def measure_seconds(share: float) -> float:
    """Time limit of a trial's latency/memory measurement: 6% of its share, 0.15-2 s."""
    return min(2.0, max(0.15, 0.06 * share))


@dataclass(frozen=True)
class Schedule:
    """The trials still to run and the shares they get.

    ``budget_s`` is the wall time of this phase (the resumed part of a run gets the
    resumed part of the budget); ``nominal_s`` the share of one trial when every trial
    runs on time; ``overhead`` the calibrated seconds per model outside training.
    """

    run: str
    todo: list[tuple[str, int]]
    n_trials: int  # all the run's trials, those kept from an earlier run included
    budget_s: float
    nominal_s: float
    slots: int
    threads: int
    overhead: dict[str, float]
    plan: Plan
    weights_dir: Path

    def share(self, elapsed: float, waiting: int) -> float:
        """Wall seconds for the next trial when ``waiting`` trials (it included) have not
        finished and ``elapsed`` seconds of the phase have gone."""
        remaining = max(0.0, self.budget_s - elapsed)
        if remaining <= 0:
            return 0.0
        waves_left = math.ceil(waiting / self.slots)
        return min(self.nominal_s, remaining / max(1, waves_left))

    def spec(self, model: str, seed: int, share: float, excess: list[float]) -> TrialSpec:
        """The trial of ``(model, seed)`` with ``share`` seconds of wall time.

        The trainer gets the share less what the trial costs beyond its training loop:
        calibrated per model in set-up, plus, when recent trials ran over their shares (a
        machine getting busier), their median excess.
        """
        limit = measure_seconds(share)
        extra = max(0.0, statistics.median(excess[-3:])) if excess else 0.0
        cost = self.overhead.get(model, 0.2 * share + limit) + extra
        prepared = self.plan.prepared[model]
        args = self.plan.args
        return TrialSpec(
            run=self.run,
            model=model,
            seed=seed,
            train_seconds=round(max(0.2, share - cost), 3),
            measure_seconds=limit,
            params=args["params"],
            overrides=prepared["config"],
            causal=prepared["causal"],
            max_epochs=args["max_epochs"],
            device=args["device"],
            weights_path=str(self.weights_dir / f"{model}-seed{seed}.safetensors"),
            train_options=args["train_options"],
        )


def weights_folder(runs_dir: Path, run: str) -> Path:
    """Where a run's trained weights go: one folder per run beside the store."""
    return runs_dir / re.sub(r"[^A-Za-z0-9_.-]+", "_", run)


def make_schedule(
    plan: Plan,
    run: str,
    *,
    done: set[tuple[str, int]],
    slots: int,
    threads: int,
    runs_dir: Path,
) -> Schedule:
    """Share the budget among ``plan``'s trials not in ``done``, and calibrate the models'
    overheads (set-up time, outside the budget)."""
    all_trials = plan.trials
    todo = [pair for pair in all_trials if pair not in done]
    budget_s = plan.args["budget_s"]
    nominal = budget_s / max(1, math.ceil(len(all_trials) / slots))
    limit = measure_seconds(nominal)
    overhead = {
        model: calibrate(
            model, plan.splits, plan.prepared[model], measure_seconds=limit, threads=threads,
            device=plan.args["device"],
        )
        for model in {m for m, _ in todo}
    }
    return Schedule(
        run=run,
        todo=todo,
        n_trials=len(all_trials),
        budget_s=budget_s * len(todo) / max(1, len(all_trials)) if done else budget_s,
        nominal_s=nominal,
        slots=slots,
        threads=threads,
        overhead=overhead,
        plan=plan,
        weights_dir=weights_folder(runs_dir, run),
    )


def timing(schedule: Schedule, *, setup_s: float, trials_s: float) -> dict[str, Any]:
    """The run's ``timing`` document: the phase against the budget."""
    budget_s = schedule.plan.args["budget_s"]
    return {
        "budget_s": budget_s,
        "setup_s": round(setup_s, 3),
        "trials_s": round(trials_s, 3),
        "share_s": round(schedule.nominal_s, 3),
        "trials_run": len(schedule.todo),
        "trials_resumed": schedule.n_trials - len(schedule.todo),
        "within_budget": trials_s <= (budget_s * (1 + BUDGET_TOLERANCE)),
        "tolerance": BUDGET_TOLERANCE,
    }
