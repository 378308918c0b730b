"""Stage 4 of the bake-off: from finished trials to a leaderboard, a winner and the
verdict's sentences.

The rule (DESIGN.md, evaluation protocol): everything that selects reads validation data
only. A row's *validation* score is the mean ± std over its "fold" trials (cross-validation
inside the training split) or over its hold-out trials' validation metrics; its *test*
score is the mean ± std over the trials that were tested ("refit" or "trial"), reported
and never used to rank. The leaderboard is ordered by validation (ties: the smaller model,
then the name; on small folds the networks among themselves by validation cross-entropy,
:mod:`~seqselect.bakeoff.ranking`), the winner is the first row that meets the
constraints, and the seed to export is the seed whose validation score is best. The
winner is then compared with the runner-up on the same test examples
(:func:`seqselect.stats.paired_bootstrap`); the two are "tied" only when that interval
includes 0.

The sentences (``Winner.reasons``) are written here once; the CLI and the HTML report
both show them as they are.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import numpy as np

from seqselect.bakeoff.ranking import LOSS, loss_sentence, order_networks_by_loss
from seqselect.bakeoff.records import LeaderboardRow, Protocol, Trial, Winner
from seqselect.errors import SeqSelectError
from seqselect.formatting import format_number
from seqselect.stats import PAIRED_METRICS, PairedComparison, paired_bootstrap
from seqselect.vocabulary import TASK_METRIC, higher_is_better

__all__ = [
    "TEST_ROLES", "build_leaderboard", "choose_winner", "compare_on_test", "finite",
    "metric_for", "protocol_sentence", "validation_score",
]

#: How a missing number reads inside a verdict sentence.
_MISSING = "n/a"
#: The roles of trials that were tested (once each): their ``metrics`` are test metrics.
TEST_ROLES = ("trial", "refit")
#: The metric a data task ranks by when its trials carry it (forecasting: MASE, scaled
#: by the seasonal-naive error, so series of different scales compare).
_PREFERRED = {"forecast": "mase"}


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


def _best_seed(tested: list[Trial], by_seed: dict[int, list[float]], metric: str) -> int | None:
    """The tested seed whose validation score is best (ties: the smaller seed); the test
    score plays no part."""
    candidates = sorted({t.seed for t in tested if t.seed in by_seed})
    if not candidates:
        return None
    sign = -1.0 if higher_is_better(metric) else 1.0
    return min(candidates, key=lambda s: (sign * statistics.fmean(by_seed[s]), s))


def _model_row(name: str, trials: list[Trial], metric: str, kind: str) -> LeaderboardRow:
    """``name``'s row (unranked) from its trials."""
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
        best_seed=_best_seed(tested, by_seed, metric),
        errors=sorted({t.error for t in mine if t.error}),
        kind=next((t.kind for t in mine), kind),
        val_value=_mean(val_values),
        val_std=_std(val_values),
        n_val=len(val_values),
        val_loss=_mean([v for vs in _selection_scores(ok, LOSS).values() for v in vs]),
    )


