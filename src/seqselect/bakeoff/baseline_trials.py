"""Baselines as bake-off rows: which ones a run fits, and each (baseline, seed, role) fitted
under the run's protocol as a :class:`~seqselect.bakeoff.records.Trial` with
``kind="baseline"`` (stored and resumed like a network's trial, never exported).

The protocol is the networks' (:mod:`~seqselect.bakeoff.protocol`): a "fold" fit trains on
the pool minus the seed's fold and is scored on that fold (its validation metrics; the
test split is not read), a "refit" trains on the whole pool and is tested once (test
metrics and one prediction per test example), a hold-out "trial" trains on the training
split and reports both. Baselines run in this process, one after another, before the
networks, within their share of the budget (:func:`seqselect.bakeoff.run.run_baselines`),
and their measured time is taken off what the networks share. :func:`probe_seconds`
estimates a trial before it is fitted, from the same trial on two small subsets.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from seqselect.bakeoff.protocol import trial_splits
from seqselect.bakeoff.records import Protocol, Trial
from seqselect.baselines import list_baselines, run_baseline
from seqselect.baselines.registry import baseline_card
from seqselect.baselines.run import check_fits
from seqselect.data.types import DatasetSplits, SequenceData
from seqselect.errors import SeqSelectError

__all__ = [
    "PROBE_EXAMPLES", "PROBE_MIN_TRAIN", "SLOW_BASELINES", "parse_baselines", "probe_seconds",
    "run_baseline_trial", "trial_size",
]

#: Baselines ``auto`` leaves out because they cost far more than a second a fit; they run
#: when named (``baselines="multirocket_hydra"``).
SLOW_BASELINES = ("multirocket_hydra",)

#: A probe fits the trial on this many training examples, then on twice as many ...
PROBE_EXAMPLES = 16
#: ... when the trial trains on at least this many: on fewer, the probes (four times
#: :data:`PROBE_EXAMPLES` fits in all) would cost a good part of the fit they estimate.
PROBE_MIN_TRAIN = 8 * PROBE_EXAMPLES


def _can_take(name: str, splits: DatasetSplits) -> bool:
    """Whether baseline ``name`` takes this data (its task, its inputs, per-step)."""
    try:
        check_fits(name, splits)
    except SeqSelectError:
        return False
    return True


def parse_baselines(text: str | list[str] | None, splits: DatasetSplits) -> list[str]:
    """``"auto"`` -> the registry's baselines for the data's task that take it, less the
    slow ones; ``"none"``/None/``""`` -> none; ``"a,b"`` -> those names, checked.

    Raises:
        SeqSelectError: an unknown name, or a baseline that cannot take this data.
    """
    items = text.split(",") if isinstance(text, str) else list(text or [])
    items = [t.strip() for t in items if t.strip()]
    if items in ([], ["none"]):
        return []
    if items == ["auto"]:
        return [
            b for b in list_baselines(splits.task)
            if b not in SLOW_BASELINES and _can_take(b, splits)
            and splits.metadata.get("data_type") not in baseline_card(b).slow_on
        ]
    known = list_baselines()
    unknown = [b for b in items if b not in known]
    if unknown:
        raise SeqSelectError(
            f"unknown baseline(s) in --baselines: {', '.join(unknown)}; "
            f"choose auto, none or names from {', '.join(known)}"
        )
    wrong = [b for b in items if not _can_take(b, splits)]
    if wrong:
        raise SeqSelectError(
            f"--baselines {', '.join(wrong)} cannot take {splits.name} "
            f"(a {splits.task} dataset, model task {splits.model_task}); "
            f"for it choose from {', '.join(list_baselines(splits.task)) or 'none'}"
        )
    return list(dict.fromkeys(items))


def _fit_splits(splits: DatasetSplits, protocol: Protocol, role: str, fold: int | None):
    """The splits ``run_baseline`` is given. A fold fit is scored on its fold, which it
    also gets as its "test" split (``run_baseline`` always predicts one): the real test
    split is not part of what it sees."""
    seen = trial_splits(splits, protocol, role, fold)
    return replace(seen, test=seen.val) if role == "fold" else seen


def _repeats(role: str) -> int:
    """Latency repeats after the warm-up: a fold trial's latency is not reported (the
    leaderboard's costs are its tested trials'), so it predicts its fold only once."""
    return 0 if role == "fold" else 3


def trial_size(splits: DatasetSplits, protocol: Protocol, role: str, fold: int | None) -> int:
    """How many sequences a trial fits or predicts: what its cost grows with."""
    seen = _fit_splits(splits, protocol, role, fold)
    scored = [seen.val] if seen.val is seen.test else [seen.val, seen.test]
    return len(seen.train) + sum(len(part) for part in scored)


def _cut(data: SequenceData, fraction: float) -> SequenceData:
    """``fraction`` of ``data``'s sequences, evenly spaced through it (at least one)."""
    if not len(data):
        return data
    count = min(len(data), max(1, round(fraction * len(data))))
    index = np.unique(np.linspace(0, len(data) - 1, count).round().astype(np.int64))
    return data.subset(torch.as_tensor(index))


