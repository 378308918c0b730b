"""Stage 2 of the bake-off: how the budget is shared among the trials.

``budget`` is the wall time of the whole bake-off. Set-up (loading, profiling, advice,
building and the once-per-model calibration) and the baselines are measured as they run
and taken off it; what is left is the networks' budget, split equally among their trials
in waves of ``slots`` parallel trials. With cross-validation every (model, seed) has a
"fold" trial and a "refit" trial. A refit trains as many epochs as its folds did on the
whole pool, ``k/(k-1)`` times a fold's training rows, so a refit's share is ``k/(k-1)``
times a fold trial's (:func:`phase_weights`; with equal shares a 5-fold refit ran out of
time at 75-82% of its folds' epochs on OSULeaf, its one-cycle schedule re-planned
shorter). Every candidate gets the same shares, so neither phase and no candidate
starves. A trial's share is ``min(nominal, time left / weighted waves left)`` (waves of
every phase still to run counted, so a late overrun cannot eat the refits); the trainer
gets the share less the trial's own overhead (building, final validation and test
passes, latency measurement, saving), which set-up measures once per model and the
recent trials' wall times correct. What follows the trials (reading the run back,
deciding, exporting, the report) is kept back from the networks' budget as a closing
reserve (:func:`closing_reserve`) and measured as the "closing" phase. The whole
bake-off thus ends within the budget + 10%.
"""

from __future__ import annotations

import inspect
import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqselect.bakeoff.plan import Plan
from seqselect.bakeoff.protocol import fold_of
from seqselect.bakeoff.records import Protocol
from seqselect.bakeoff.trial import TrialSpec, calibrate
from seqselect.train import train
from seqselect.train.recipe import train_options_for

__all__ = [
    "BUDGET_TOLERANCE", "CLOSING_SHARE", "Schedule", "calibrate_models", "closing_reserve",
    "make_schedule", "measure_seconds", "nominal_share", "phase_weights", "role_units",
    "trials_by_role", "with_closing",
]

#: A trial key: (model, seed, role), as :attr:`~seqselect.bakeoff.records.Trial.key`.
Key = tuple[str, int, str]

#: Whole-phase tolerance the budget promises (the issue's "budget + 10%").
BUDGET_TOLERANCE = 0.10
#: The part of the budget kept back for the closing phase (up to 10 s). Measured on
#: task:copy_memory at 1m (2026-12-04): reading the run back, deciding and exporting took
#: 2.5 s, the command line's report and JSON 1.7 s more; uncounted, the process ended at
#: 69 s of a 66 s limit.
CLOSING_SHARE = 0.04
#: What the command line writes after the bake-off returns (the leaderboard, the report,
#: the JSON): 1.7-2.4 s measured at 1m on the per-step tasks (2026-12-04).
COMMAND_WRITING_S = 2.0


def closing_reserve(budget_s: float, command: bool = False) -> float:
    """Seconds of ``budget_s`` kept back for what follows the trials (at most 10);
    ``command``: the command line's writing afterwards is kept back too."""
    return min(10.0, CLOSING_SHARE * budget_s + (COMMAND_WRITING_S if command else 0.0))


def measure_seconds(share: float) -> float:
    """Time limit of a trial's latency/memory measurement: 6% of its share, 0.15-2 s."""
    return min(2.0, max(0.15, 0.06 * share))