def build_leaderboard(
    trials: list[Trial], models: list[str], metric: str, *, baselines: Iterable[str] = ()
) -> list[LeaderboardRow]:
    """One row per model (``baselines`` name the rows that are not networks), ranked by
    the validation score: best first, equal scores to the smaller model, then by name.
    The test score is carried, never used to order. Rows without a validation score sink
    to the bottom unranked, with their status.
    """
    baselines = set(baselines)
    rows = [
        _model_row(name, trials, metric, "baseline" if name in baselines else "network")
        for name in models
    ]
    sign = -1 if higher_is_better(metric) else 1
    rows.sort(key=lambda r: (
        r.val_value is None, sign * (r.val_value or 0.0), r.params or 0, r.model,
    ))
    rows = order_networks_by_loss(rows, trials)  # small folds: networks by cross-entropy
    return [
        replace(row, rank=rank if row.val_value is not None else None)
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
    """``a`` against ``b`` on the same test examples (paired bootstrap over examples,
    each resample averaged over the seeds), and the metric it used; ``(None, why)`` when
    it cannot be computed. MASE without the per-window scales is compared on MAE (the
    same errors, unscaled)."""
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


def _seeds_text(cmp: PairedComparison) -> str:
    if cmp.n_seeds_a == cmp.n_seeds_b:
        return f"{cmp.n_seeds_a} seed(s)"
    return f"{cmp.n_seeds_a} and {cmp.n_seeds_b} seeds"


def _comparison_sentence(best: LeaderboardRow, second: LeaderboardRow, cmp: PairedComparison,
                         paired: str) -> str:
    """"ahead of cnn1d by 0.012 on test (95% paired bootstrap interval -0.004 to 0.027,
    150 examples x 3 seeds): statistically tied"."""
    where = "on test" if paired == best.metric else f"on test {paired}"
    relation = "ahead of" if cmp.difference >= 0 else "behind"
    interval = (
        f"{round(100 * cmp.confidence)}% paired bootstrap interval {_number(cmp.ci_low, 3)} "
        f"to {_number(cmp.ci_high, 3)}, {cmp.n} examples x {_seeds_text(cmp)}"
    )
    if cmp.tied:
        verdict = "statistically tied (the interval includes 0)"
    elif cmp.difference >= 0:
        verdict = f"the interval excludes 0: {best.model} is better on these test examples"
    else:
        verdict = (
            f"the interval excludes 0: {second.model} is better on these test examples, "
            "but the choice is made on validation, not on test"
        )
    return (
        f"ahead of {second.model} on validation ({_number(second.val_value)}); "
        f"{relation} it by {_number(abs(cmp.difference), 3)} {where} ({interval}): {verdict}"
    )


def _faster_sentence(best: LeaderboardRow, second: LeaderboardRow) -> str | None:
    """For information when two models are tied: which predicts faster."""
    if not (finite(best.latency_ms) and finite(second.latency_ms)):
        return None
    fast, slow = sorted((best, second), key=lambda r: r.latency_ms)
    return (
        f"for information: {fast.model} is the faster of the two "
        f"({_number(fast.latency_ms, 3)} vs {_number(slow.latency_ms, 3)} ms per sequence)"
    )


def _score(row: LeaderboardRow) -> str:
    """"0.97 (validation 0.96 ± 0.02)": a row's test score with its validation score."""
    return (
        f"{_number(row.value)} (validation {_number(row.val_value)} ± "
        f"{_number(row.val_std, 2)})"
    )


def _ranking_sentence(best: LeaderboardRow, n_eligible: int, metric: str) -> str:
    direction = "highest" if higher_is_better(metric) else "lowest"
    return (
        f"{direction} mean validation {metric}: {_number(best.val_value)} ± "
        f"{_number(best.val_std, 2)} over {best.n_val} validation score(s), among "
        f"{n_eligible} candidate(s) meeting the constraints; test {metric} "
        f"{_number(best.value)} ± {_number(best.std, 2)} over {best.n_seeds} seed(s), "
        "reported, not used to choose"
    )


def _baseline_sentence(best: LeaderboardRow, network: LeaderboardRow | None) -> str:
    """The plain sentence when a non-network wins (with the numbers)."""
    head = f"a non-deep model wins on this data: {best.model} {_score(best)}"
    if network is None:
        return f"{head}; no network met the constraints, so there is nothing to export"
    return (
        f"{head} vs the best network, {network.model} {_score(network)}; {network.model} "
        "is the model exported (baselines are not exported)"
    )


def _versus_sentences(
    best: LeaderboardRow, second: LeaderboardRow, trials: list[Trial], test_targets, scale
) -> tuple[list[str], dict[str, Any] | None]:
    """The winner against the runner-up on the same test examples."""
    cmp, paired = compare_on_test(
        best.metric, trials, best.model, second.model, test_targets, scale=scale
    )
    if cmp is None:
        return [
            f"ahead of {second.model} on validation ({_number(second.val_value)}); "
            f"no paired test interval: {paired}"
        ], None
    sentences = [_comparison_sentence(best, second, cmp, paired)]
    if cmp.tied and _faster_sentence(best, second):
        sentences.append(_faster_sentence(best, second))
    return sentences, cmp.to_dict()


def _advisor_sentence(
    winner: str, leaderboard: list[LeaderboardRow], advisor_pick: str
) -> str:
    """How the measured winner compares with the advisor's first choice."""
    if advisor_pick == winner:
        return f"the advisor's first choice was {advisor_pick} too: evidence and advice agree"
    pick_row = next((r for r in leaderboard if r.model == advisor_pick), None)
    if pick_row is None or pick_row.val_value is None:
        return f"the advisor's first choice, {advisor_pick}, was not measured here"
    return (
        f"the advisor's first choice, {advisor_pick}, scored {_number(pick_row.val_value)} "
        f"on validation (rank {pick_row.rank}): the measurement disagrees with the advice "
        "on this data"
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
    trials: Iterable[Trial] = (),
    test_targets: list[Any] | None = None,
    test_scale: list[float] | None = None,
) -> Winner:
    """The best validation ``metric`` among models meeting the constraints, with the
    reasons; compared with the runner-up on the test examples (``test_targets``, in test
    order, against the trials' stored ``predictions``; ``test_scale`` the per-window
    scales MASE needs)."""
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
    reasons = [_ranking_sentence(best, len(eligible), metric)]
    trials = list(trials)
    by_loss = loss_sentence(leaderboard, trials)
    if by_loss:
        reasons.append(by_loss)
    if best.kind == "baseline":
        reasons.append(_baseline_sentence(best, network))
    comparison, second = None, eligible[1] if len(eligible) > 1 else None
    if second is not None:
        sentences, comparison = _versus_sentences(
            best, second, list(trials), test_targets, test_scale
        )
        reasons += sentences
    reasons += [f"{m} excluded: {why}" for m, why in excluded.items()]
    rank_of_winner = None
    if advisor_pick:
        reasons.append(_advisor_sentence(best.model, leaderboard, advisor_pick))
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


def protocol_sentence(protocol: Protocol | None) -> str:
    """The run's selection rule in one line, for the CLI and the report."""
    if protocol is None:
        return "protocol not recorded with this run (a run from before validation-only selection)"
    if protocol.kind == "cv":
        return (
            f"{protocol.n_folds}-fold cross-validation inside the {protocol.n_pool} training "
            "sequences selects (winner, seed, training length), then each model is refit on "
            "all of them; test read once per trial, only to report"
        )
    return (
        f"hold-out validation: {protocol.n_pool} training sequences train, "
        f"{protocol.n_val} validation sequences select (early stopping, winner, seed); "
        "test read once per trial, only to report"
    )