def _subsample(seen: DatasetSplits, fraction: float) -> DatasetSplits:
    """Every split of ``seen`` cut to the same ``fraction`` (a fold's shared split once)."""
    val = _cut(seen.val, fraction)
    test = val if seen.test is seen.val else _cut(seen.test, fraction)
    return replace(seen, train=_cut(seen.train, fraction), val=val, test=test)


def _probe_wall(
    name: str, seen: DatasetSplits, fraction: float, seed: int, role: str
) -> float | None:
    """Wall seconds of the trial on ``fraction`` of its data; None when that fit fails."""
    start = time.perf_counter()
    fitted = run_baseline(name, _subsample(seen, fraction), seed, repeats=_repeats(role))
    return time.perf_counter() - start if fitted.ok else None


def probe_seconds(
    name: str, splits: DatasetSplits, protocol: Protocol, *, seed: int, role: str,
    fold: int | None,
) -> float | None:
    """The trial's wall seconds, estimated before it runs: the same trial on
    :data:`PROBE_EXAMPLES` and twice as many training examples (every split cut by the
    same fraction), after a warm-up on the smaller that takes the imports and compilation,
    extrapolated along the line through the two (a fixed cost plus a cost per sequence).

    None when the training split is under :data:`PROBE_MIN_TRAIN` (the probe would cost
    a good part of the fit) or a probe fails: the first trial then measures it.
    """
    seen = _fit_splits(splits, protocol, role, fold)
    if len(seen.train) < PROBE_MIN_TRAIN:
        return None
    small, large = PROBE_EXAMPLES / len(seen.train), 2 * PROBE_EXAMPLES / len(seen.train)
    walls = [_probe_wall(name, seen, f, seed, role) for f in (small, small, large)]
    if None in walls:
        return None
    _, at_small, at_large = walls
    per_fraction = max(0.0, (at_large - at_small) / (large - small))
    return at_large + per_fraction * (1.0 - large)


def _validation_metrics(fitted, role: str) -> dict[str, Any]:
    """A fold fit's score on its fold; a hold-out fit's on the validation split; a refit
    has no validation data."""
    if role == "refit":
        return {}
    return dict(fitted.test_metrics if role == "fold" else fitted.val_metrics)


def run_baseline_trial(
    name: str,
    splits: DatasetSplits,
    protocol: Protocol,
    *,
    seed: int,
    role: str,
    fold: int | None,
    run: str = "",
) -> Trial:
    """Fit baseline ``name`` for one (seed, role) of the protocol; a failed fit is a
    ``"failed"`` trial, never an exception."""
    start = time.perf_counter()
    fitted = run_baseline(
        name, _fit_splits(splits, protocol, role, fold), seed, repeats=_repeats(role)
    )
    scored_on_test = role != "fold"
    extra: dict[str, Any] = {
        "options": fitted.options,
        "protocol": protocol.kind,
        "fold_seed": protocol.fold_seed,
        "wall_s": round(time.perf_counter() - start, 3),
    }
    return Trial(
        run=run,
        model=name,
        seed=seed,
        kind="baseline",
        role=role,
        fold=fold,
        status="ok" if fitted.ok else "failed",
        error=fitted.error,
        metrics=dict(fitted.test_metrics) if scored_on_test else {},
        val_metrics=_validation_metrics(fitted, role),
        predictions=list(fitted.test_predictions) if scored_on_test and fitted.ok else None,
        train_s=fitted.fit_s,
        latency_ms=fitted.latency_ms,
        peak_mb=fitted.peak_mb,
        extra=extra,
    )