@dataclass(frozen=True)
class Schedule:
    """The trials still to run and the shares they get.

    ``budget_s`` is the wall time of this phase (the resumed part of a run gets the
    resumed part of the budget); ``nominal_s`` the share of one trial of weight 1 (a fold
    or hold-out trial) when every trial runs on time; ``weights`` each role's share
    relative to that (:func:`phase_weights`; a role not in it: 1); ``overhead`` the
    calibrated seconds per model outside training.
    """

    run: str
    todo: list[Key]
    n_trials: int  # all the run's trials, those kept from an earlier run included
    budget_s: float
    nominal_s: float
    slots: int
    threads: int
    overhead: dict[str, float]
    plan: Plan
    weights_dir: Path
    weights: dict[str, float] = field(default_factory=dict)
    # A replay (seqselect.bakeoff.replay): each trial's recorded work, by key
    replays: dict[Key, dict[str, Any]] = field(default_factory=dict)

    def weight(self, role: str) -> float:
        return self.weights.get(role, 1.0)

    def nominal(self, role: str) -> float:
        """The share of one trial of ``role`` when every trial runs on time."""
        return self.nominal_s * self.weight(role)

    def phase_budget(self, role: str) -> float:
        """The seconds the trials of ``role`` get in the plan."""
        trials = sum(1 for key in self.todo if key[2] == role)
        return self.nominal(role) * math.ceil(trials / self.slots)

    def share(self, elapsed: float, waiting: int, role: str = "trial", later: int = 0) -> float:
        """Wall seconds for the next trial of ``role`` when ``waiting`` trials of its phase
        (it included) and ``later`` trials of the phase after it have not finished, and
        ``elapsed`` seconds of the networks' budget have gone."""
        remaining = max(0.0, self.budget_s - elapsed)
        if remaining <= 0:
            return 0.0
        roles = self.plan.roles
        after = roles[roles.index(role) + 1] if role in roles[:-1] else role
        units = (math.ceil(waiting / self.slots) * self.weight(role)
                 + math.ceil(later / self.slots) * self.weight(after))
        return self.weight(role) * min(self.nominal_s, remaining / max(1e-9, units))

    def spec(
        self, key: Key, share: float, excess: list[float], *, max_epochs: int | None = None
    ) -> TrialSpec:
        """The trial ``key`` with ``share`` seconds of wall time (``max_epochs``: a refit's
        epochs, chosen by its folds; else the run's ``--max-epochs``).

        The trainer gets the share less what the trial costs beyond its training loop:
        calibrated per model in set-up, corrected by the median excess of the last
        trials that trained to the end of their seconds (``excess``: wall time minus
        share; positive on a machine getting busier, negative where set-up's calibration
        over-estimated the overhead: then the trainer gets that time back).
        """
        model, seed, role = key
        limit = measure_seconds(share)
        extra = statistics.median(excess[-3:]) if excess else 0.0
        cost = max(0.0, self.overhead.get(model, 0.2 * share + limit) + extra)
        prepared = self.plan.prepared[model]
        args = self.plan.args
        protocol = self.plan.protocol
        fold = fold_of(seed, protocol) if role == "fold" else None
        return TrialSpec(
            run=self.run,
            model=model,
            seed=seed,
            train_seconds=round(max(0.2, share - cost), 3),
            measure_seconds=limit,
            params=args.get("build_params", args["params"]),
            overrides=prepared["config"],
            causal=prepared["causal"],
            max_epochs=max_epochs if max_epochs is not None else args["max_epochs"],
            device=args["device"],
            weights_path=self.weights_path(model, seed, role),
            train_options=self.train_options(model, role),
            role=role,
            fold=fold,
            protocol=protocol.to_dict(),
            replay=self.replays.get(key),
        )

    def weights_path(self, model: str, seed: int, role: str) -> str | None:
        """Where a trial's weights go: fold trials select and are never exported, so they
        save none; a refit's or a hold-out trial's are what export reads."""
        if role == "fold":
            return None
        return str(self.weights_dir / f"{model}-seed{seed}.safetensors")

    def train_options(self, model: str, role: str) -> dict[str, Any]:
        """The recipe's options for ``model`` under the user's own; the protocol's
        checkpoint rule when the trainer takes one (no restore from a set too small to
        rank on; a refit has no validation split at all)."""
        options = {**train_options_for(model, self.plan.splits), **self.plan.args["train_options"]}
        if "restore_best" in _TRAIN_PARAMETERS and options.get("restore_best") is None:
            options["restore_best"] = self.plan.protocol.restore_best and role == "trial"
        return options


#: The keyword arguments the trainer takes (a protocol option is passed only if taken).
_TRAIN_PARAMETERS = frozenset(inspect.signature(train).parameters)


def nominal_share(
    budget_s: float, trials_by_role: dict[str, int], slots: int,
    weights: dict[str, float] | None = None,
) -> float:
    """The wall seconds of one trial of weight 1 when ``trials_by_role`` trials (each
    phase run in waves of ``slots``; a trial of role ``r`` weighing ``weights[r]``,
    default 1) share ``budget_s``."""
    units = role_units(trials_by_role, slots, weights or {})
    return budget_s / units if units else budget_s


def role_units(trials_by_role: dict[str, int], slots: int, weights: dict[str, float]) -> float:
    """The budget's units: each phase's waves of ``slots`` trials times its weight."""
    return sum(
        math.ceil(n / max(1, slots)) * weights.get(role, 1.0)
        for role, n in trials_by_role.items() if n
    )


def phase_weights(protocol: Protocol) -> dict[str, float]:
    """Each role's share relative to a fold trial's: ``{"fold": 1, "refit": k/(k-1)}``
    under k-fold cross-validation (a refit trains its folds' epochs on k/(k-1) times the
    rows), else empty (every trial alike)."""
    k = protocol.n_folds or 0
    if protocol.kind != "cv" or k < 2:
        return {}
    return {"fold": 1.0, "refit": k / (k - 1)}


