"""Replaying a stored bake-off: the same trials, the same work, the same metrics.

A wall-clock budget makes a bake-off's amount of work depend on the machine: each trial
trains for as many steps as its share buys there and then (``--budget 5m`` twice in a
row moved GunPoint's tcn validation cross-entropy from 0.14 to 0.124). Every network
trial therefore stores what its clock decided (``extra["work"]``,
:class:`~seqselect.train.work.WorkRecord`). ``bakeoff(data, replay=RUN)`` runs RUN's
candidates, seeds, folds, baselines and settings again into a new run, each network trial
redoing its recorded work instead of a share of the budget. On CPU, with the same data,
every trial's metrics come out bit-identical: :func:`compare_runs` checks that, trial by
trial, and the CLI prints its answer.

What a replay cannot repeat: a tuned run's search (refused), and the timings (they are
measured again; they are not part of the check).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from seqselect.bakeoff.records import Trial
from seqselect.errors import SeqSelectError

__all__ = [
    "ReplayCheck", "ReplaySetup", "compare_runs", "prepare_replay", "recorded_work",
    "replay_options", "replay_run_name", "stored_fit",
]

#: A trial key: (model, seed, role).
Key = tuple[str, int, str]
#: What a replayed trial must reproduce exactly (its timings are measured again).
_COMPARED = ("status", "metrics", "val_metrics", "predictions", "val_losses", "params")
_COMPARED_EXTRA = ("steps", "best_step", "diverged_at_step")


@dataclass(frozen=True)
class ReplayCheck:
    """How a replayed run compares with its original, trial by trial."""

    original: str
    replay: str
    identical: list[str] = field(default_factory=list)  # "model/seed/role" of equal trials
    differing: dict[str, list[str]] = field(default_factory=dict)  # key -> fields that differ
    not_replayed: list[str] = field(default_factory=list)  # no work record (failed trials)

    @property
    def ok(self) -> bool:
        return bool(self.identical) and not self.differing

    def sentence(self) -> str:
        n = len(self.identical) + len(self.differing)
        if self.ok:
            text = (f"replay of {self.original}: all {n} trials' metrics and predictions are "
                    f"bit-identical to the original")
        else:
            shown = "; ".join(f"{k}: {', '.join(v)}" for k, v in list(self.differing.items())[:4])
            text = (f"replay of {self.original}: {len(self.differing)} of {n} trials differ "
                    f"from the original ({shown})")
        if self.not_replayed:
            text += f"; not replayable (no recorded work): {', '.join(self.not_replayed)}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "original": self.original, "replay": self.replay, "ok": self.ok,
            "identical": self.identical, "differing": self.differing,
            "not_replayed": self.not_replayed,
        }


@dataclass(frozen=True)
class ReplaySetup:
    """What a replay of a stored run takes from it: the request's settings, each network
    trial's recorded work by key, the new run's name and the budget fit to apply again."""

    original: str
    settings: dict[str, Any]
    work: dict[Key, dict[str, Any]]
    run: str
    fit: dict[str, Any] | None


def prepare_replay(db, original: str, data: Any, run: str | None) -> ReplaySetup:
    """The replay of run ``original`` of the store ``db`` on ``data`` into ``run``
    (default ``ORIGINAL-replay``).

    Raises:
        SeqSelectError: see :func:`replay_options`.
    """
    stored = db.get_run(original)
    settings = replay_options(stored, original, data)
    return ReplaySetup(
        original=original,
        settings=settings,
        work=recorded_work(db.trials(original)),
        run=run or replay_run_name(original, {r["name"] for r in db.list_runs()}),
        fit=stored_fit(stored),
    )


def replay_options(previous: dict[str, Any] | None, name: str, data: Any) -> dict[str, Any]:
    """The request settings that repeat the stored run ``previous`` (named ``name``).

    Raises:
        SeqSelectError: no such run, a tuned run, or other data than the run's.
    """
    if previous is None:
        raise SeqSelectError(
            f"--replay: no run named {name!r} in this store (`seqselect report --store STORE` "
            "lists them)"
        )
    args = previous.get("args") or {}
    if args.get("tune"):
        raise SeqSelectError(f"--replay: run {name!r} was tuned (--tune); a search cannot be "
                             "replayed, only bake-offs without --tune")
    if isinstance(data, str) and args.get("data") and data != args["data"]:
        raise SeqSelectError(
            f"--replay: run {name!r} was made on {args['data']!r}, not {data!r}; give the same "
            "data"
        )
    return {
        "task": args.get("task"),
        "target": args.get("target"),
        "models": list(args.get("models") or []),
        "budget": args.get("budget_s"),
        # the seeds asked for: the baselines fit them all; the stored budget fit (applied
        # again, see stored_fit) then leaves the networks the seeds they had
        "seeds": args.get("seeds_requested", args.get("seeds", 1)),
        "params": args.get("params"),
        "max_latency_ms": args.get("max_latency_ms"),
        "max_memory_mb": args.get("max_memory_mb"),
        "max_params": args.get("max_params"),
        "device": args.get("device", "cpu"),
        "max_epochs": args.get("max_epochs"),
        "train_options": args.get("train_options") or {},
        "data_options": args.get("data_options") or {},
        "baselines": args.get("baselines_arg", "auto"),
    }


def stored_fit(previous: dict[str, Any]) -> dict[str, Any] | None:
    """The budget fit the stored run was given (None: it kept every seed and model)."""
    return (previous.get("args") or {}).get("budget_fit") or None


def replay_run_name(original: str, existing: set[str]) -> str:
    """``ORIGINAL-replay``, numbered when that name is taken."""
    name, n = f"{original}-replay", 2
    while name in existing:
        name, n = f"{original}-replay{n}", n + 1
    return name


def recorded_work(trials: list[Trial]) -> dict[Key, dict[str, Any]]:
    """Each finished network trial's work record, by key (trials without one: absent)."""
    return {
        t.key: t.extra["work"]
        for t in trials
        if t.kind == "network" and isinstance((t.extra or {}).get("work"), dict)
    }


def _fingerprint(trial: Trial) -> dict[str, str]:
    """The compared fields as JSON text (repr of floats: equal text, equal bits)."""
    doc = trial.to_dict()
    out = {key: json.dumps(doc.get(key), sort_keys=True) for key in _COMPARED}
    out.update({key: json.dumps((trial.extra or {}).get(key)) for key in _COMPARED_EXTRA})
    out["history"] = json.dumps(
        [{k: v for k, v in h.items() if k != "elapsed_s"} for h in trial.history or []],
        sort_keys=True,
    )
    return out


def compare_runs(
    original: str, replay: str, before: list[Trial], after: list[Trial]
) -> ReplayCheck:
    """Trial-by-trial comparison of a replay with its original (timings excluded)."""
    mine = {t.key: t for t in after}
    work = recorded_work(before)
    identical, differing, missing = [], {}, []
    for trial in sorted(before, key=lambda t: (t.kind, t.key)):
        label = "/".join(map(str, trial.key))
        if trial.kind == "network" and trial.key not in work:
            missing.append(label)
            continue
        twin = mine.get(trial.key)
        if twin is None:
            differing[label] = ["not in the replay"]
            continue
        a, b = _fingerprint(trial), _fingerprint(twin)
        fields_ = [key for key in a if a[key] != b[key]]
        if fields_:
            differing[label] = fields_
        else:
            identical.append(label)
    return ReplayCheck(original, replay, identical, differing, missing)
