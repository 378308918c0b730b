"""Paired comparisons of two models on the same test examples, and folds for small sets.

DESIGN.md's evaluation protocol calls two models "tied" only when a paired interval of
their difference on the same test examples includes zero. This module computes that
interval.

* :func:`paired_bootstrap` is a two-level (hierarchical) paired bootstrap. Predictions
  may come from several seeds per model, shaped ``(S, N)`` (classes) or ``(S, N, O)``
  (values). Each resample first draws S seeds with replacement, for each model on its own
  (two models' seeds are independent training runs), then N test examples with
  replacement, the same examples for both models (which is what makes it paired); the
  statistic is the difference of the two models' metrics averaged over their drawn seeds.
  Drawing seeds is what puts the seed-to-seed spread into the interval: resampling
  examples alone, with every seed kept, measures how noisy the test set is but treats
  the seeds that happened to run as the only ones possible. With one seed per model it
  is the ordinary paired bootstrap over examples.
* :func:`paired_loss_bootstrap` does the same for a per-example loss that two models
  have on the same examples (validation cross-entropy: ties in selection). There each
  seed was scored on its own fold, so the seeds are blocks of examples that both models
  share: a resample draws blocks with replacement, then examples within each drawn block,
  the same for both models.
* :func:`mcnemar` is the classical paired test for two classifiers' accuracy: exact
  binomial on the discordant pairs when they are few (< 25), the continuity-corrected
  chi-square otherwise.
* :func:`stratified_folds` gives cross-validation folds inside a small training split.

Symbols: S seeds, N test examples, O outputs per example, B bootstrap resamples,
K classes, G blocks (folds).

Metrics: ``accuracy`` and ``macro_f1`` (class ids), ``mse``, ``mae`` and ``mase``
(values; ``mase`` needs ``scale``, each example's in-sample naive error, ``(N,)``). They
are scored on the resamples by :mod:`seqselect.resampled_metrics`, which also holds the
metric names and :func:`metric_value`; both are re-exported here::

    cmp = paired_bootstrap("accuracy", y_test, preds_a, preds_b, seed=0)  # (S, N) each
    cmp.difference, (cmp.ci_low, cmp.ci_high), cmp.tied, cmp.p_value
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from seqselect.errors import SeqSelectError
from seqselect.resampled_metrics import (
    CLASS_METRICS,
    PAIRED_METRICS,
    VALUE_METRICS,
    as_seeds,
    check_metric,
    count_classes,
    mase_scale,
    metric_value,
    resampled_scores,
    seed_scores,
    values_2d,
)
from seqselect.vocabulary import higher_is_better

__all__ = [
    "CLASS_METRICS", "EXACT_MCNEMAR_BELOW", "PAIRED_METRICS", "VALUE_METRICS", "McNemarTest",
    "PairedComparison", "mcnemar", "metric_value", "paired_bootstrap", "paired_loss_bootstrap",
    "stratified_folds",
]

log = logging.getLogger(__name__)

#: Below this many discordant pairs McNemar's test uses the exact binomial distribution
#: (the chi-square approximation is poor for small counts; Edwards 1948, Fagerland 2013).
EXACT_MCNEMAR_BELOW = 25

#: Resamples scored at once: bounds memory at S x chunk x N values.
_BOOT_CHUNK = 256
#: Seeds (blocks) are drawn from their own random stream, mixed with the caller's seed,
#: so the example draws are the same whatever the number of seeds: one seed gives exactly
#: the ordinary paired bootstrap's interval, and several identical seeds the same one.
_SEED_STREAM = 1


@dataclass(frozen=True)
class PairedComparison:
    """Model a against model b on the same test examples.

    ``difference`` is oriented by the metric's direction: ``metric(a) - metric(b)`` for
    higher-is-better metrics, ``metric(b) - metric(a)`` for errors, so a positive value
    always means a is better. ``ci_low``/``ci_high`` bound it (percentile bootstrap);
    ``tied`` is True when the interval includes 0. ``p_value`` is two-sided.
    """

    metric: str
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    method: str
    n: int
    tied: bool
    value_a: float
    value_b: float
    confidence: float
    n_boot: int
    n_seeds_a: int
    n_seeds_b: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PairedComparison:
        return cls(**data)


@dataclass(frozen=True)
class McNemarTest:
    """McNemar's test: ``a_only`` = examples a gets right and b wrong, ``b_only`` the
    reverse; ``statistic`` is ``a_only`` for the exact test, the chi-square otherwise."""

    a_only: int
    b_only: int
    statistic: float
    p_value: float
    method: str  # "exact binomial" | "chi-square (continuity corrected)"
    n: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> McNemarTest:
        return cls(**data)


# ---- resampling ------------------------------------------------------------------------------
def _seed_weights(rng: np.random.Generator, n_seeds: int, n_resamples: int) -> np.ndarray:
    """``(B, S)``: the share of each seed in each resample's draw of S seeds with
    replacement (how often it was drawn, over S). One seed needs no draw."""
    if n_seeds == 1:
        return np.ones((n_resamples, 1))
    draws = rng.integers(0, n_seeds, size=(n_resamples, n_seeds))
    rows = np.arange(n_resamples)[:, None] * n_seeds
    counts = np.bincount((draws + rows).ravel(), minlength=n_resamples * n_seeds)
    return counts.reshape(n_resamples, n_seeds) / n_seeds


def _seed_stream(seed: int) -> np.random.Generator:
    return np.random.default_rng([_SEED_STREAM, seed])


def _two_level_diffs(
    metric: str, y_true, pred_a, pred_b, scale, n_classes: int, n_boot: int, seed: int
) -> np.ndarray:
    """``metric(a) - metric(b)`` on each two-level resample, ``(n_boot,)``: seeds drawn
    for each model on its own, examples drawn once for both (see the module docstring)."""
    n = len(y_true)
    rng, seed_rng = np.random.default_rng(seed), _seed_stream(seed)
    diffs = np.empty(n_boot)
    for start in range(0, n_boot, _BOOT_CHUNK):
        stop = min(start + _BOOT_CHUNK, n_boot)
        idx = rng.integers(0, n, size=(stop - start, n))  # (B_chunk, N), shared
        weights_a = _seed_weights(seed_rng, pred_a.shape[0], stop - start)  # (B_chunk, S_a)
        weights_b = _seed_weights(seed_rng, pred_b.shape[0], stop - start)
        score_a = (seed_scores(metric, y_true, pred_a, idx, scale, n_classes).T * weights_a)
        score_b = (seed_scores(metric, y_true, pred_b, idx, scale, n_classes).T * weights_b)
        diffs[start:stop] = score_a.sum(axis=1) - score_b.sum(axis=1)
    return diffs


# ---- public tests ----------------------------------------------------------------------------
def paired_bootstrap(
    metric: str,
    y_true,
    pred_a,
    pred_b,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
    scale=None,
    n_classes: int | None = None,
) -> PairedComparison:
    """Two-level paired bootstrap interval of ``a`` minus ``b`` on the same test examples.

    Each resample draws each model's seeds with replacement (independently: they are
    separate runs), then the examples with replacement (once, for both models), and
    takes the difference of the two models' metrics averaged over their drawn seeds; so
    the interval counts the seed-to-seed spread as well as the test set's noise. With one
    seed per model it is exactly the ordinary paired bootstrap over examples (and seeds
    whose predictions agree add no width).

    Args:
        metric: one of :data:`PAIRED_METRICS`.
        y_true: ``(N,)`` class ids, or ``(N,)``/``(N, O)`` values.
        pred_a, pred_b: like ``y_true``, or stacked over seeds ``(S, N[, O])``; a and b may
            have different numbers of seeds.
        n_boot: resamples; seed: seeds them (the same seed gives the same interval).
        confidence: of the percentile interval.
        scale: ``(N,)`` per-example scale, required for ``mase``.
        n_classes: K for ``macro_f1`` (default: the largest id seen + 1).

    Returns:
        :class:`PairedComparison`. ``p_value`` is McNemar's for accuracy with one seed per
        model, else the bootstrap's two-sided ``2 * min(P(d <= 0), P(d >= 0))``, with the
        usual +1 so it is never 0.
    """
    check_metric(metric)
    if n_boot < 1 or not 0 < confidence < 1:
        raise SeqSelectError(f"need n_boot >= 1 and 0 < confidence < 1, got {n_boot}, {confidence}")
    y_true = values_2d(y_true, metric)
    n = len(y_true)
    if n == 0:
        raise SeqSelectError("a paired comparison needs at least one test example")
    pred_a = as_seeds(pred_a, y_true, metric, "pred_a")
    pred_b = as_seeds(pred_b, y_true, metric, "pred_b")
    scale = mase_scale(metric, scale, n)
    k = count_classes(metric, y_true, pred_a, pred_b, n_classes)
    sign = 1.0 if higher_is_better(metric) else -1.0
    whole = np.arange(n)[None]
    value_a = float(resampled_scores(metric, y_true, pred_a, whole, scale, k)[0])
    value_b = float(resampled_scores(metric, y_true, pred_b, whole, scale, k)[0])
    diffs = _two_level_diffs(metric, y_true, pred_a, pred_b, scale, k, n_boot, seed) * sign
    alpha = 1.0 - confidence
    ci_low, ci_high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    method = (
        f"two-level paired bootstrap ({n_boot} resamples of seeds, then examples; percentile)"
    )
    if metric == "accuracy" and pred_a.shape[0] == 1 and pred_b.shape[0] == 1:
        p_value = mcnemar(y_true, pred_a[0], pred_b[0]).p_value
        method += " + McNemar p"
    else:
        tail = min(int((diffs <= 0).sum()), int((diffs >= 0).sum()))
        p_value = min(1.0, 2 * (tail + 1) / (n_boot + 1))
    return PairedComparison(
        metric=metric,
        difference=sign * (value_a - value_b),
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        p_value=float(p_value),
        method=method,
        n=n,
        tied=bool(ci_low <= 0.0 <= ci_high),
        value_a=value_a,
        value_b=value_b,
        confidence=confidence,
        n_boot=n_boot,
        n_seeds_a=int(pred_a.shape[0]),
        n_seeds_b=int(pred_b.shape[0]),
    )


def paired_loss_bootstrap(
    loss_a,
    loss_b,
    *,
    groups=None,
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
    metric: str = "cross_entropy",
) -> PairedComparison:
    """Two-level paired bootstrap interval of the mean per-example loss of ``b`` minus
    that of ``a``.

    ``loss_a`` and ``loss_b`` are ``(N,)`` losses of two models on the same N examples in
    the same order (e.g. validation cross-entropy). ``groups`` ``(N,)`` labels the block
    each example belongs to: in cross-validation, the (seed, fold) whose trial scored it,
    which both models share. Each resample draws G blocks with replacement, then, within
    each drawn block, as many of its examples with replacement, the same for both models;
    the statistic is the mean loss difference over all the drawn examples. So the
    interval counts the spread between seeds' folds, not only between examples; without
    ``groups`` (one block) it is the ordinary paired bootstrap. A positive difference
    means a is better (lower loss); ``tied`` is True when the percentile interval
    includes 0; ``n_seeds_a``/``n_seeds_b`` are G.
    """
    loss_a = np.asarray(loss_a, dtype=np.float64).reshape(-1)
    loss_b = np.asarray(loss_b, dtype=np.float64).reshape(-1)
    if loss_a.shape != loss_b.shape or not len(loss_a):
        raise SeqSelectError(
            f"paired losses need the same examples: got {len(loss_a)} and {len(loss_b)}"
        )
    if n_boot < 1 or not 0 < confidence < 1:
        raise SeqSelectError(f"need n_boot >= 1 and 0 < confidence < 1, got {n_boot}, {confidence}")
    gain = loss_b - loss_a  # (N,): how much lower a's loss is on each example
    blocks = _blocks(groups, len(gain))
    diffs = _block_diffs(gain, blocks, n_boot, seed)
    alpha = 1.0 - confidence
    ci_low, ci_high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    tail = min(int((diffs <= 0).sum()), int((diffs >= 0).sum()))
    return PairedComparison(
        metric=metric,
        difference=float(gain.mean()),
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        p_value=min(1.0, 2 * (tail + 1) / (n_boot + 1)),
        method=(
            f"two-level paired bootstrap of per-example losses ({len(blocks)} block(s), then "
            f"examples within them; {n_boot} resamples, percentile)"
        ),
        n=len(gain),
        tied=bool(ci_low <= 0.0 <= ci_high),
        value_a=float(loss_a.mean()),
        value_b=float(loss_b.mean()),
        confidence=confidence,
        n_boot=n_boot,
        n_seeds_a=len(blocks),
        n_seeds_b=len(blocks),
    )


def _blocks(groups, n: int) -> list[np.ndarray]:
    """The example indices of each block, in order of the blocks' labels."""
    if groups is None:
        return [np.arange(n)]
    groups = np.asarray(groups).reshape(-1)
    if len(groups) != n:
        raise SeqSelectError(f"groups has {len(groups)} labels for {n} examples")
    _, inverse = np.unique(groups, return_inverse=True)
    return [np.flatnonzero(inverse == g) for g in range(int(inverse.max()) + 1)]


