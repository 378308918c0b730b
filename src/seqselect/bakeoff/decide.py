"""Stage 4 of the bake-off: from finished trials to a leaderboard, a winner and the
verdict's sentences.

The sentences (``Winner.reasons``) are written here once; the CLI and the HTML report
both show them as they are.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from seqselect.bakeoff.records import LeaderboardRow, Trial, Winner
from seqselect.formatting import format_number
from seqselect.vocabulary import TASK_METRIC, higher_is_better

__all__ = ["build_leaderboard", "choose_winner", "finite", "metric_for"]

#: How a missing number reads inside a verdict sentence.
_MISSING = "n/a"


def finite(value: Any) -> bool:
    """A real, finite number (not None, not NaN, not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def metric_for(task: str, metrics: dict[str, Any] | None = None) -> str:
    """The leaderboard's metric: the task's metric (accuracy for classification, mse for
    regression and forecasting), or the first numeric metric the trials have when they
    lack it."""
    preferred = TASK_METRIC.get(task, "mse")
    if metrics and preferred not in metrics:
        numeric = [k for k, v in metrics.items() if isinstance(v, (int, float)) and k != "n"]
        if numeric:
            return numeric[0]
    return preferred


def _number(value: Any, digits: int = 4) -> str:
    return format_number(value, digits, missing=_MISSING)


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _std(values: list[float]) -> float | None:
    if not values:
        return None
    return statistics.stdev(values) if len(values) > 1 else 0.0


def _median(values: Iterable[Any]) -> float | None:
    kept = [v for v in values if finite(v)]
    return statistics.median(kept) if kept else None


def _model_status(has_metric: bool, statuses: list[str]) -> str:
    """One word for a model's row: ok (a usable trial), pending (none yet), or what
    happened to its trials (diverged when any diverged, else failed)."""
    if has_metric:
        return "ok"
    if not statuses:
        return "pending"
    return "diverged" if "diverged" in statuses else "failed"


def _model_row(name: str, trials: list[Trial], metric: str) -> LeaderboardRow:
    """``name``'s row (unranked) from its trials."""
    mine = [t for t in trials if t.model == name]
    ok = [t for t in mine if t.status == "ok"]
    scored = [t for t in ok if finite(t.metrics.get(metric))]
    values = [t.metrics[metric] for t in scored]
    metric_means: dict[str, float] = {}
    for key in sorted({k for t in ok for k in t.metrics}):
        mean = _mean([t.metrics[key] for t in ok if finite(t.metrics.get(key))])
        if mean is not None:
            metric_means[key] = mean
    best_trial = None
    if scored:
        pick = max if higher_is_better(metric) else min
        best_trial = pick(scored, key=lambda t: t.metrics[metric])
    statuses = [t.status for t in mine]
    return LeaderboardRow(
        model=name,
        metric=metric,
        value=_mean(values),
        std=_std(values),
        n_seeds=len(values),
        seeds=sorted(t.seed for t in mine),
        train_s=_mean([t.train_s for t in ok if finite(t.train_s)]),
        latency_ms=_median(t.latency_ms for t in ok),
        batch_latency_ms=_median(t.batch_latency_ms for t in ok),
        step_latency_ms=_median(t.step_latency_ms for t in ok),
        peak_mb=_median(t.peak_mb for t in ok),
        params=next((t.params for t in mine if t.params), None),
        status=_model_status(bool(values), statuses),
        n_diverged=statuses.count("diverged"),
        n_failed=statuses.count("failed"),
        metrics=metric_means,
        best_seed=best_trial.seed if best_trial else None,
        errors=sorted({t.error for t in mine if t.error}),
    )


def build_leaderboard(trials: list[Trial], models: list[str], metric: str) -> list[LeaderboardRow]:
    """One row per model, best first: mean/std of ``metric`` over its ok seeds, and the
    medians of its costs. Models without an ok trial sink to the bottom with their status;
    equal scores go to the smaller model.
    """
    rows = [_model_row(name, trials, metric) for name in models]
    sign = -1 if higher_is_better(metric) else 1
    rows.sort(key=lambda r: (r.value is None, sign * (r.value or 0.0), r.params or 0))
    return [
        replace(row, rank=rank if row.value is not None else None)
        for rank, row in enumerate(rows, 1)
    ]


# (row attribute, limit keyword, label, unit, flag) of each constraint on the winner.
_LIMITS = (
    ("latency_ms", "max_latency_ms", "latency", "ms", "--max-latency-ms"),
    ("peak_mb", "max_memory_mb", "peak memory", "MB", "--max-memory-mb"),
    ("params", "max_params", "parameters", "", "--max-params"),
)


def _broken_constraints(row: LeaderboardRow, constraints: dict[str, Any]) -> list[str]:
    """The constraints ``row`` breaks, as sentences ("latency 12 ms > --max-latency-ms 10")."""
    broken = []
    for key, limit_name, label, unit, flag in _LIMITS:
        limit = constraints[limit_name]
        if limit is None:
            continue
        value = getattr(row, key)
        if value is None:
            broken.append(f"{label} not measured ({flag} {limit:g})")
        elif value > limit:
            broken.append(f"{label} {_number(value)}{unit and ' ' + unit} > {flag} {limit:g}")
    return broken


def _eligible(
    leaderboard: list[LeaderboardRow], constraints: dict[str, Any]
) -> tuple[list[LeaderboardRow], dict[str, str]]:
    """The rows that may win (in leaderboard order), and why each other row may not."""
    excluded: dict[str, str] = {}
    eligible = []
    for row in leaderboard:
        if row.value is None:
            why = row.errors[0] if row.errors else row.status
            excluded[row.model] = f"no usable trial ({row.status}: {why})"
            continue
        broken = _broken_constraints(row, constraints)
        if broken:
            excluded[row.model] = "; ".join(broken)
        else:
            eligible.append(row)
    return eligible, excluded


def _ranking_sentences(eligible: list[LeaderboardRow], metric: str) -> list[str]:
    """Why the first eligible row wins: its score, its lead, and whether it is a tie."""
    best = eligible[0]
    direction = "highest" if higher_is_better(metric) else "lowest"
    reasons = [
        f"{direction} mean {metric}: {_number(best.value)} ± {_number(best.std, 2)} over "
        f"{best.n_seeds} seed(s), among {len(eligible)} candidate(s) meeting the constraints"
    ]
    if len(eligible) > 1:
        second = eligible[1]
        gap = abs(best.value - second.value)
        spread = max(best.std or 0.0, second.std or 0.0)
        reasons.append(f"ahead of {second.model} ({_number(second.value)}) by {_number(gap, 3)}")
        if gap <= spread:
            cheaper = min((best, second), key=lambda r: r.latency_ms or math.inf)
            reasons.append(
                f"the gap is within the seed-to-seed spread ({_number(spread, 2)}): "
                f"{best.model} and {second.model} are statistically tied on {metric}; "
                f"{cheaper.model} is the faster of the two"
            )
    return reasons


def _advisor_sentence(
    winner: str, leaderboard: list[LeaderboardRow], advisor_pick: str
) -> str:
    """How the measured winner compares with the advisor's first choice."""
    if advisor_pick == winner:
        return f"the advisor's first choice was {advisor_pick} too: evidence and advice agree"
    pick_row = next((r for r in leaderboard if r.model == advisor_pick), None)
    if pick_row is None or pick_row.value is None:
        return f"the advisor's first choice, {advisor_pick}, was not measured here"
    return (
        f"the advisor's first choice, {advisor_pick}, scored {_number(pick_row.value)} "
        f"(rank {pick_row.rank}): the measurement disagrees with the advice on this data"
    )


def choose_winner(
    leaderboard: list[LeaderboardRow],
    metric: str,
    *,
    max_latency_ms: float | None = None,
    max_memory_mb: float | None = None,
    max_params: int | None = None,
    advisor_pick: str | None = None,
    advisor_ranked: list[str] | None = None,
) -> Winner:
    """The best mean ``metric`` among models meeting the constraints, with the reasons."""
    constraints = {
        "max_latency_ms": max_latency_ms,
        "max_memory_mb": max_memory_mb,
        "max_params": max_params,
    }
    eligible, excluded = _eligible(leaderboard, constraints)
    common = {
        "metric": metric,
        "constraints": constraints,
        "excluded": excluded,
        "advisor_pick": advisor_pick,
    }
    if not eligible:
        head = "no candidate met the constraints" if excluded else "no candidate finished a trial"
        reasons = [head] + [f"{m}: {why}" for m, why in excluded.items()]
        return Winner(model=None, reasons=reasons, agrees_with_advisor=None, **common)
    best = eligible[0]
    reasons = _ranking_sentences(eligible, metric)
    reasons += [f"{m} excluded: {why}" for m, why in excluded.items()]
    rank_of_winner = None
    if advisor_pick:
        reasons.append(_advisor_sentence(best.model, leaderboard, advisor_pick))
        if advisor_ranked and best.model in advisor_ranked:
            rank_of_winner = advisor_ranked.index(best.model) + 1
    return Winner(
        model=best.model,
        value=best.value,
        std=best.std,
        latency_ms=best.latency_ms,
        step_latency_ms=best.step_latency_ms,
        peak_mb=best.peak_mb,
        params=best.params,
        train_s=best.train_s,
        seed=best.best_seed,
        reasons=reasons,
        agrees_with_advisor=(best.model == advisor_pick) if advisor_pick else None,
        advisor_rank_of_winner=rank_of_winner,
        **common,
    )
