"""The bake-off's leaderboard: one row per model from its finished trials, ranked by
validation.

The rule (DESIGN.md, evaluation protocol): everything that selects reads validation data
only. A row's *validation* score is the mean ± std over its "fold" trials (cross-validation
inside the training split) or over its hold-out trials' validation metrics; its *test*
score is the mean ± std over the trials that were tested ("refit" or "trial"), reported
and never used to rank. The leaderboard is ordered by validation (ties, equal up to
round-off: the smaller model, a baseline counting as smaller than any network, then the
name; on small folds the networks among themselves by validation cross-entropy,
:mod:`~seqselect.bakeoff.ranking`), and each row's seed to export is the seed whose
validation score is best (:func:`export_scores`: under cross-validation, seed ``s`` is
scored on fold ``s % k``, so each seed's score is taken relative to its fold's mean
over every model scored on it, and a seed is not preferred for drawing an easy fold).

:func:`same_validation` is the one definition of a validation tie: the order here and the
verdict's words (:mod:`~seqselect.bakeoff.verdict_text`) both use it. What wins, under
which constraints, is :mod:`~seqselect.bakeoff.decide`'s.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from seqselect.bakeoff.ranking import LOSS, order_networks_by_loss
from seqselect.bakeoff.records import LeaderboardRow, Trial
from seqselect.vocabulary import TASK_METRIC, higher_is_better

__all__ = [
    "TEST_ROLES", "build_leaderboard", "export_scores", "finite", "fold_means", "metric_for",
    "same_validation", "validation_score",
]

#: The roles of trials that were tested (once each): their ``metrics`` are test metrics.
TEST_ROLES = ("trial", "refit")
#: The metric a data task ranks by when its trials carry it (forecasting: MASE, scaled
#: by the seasonal-naive error, so series of different scales compare).
_PREFERRED = {"forecast": "mase"}
#: Significant digits two validation scores are compared on: means over folds and seeds
#: that are equal but summed in another order differ in the last bits, not in the ninth.
_TIE_DIGITS = 9
#: What a trial's ``extra["precision"]`` may say (the trainer writes "bf16" or "fp32";
#: trials from before it resolved "auto" say "float32"), in the row's words.
_PRECISIONS = {"bf16": "bf16", "bfloat16": "bf16", "fp32": "fp32", "float32": "fp32"}


def finite(value: Any) -> bool:
    """A real, finite number (not None, not NaN, not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def metric_for(task: str, metrics: dict[str, Any] | None = None) -> str:
    """The leaderboard's metric: the task's metric (accuracy for classification, mse for
    regression, mase for forecasting when the trials have it), or the first numeric
    metric the trials have when they lack it."""
    preferred = _PREFERRED.get(task)
    if preferred and metrics and preferred in metrics:
        return preferred
    preferred = TASK_METRIC.get(task, "mse")
    if metrics and preferred not in metrics:
        numeric = [k for k, v in metrics.items() if isinstance(v, (int, float)) and k != "n"]
        if numeric:
            return numeric[0]
    return preferred


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _std(values: list[float]) -> float | None:
    if not values:
        return None
    return statistics.stdev(values) if len(values) > 1 else 0.0


def _median(values: Iterable[Any]) -> float | None:
    kept = [v for v in values if finite(v)]
    return statistics.median(kept) if kept else None


def _tie_key(value: float) -> float:
    """``value`` rounded to :data:`_TIE_DIGITS` significant digits: equal keys are a tie."""
    return float(f"{value:.{_TIE_DIGITS}g}")


def same_validation(a: float | None, b: float | None) -> bool:
    """Are two validation scores equal, up to floating round-off? (None equals nothing.)

    The leaderboard's order and the verdict's words share this one definition, so a row
    that heads the table by Occam's rule is never said to have beaten the one it tied."""
    return finite(a) and finite(b) and _tie_key(a) == _tie_key(b)


def validation_score(trial: Trial, metric: str) -> float | None:
    """What ``trial`` says on selection data: its fold's score for a "fold" trial, its
    validation split's score otherwise; None when it has none (never its test score)."""
    value = trial.val_metrics.get(metric)
    if value is None and trial.role == "fold":
        # A fold trial never sees the test split: any metric it carries is its fold's.
        value = trial.metrics.get(metric)
    return float(value) if finite(value) else None


def _model_status(has_metric: bool, statuses: list[str]) -> str:
    """One word for a model's row: ok (a usable trial), pending (none yet), or what
    happened to its trials (diverged when any diverged, else failed)."""
    if has_metric:
        return "ok"
    if not statuses:
        return "pending"
    return "diverged" if "diverged" in statuses else "failed"


def _selection_scores(ok: list[Trial], metric: str) -> dict[int, list[float]]:
    """Validation scores by seed: from the "fold" trials when the model has any (cv),
    else from the tested trials' validation split (hold-out)."""
    folds = [t for t in ok if t.role == "fold"]
    source = folds or [t for t in ok if t.role in TEST_ROLES]
    by_seed: dict[int, list[float]] = {}
    for trial in source:
        score = validation_score(trial, metric)
        if score is not None:
            by_seed.setdefault(trial.seed, []).append(score)
    return by_seed


def fold_means(trials: list[Trial], metric: str) -> dict[int, float]:
    """Each fold's mean validation score over the models scored on it (each model's mean
    on the fold first, so a model with more seeds there does not weigh more): how easy
    the fold is, which every model's seeds on it share."""
    by_fold: dict[int, dict[str, list[float]]] = {}
    for trial in trials:
        if trial.role != "fold" or trial.status != "ok" or trial.fold is None:
            continue
        score = validation_score(trial, metric)
        if score is not None:
            by_fold.setdefault(trial.fold, {}).setdefault(trial.model, []).append(score)
    return {
        fold: statistics.fmean(statistics.fmean(v) for v in models.values())
        for fold, models in by_fold.items()
    }


def export_scores(ok: list[Trial], metric: str, means: dict[int, float]) -> dict[int, float]:
    """What the seed to export is chosen on, by seed: the mean of its fold trials'
    scores less each fold's mean (:func:`fold_means`) under cross-validation, else its
    validation score (hold-out: every seed is scored on the same split)."""
    folds = [t for t in ok if t.role == "fold" and t.fold is not None]
    by_seed: dict[int, list[float]] = {}
    for trial in folds or [t for t in ok if t.role in TEST_ROLES]:
        score = validation_score(trial, metric)
        if score is not None:
            offset = means.get(trial.fold, 0.0) if folds else 0.0
            by_seed.setdefault(trial.seed, []).append(score - offset)
    return {seed: statistics.fmean(values) for seed, values in by_seed.items()}


def _best_seed(tested: list[Trial], scores: dict[int, float], metric: str) -> int | None:
    """The tested seed whose :func:`export_scores` score is best (ties: the smaller
    seed); the test score plays no part."""
    candidates = sorted({t.seed for t in tested if t.seed in scores})
    if not candidates:
        return None
    sign = -1.0 if higher_is_better(metric) else 1.0
    return min(candidates, key=lambda s: (round(sign * scores[s], _TIE_DIGITS), s))


def _precision(ok: list[Trial], kind: str) -> str | None:
    """How a network's tested and fold trials trained: "bf16" (all), "fp32" (none in
    bf16) or "mixed"; None for a baseline or when no trial recorded it."""
    if kind == "baseline":
        return None
    ran = {
        _PRECISIONS.get(str(t.extra.get("precision")).lower()) for t in ok
        if t.role in (*TEST_ROLES, "fold")
    } - {None}
    if not ran:
        return None
    return ran.pop() if len(ran) == 1 else "mixed"


def _model_row(
    name: str, trials: list[Trial], metric: str, kind: str, means: dict[int, float]
) -> LeaderboardRow:
    """``name``'s row (unranked) from its trials; ``means``: :func:`fold_means`."""
    mine = [t for t in trials if t.model == name]
    ok = [t for t in mine if t.status == "ok"]
    tested = [t for t in ok if t.role in TEST_ROLES and finite(t.metrics.get(metric))]
    values = [t.metrics[metric] for t in tested]
    by_seed = _selection_scores(ok, metric)
    val_values = [v for seed in sorted(by_seed) for v in by_seed[seed]]
    metric_means: dict[str, float] = {}
    for key in sorted({k for t in tested for k in t.metrics}):
        mean = _mean([t.metrics[key] for t in tested if finite(t.metrics.get(key))])
        if mean is not None:
            metric_means[key] = mean
    costs = tested or ok  # the costs of the models that were tested
    statuses = [t.status for t in mine]
    kind = next((t.kind for t in mine), kind)
    return LeaderboardRow(
        model=name,
        metric=metric,
        value=_mean(values),
        std=_std(values),
        n_seeds=len(values),
        seeds=sorted({t.seed for t in mine}),
        train_s=_mean([t.train_s for t in costs if finite(t.train_s)]),
        latency_ms=_median(t.latency_ms for t in costs),
        batch_latency_ms=_median(t.batch_latency_ms for t in costs),
        step_latency_ms=_median(t.step_latency_ms for t in costs),
        peak_mb=_median(t.peak_mb for t in costs),
        params=next((t.params for t in mine if t.params), None),
        status=_model_status(bool(values or val_values), statuses),
        n_diverged=statuses.count("diverged"),
        n_failed=statuses.count("failed"),
        metrics=metric_means,
        best_seed=_best_seed(tested, export_scores(ok, metric, means), metric),
        errors=sorted({t.error for t in mine if t.error}),
        kind=kind,
        val_value=_mean(val_values),
        val_std=_std(val_values),
        n_val=len(val_values),
        val_loss=_mean([v for vs in _selection_scores(ok, LOSS).values() for v in vs]),
        precision=_precision(ok, kind),
    )


def build_leaderboard(
    trials: list[Trial], models: list[str], metric: str, *, baselines: Iterable[str] = ()
) -> list[LeaderboardRow]:
    """One row per model (``baselines`` name the rows that are not networks), ranked by
    the validation score: best first; equal scores (:func:`same_validation`) to the
    smaller model, a baseline (no parameters) before any network (Occam's rule), then by
    name. The test score is carried, never used to order. Rows without a validation
    score sink to the bottom unranked, with their status.
    """
    baselines = set(baselines)
    means = fold_means(trials, metric)
    rows = [
        _model_row(name, trials, metric, "baseline" if name in baselines else "network", means)
        for name in models
    ]
    sign = -1 if higher_is_better(metric) else 1
    rows.sort(key=lambda r: (
        r.val_value is None, sign * _tie_key(r.val_value or 0.0), r.params or 0, r.model,
    ))
    rows = order_networks_by_loss(rows, trials)  # small folds: networks by cross-entropy
    return [
        replace(row, rank=rank if row.val_value is not None else None)
        for rank, row in enumerate(rows, 1)
    ]