def trials_by_role(keys: list[Key], roles: tuple[str, ...]) -> dict[str, int]:
    """How many of ``keys`` each of ``roles`` has (in the roles' order)."""
    return {role: sum(1 for key in keys if key[2] == role) for role in roles}


def weights_folder(runs_dir: Path, run: str) -> Path:
    """Where a run's trained weights go: one folder per run beside the store."""
    return runs_dir / re.sub(r"[^A-Za-z0-9_.-]+", "_", run)


def calibrate_models(
    plan: Plan, models: list[str], *, limit: float, threads: int
) -> dict[str, float]:
    """Each model's seconds outside its training loop, measured once per model (not per
    trial) in set-up; see :func:`~seqselect.bakeoff.trial.calibrate`."""
    return {
        model: calibrate(
            model, plan.splits, plan.prepared[model], measure_seconds=limit, threads=threads,
            device=plan.args["device"],
            train_options={**train_options_for(model, plan.splits), **plan.args["train_options"]},
        )
        for model in dict.fromkeys(models)
    }


def make_schedule(
    plan: Plan,
    run: str,
    *,
    done: set[Key],
    slots: int,
    threads: int,
    runs_dir: Path,
    budget_s: float,
    overhead: dict[str, float],
    replays: dict[Key, dict[str, Any]] | None = None,
) -> Schedule:
    """Share ``budget_s`` (the networks' part of the budget) among ``plan``'s trials not
    in ``done``; ``overhead`` is :func:`calibrate_models`'s answer; ``replays`` the
    recorded work of a replayed run's trials (they redo it instead of their share)."""
    todo = [key for key in plan.trials if key not in done]
    weights = phase_weights(plan.protocol)
    # the waves still to run, each counted at its role's weight
    units = role_units(trials_by_role(todo, plan.roles), slots, weights)
    return Schedule(
        run=run,
        todo=todo,
        n_trials=len(plan.trials),
        budget_s=max(0.0, budget_s),
        nominal_s=max(0.0, budget_s) / units if units else max(0.0, budget_s),
        slots=slots,
        threads=threads,
        overhead=overhead,
        plan=plan,
        weights_dir=weights_folder(runs_dir, run),
        weights=weights,
        replays=dict(replays or {}),
    )


def timing(
    schedule: Schedule, *, actual: dict[str, float], planned: dict[str, float]
) -> dict[str, Any]:
    """The run's ``timing`` document: every phase, planned and actual, against the budget.

    ``actual``/``planned`` map phases (setup, baselines, trials, folds, refits) to
    seconds; ``total`` is added. The older keys (``setup_s``, ``trials_s``, ...) stay.
    """
    budget_s = schedule.plan.args["budget_s"]
    actual = {**actual, "total": sum(actual.values())}
    planned = {**planned, "total": budget_s}
    network_s = sum(actual.get(k, 0.0) for k in ("trials", "folds", "refits"))
    return {
        "budget_s": budget_s,
        "setup_s": round(actual.get("setup", 0.0), 3),
        "trials_s": round(network_s, 3),
        "share_s": round(schedule.nominal_s, 3),
        "trials_run": len(schedule.todo),
        "trials_resumed": schedule.n_trials - len(schedule.todo),
        "within_budget": _within(actual["total"], budget_s),
        "tolerance": BUDGET_TOLERANCE,
        "protocol": schedule.plan.protocol.kind,
        "baselines_s": round(actual.get("baselines", 0.0), 3),
        "total_s": round(actual["total"], 3),
        "network_budget_s": round(schedule.budget_s, 3),
        "planned_s": {k: round(v, 3) for k, v in planned.items()},
        "actual_s": {k: round(v, 3) for k, v in actual.items()},
    }


def with_closing(doc: dict[str, Any], closing_s: float) -> dict[str, Any]:
    """The ``timing`` document ``doc`` with the closing phase's ``closing_s`` seconds
    added to its actual phases and total, and the budget judged again."""
    actual = {k: v for k, v in doc["actual_s"].items() if k != "total"}
    actual["closing"] = round(closing_s, 3)
    total = sum(actual.values())
    return {
        **doc,
        "actual_s": {**actual, "total": round(total, 3)},
        "total_s": round(total, 3),
        "within_budget": _within(total, doc["budget_s"]),
    }


def _within(total_s: float, budget_s: float) -> bool:
    """Whether a whole bake-off's ``total_s`` keeps the promise: the budget + 10%."""
    return total_s <= budget_s * (1 + BUDGET_TOLERANCE)