def _block_diffs(gain: np.ndarray, blocks: list[np.ndarray], n_boot: int, seed: int) -> np.ndarray:
    """The mean of ``gain`` over each two-level resample (blocks, then examples within
    the drawn blocks), ``(n_boot,)``."""
    rng, block_rng = np.random.default_rng(seed), _seed_stream(seed)
    diffs = np.empty(n_boot)
    for start in range(0, n_boot, _BOOT_CHUNK):
        size = min(_BOOT_CHUNK, n_boot - start)
        total, count = np.zeros(size), np.zeros(size)
        drawn = block_rng.integers(0, len(blocks), size=(size, len(blocks)))  # (B_chunk, G)
        for slot in range(len(blocks)):
            for g, members in enumerate(blocks):
                rows = np.flatnonzero(drawn[:, slot] == g)
                if not len(rows):
                    continue
                picks = members[rng.integers(0, len(members), size=(len(rows), len(members)))]
                total[rows] += gain[picks].sum(axis=1)
                count[rows] += len(members)
        diffs[start:start + size] = total / count
    return diffs


def mcnemar(y_true, pred_a, pred_b) -> McNemarTest:
    """McNemar's test of two classifiers on the same examples (``(N,)`` class ids each).

    Exact two-sided binomial test of ``a_only`` out of ``a_only + b_only`` at p = 1/2 when
    there are fewer than :data:`EXACT_MCNEMAR_BELOW` discordant pairs; otherwise the
    continuity-corrected chi-square ``(|a_only - b_only| - 1)^2 / (a_only + b_only)``.
    """
    from scipy import stats as scipy_stats

    y_true, pred_a, pred_b = (np.asarray(v).reshape(-1) for v in (y_true, pred_a, pred_b))
    if not len(y_true) == len(pred_a) == len(pred_b):
        raise SeqSelectError(
            f"mcnemar needs equal lengths, got {len(y_true)}, {len(pred_a)}, {len(pred_b)}"
        )
    right_a = pred_a == y_true
    right_b = pred_b == y_true
    a_only = int((right_a & ~right_b).sum())
    b_only = int((~right_a & right_b).sum())
    discordant = a_only + b_only
    if discordant == 0:
        return McNemarTest(0, 0, 0.0, 1.0, "exact binomial", len(y_true))
    if discordant < EXACT_MCNEMAR_BELOW:
        p_value = scipy_stats.binomtest(a_only, discordant, 0.5).pvalue
        return McNemarTest(
            a_only, b_only, float(a_only), float(p_value), "exact binomial", len(y_true)
        )
    statistic = (abs(a_only - b_only) - 1) ** 2 / discordant
    p_value = scipy_stats.chi2.sf(statistic, df=1)
    return McNemarTest(
        a_only, b_only, float(statistic), float(p_value), "chi-square (continuity corrected)",
        len(y_true),
    )


