"""Stage 4 of the bake-off: from finished trials to a leaderboard, a winner and the
verdict's sentences.

Everything that selects reads validation data only (DESIGN.md, evaluation protocol). The
leaderboard, ranked by validation, is :mod:`~seqselect.bakeoff.leaderboard`'s; here the
winner is the first row that meets the constraints, and the seed to export is its row's
best seed (by validation). The winner is then compared with the runner-up on the same
test examples, on the ranking metric (:func:`seqselect.stats.paired_bootstrap`, seeds and
examples resampled); the two are "tied" only when that interval includes 0. The reasons
(``Winner.reasons``) are phrased by :mod:`~seqselect.bakeoff.verdict_text`; the test
split never decides which sentence is written.

The leaderboard's names and :func:`protocol_sentence` are re-exported here, where the
stage's callers import them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from seqselect.bakeoff.leaderboard import (
    TEST_ROLES,
    build_leaderboard,
    finite,
    metric_for,
    same_validation,
    validation_score,
)
from seqselect.bakeoff.ranking import loss_sentence
from seqselect.bakeoff.records import LeaderboardRow, Trial, Winner
from seqselect.bakeoff.verdict_text import (
    advisor_sentence,
    baseline_sentence,
    floor_sentence,
    number_text,
    protocol_sentence,
    ranking_sentence,
    versus_sentences,
)
from seqselect.errors import SeqSelectError
from seqselect.stats import PAIRED_METRICS, PairedComparison, paired_bootstrap

__all__ = [
    "TEST_ROLES", "build_leaderboard", "choose_winner", "compare_on_test", "finite",
    "metric_for", "protocol_sentence", "same_validation", "validation_score",
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
            broken.append(f"{label} {number_text(value)}{unit and ' ' + unit} > {flag} {limit:g}")
    return broken


def _unusable(row: LeaderboardRow) -> str | None:
    """Why ``row`` cannot win whatever the constraints, or None."""
    if row.val_value is None and row.value is None:
        why = row.errors[0] if row.errors else row.status
        return f"no usable trial ({row.status}: {why})"
    if row.val_value is None:
        return "no validation score: nothing to select it on"
    if row.value is None:
        return "no tested trial (its refit or test run did not finish)"
    return None


def _eligible(
    leaderboard: list[LeaderboardRow], constraints: dict[str, Any]
) -> tuple[list[LeaderboardRow], dict[str, str]]:
    """The rows that may win (in leaderboard order), and why each other row may not."""
    excluded: dict[str, str] = {}
    eligible = []
    for row in leaderboard:
        unusable = _unusable(row)
        broken = [unusable] if unusable else _broken_constraints(row, constraints)
        if broken:
            excluded[row.model] = "; ".join(broken)
        else:
            eligible.append(row)
    return eligible, excluded


def _stacked(trials: Iterable[Trial], model: str, n: int) -> np.ndarray | None:
    """``model``'s test predictions stacked over its tested seeds, ``(S, N[, O])``, or
    None when no tested trial stored ``n`` of them."""
    runs = sorted(
        (t for t in trials if t.model == model and t.status == "ok" and t.role in TEST_ROLES
         and t.predictions is not None and len(t.predictions) == n),
        key=lambda t: t.seed,
    )
    return np.asarray([t.predictions for t in runs]) if runs else None


def compare_on_test(
    metric: str,
    trials: Iterable[Trial],
    a: str,
    b: str,
    test_targets: list[Any] | None,
    *,
    scale: list[float] | None = None,
) -> tuple[PairedComparison | None, str]:
    """``a`` against ``b`` on the same test examples, and the metric it used;
    ``(None, why)`` when it cannot be computed.

    The interval is :func:`~seqselect.stats.paired_bootstrap`'s: each resample draws
    each model's seeds, then the examples (the same for both). MASE is compared on MASE
    given ``scale`` (each test window's in-sample seasonal-naive MAE, the scale the
    trials' MASE used); without it, on MAE (the same errors, unscaled), and the verdict
    names the metric it used."""
    if test_targets is None or not len(test_targets):
        return None, "the test targets were not stored with the run"
    paired = "mae" if metric == "mase" and scale is None else metric
    if paired not in PAIRED_METRICS:
        return None, f"no paired statistic for {metric}"
    trials = list(trials)
    n = len(test_targets)
    pred_a, pred_b = _stacked(trials, a, n), _stacked(trials, b, n)
    if pred_a is None or pred_b is None:
        missing = a if pred_a is None else b
        return None, f"{missing} stored no test predictions"
    try:
        comparison = paired_bootstrap(
            paired, np.asarray(test_targets), pred_a, pred_b, seed=0, scale=scale
        )
    except SeqSelectError as error:  # shapes that do not match the targets
        return None, str(error)
    return comparison, paired


def _runner_up_comparison(
    best: LeaderboardRow, second: LeaderboardRow, trials: list[Trial], test_targets, scale
) -> tuple[list[str], dict[str, Any] | None]:
    """The winner against the runner-up on the same test examples."""
    cmp, paired = compare_on_test(
        best.metric, trials, best.model, second.model, test_targets, scale=scale
    )
    sentences = versus_sentences(best, second, cmp, paired)
    return sentences, (cmp.to_dict() if cmp is not None else None)


def choose_winner(
    leaderboard: list[LeaderboardRow],
    metric: str,
    *,
    max_latency_ms: float | None = None,
    max_memory_mb: float | None = None,
    max_params: int | None = None,
    advisor_pick: str | None = None,
    advisor_ranked: list[str] | None = None,
    trials: Iterable[Trial] = (),
    test_targets: list[Any] | None = None,
    test_scale: list[float] | None = None,
) -> Winner:
    """The best validation ``metric`` among models meeting the constraints, with the
    reasons; compared with the runner-up on the test examples (``test_targets``, in test
    order, against the trials' stored ``predictions``; ``test_scale`` the per-window
    scales MASE needs: without them a MASE ranking is compared on MAE, and says so).
    Which sentences are written, and the winner, follow validation only."""
    constraints = {
        "max_latency_ms": max_latency_ms, "max_memory_mb": max_memory_mb,
        "max_params": max_params,
    }
    eligible, excluded = _eligible(leaderboard, constraints)
    common = {
        "metric": metric, "constraints": constraints, "excluded": excluded,
        "advisor_pick": advisor_pick,
    }
    if not eligible:
        head = "no candidate met the constraints" if excluded else "no candidate finished a trial"
        reasons = [head] + [f"{m}: {why}" for m, why in excluded.items()]
        return Winner(model=None, reasons=reasons, agrees_with_advisor=None, **common)
    best = eligible[0]
    network = next((r for r in eligible if r.kind != "baseline"), None)
    reasons = [ranking_sentence(best, len(eligible), metric)]
    trials = list(trials)
    by_loss = loss_sentence(leaderboard, trials)
    if by_loss:
        reasons.append(by_loss)
    if best.kind == "baseline":
        reasons.append(baseline_sentence(best, network))
    floor = floor_sentence(eligible, network)
    if floor:
        reasons.append(floor)
    comparison, second = None, eligible[1] if len(eligible) > 1 else None
    if second is not None:
        sentences, comparison = _runner_up_comparison(
            best, second, list(trials), test_targets, test_scale
        )
        reasons += sentences
    reasons += [f"{m} excluded: {why}" for m, why in excluded.items()]
    rank_of_winner = None
    if advisor_pick:
        reasons.append(advisor_sentence(best.model, leaderboard, advisor_pick))
        if advisor_ranked and best.model in advisor_ranked:
            rank_of_winner = advisor_ranked.index(best.model) + 1
    return Winner(
        model=best.model, value=best.value, std=best.std, latency_ms=best.latency_ms,
        step_latency_ms=best.step_latency_ms, peak_mb=best.peak_mb, params=best.params,
        train_s=best.train_s, seed=best.best_seed, reasons=reasons,
        agrees_with_advisor=(best.model == advisor_pick) if advisor_pick else None,
        advisor_rank_of_winner=rank_of_winner, kind=best.kind, val_value=best.val_value,
        val_std=best.val_std, runner_up=second.model if second else None,
        comparison=comparison, best_network=network.model if network else None,
        **common,
    )