# ---- folds -----------------------------------------------------------------------------------
def stratified_folds(y, k: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` shuffled cross-validation folds ``[(train_idx, val_idx), ...]`` over ``len(y)``.

    Class labels (integer, bool or string ``y`` of shape ``(N,)``) get scikit-learn's
    ``StratifiedKFold``; when the rarest class has fewer than ``k`` members (but at least
    2) the number of folds drops to that count, so every validation fold holds every
    class. A single class, or a class with one member, cannot be stratified: those get
    ``KFold``, as do real-valued targets (float ``y``, or any ``(N, O)``). ``k`` also drops
    to ``N`` when N < k.

    Raises:
        SeqSelectError: fewer than 2 examples, or k < 2.
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    y = np.asarray(y)
    n = len(y)
    if k < 2 or n < 2:
        raise SeqSelectError(
            f"cross-validation needs k >= 2 and at least 2 examples, got k={k}, n={n}"
        )
    folds = min(k, n)
    labels = y.ndim == 1 and y.dtype.kind in "biuOUS"
    if labels:
        _, counts = np.unique(y, return_counts=True)
        rarest = int(counts.min())
        if rarest < 2 or len(counts) < 2:
            log.info("a class with one member cannot be stratified: plain KFold(%d)", folds)
            labels = False
        elif rarest < folds:
            log.info("rarest class has %d members: %d folds instead of %d", rarest, rarest, k)
            folds = rarest
    kind = StratifiedKFold if labels else KFold
    splitter = kind(n_splits=folds, shuffle=True, random_state=seed)
    index = np.zeros(n)  # the splitters only need the number of rows
    return [(train, val) for train, val in splitter.split(index, y if labels else None)]
