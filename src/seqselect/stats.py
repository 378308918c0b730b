"""Paired comparisons of two models on the same test examples, and folds for small sets.

DESIGN.md's evaluation protocol calls two models "tied" only when a paired interval of
their difference on the same test examples includes zero. This module computes that
interval.

* :func:`paired_bootstrap` resamples test examples with replacement (the same resample
  for both models, which is what makes it paired) and recomputes the metric of each model
  on each resample. Predictions may come from several seeds per model, shaped ``(S, N)``
  (classes) or ``(S, N, O)`` (values): on every resample the metric is averaged over the
  seeds, so the interval combines example noise with the models' seed spread.
* :func:`paired_loss_bootstrap` does the same for a per-example loss that two models
  have on the same examples (validation cross-entropy: ties in selection).
* :func:`mcnemar` is the classical paired test for two classifiers' accuracy: exact
  binomial on the discordant pairs when they are few (< 25), the continuity-corrected
  chi-square otherwise.
* :func:`stratified_folds` gives cross-validation folds inside a small training split.

Symbols: S seeds, N test examples, O outputs per example, B bootstrap resamples,
K classes.

Metrics (names shared with the trainer): ``accuracy`` and ``macro_f1`` (higher is better;
predictions are class ids), ``mse``, ``mae`` and ``mase`` (lower is better; predictions
are values). ``mase`` needs ``scale``: each example's in-sample naive error, ``(N,)``::

    cmp = paired_bootstrap("accuracy", y_test, preds_a, preds_b, seed=0)  # (S, N) each
    cmp.difference, (cmp.ci_low, cmp.ci_high), cmp.tied, cmp.p_value
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from seqselect.errors import SeqSelectError
from seqselect.vocabulary import higher_is_better

log = logging.getLogger(__name__)

CLASS_METRICS: tuple[str, ...] = ("accuracy", "macro_f1")
VALUE_METRICS: tuple[str, ...] = ("mse", "mae", "mase")
PAIRED_METRICS: tuple[str, ...] = CLASS_METRICS + VALUE_METRICS

#: Below this many discordant pairs McNemar's test uses the exact binomial distribution
#: (the chi-square approximation is poor for small counts; Edwards 1948, Fagerland 2013).
EXACT_MCNEMAR_BELOW = 25

#: Resamples scored at once: bounds memory at S x chunk x N values.
_BOOT_CHUNK = 256


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


# ---- inputs ----------------------------------------------------------------------------------
def _as_seeds(pred, y_true: np.ndarray, metric: str, which: str) -> np.ndarray:
    """Predictions stacked over seeds: ``(S, N)`` class ids or ``(S, N, O)`` values.

    Class ids: ``(N,)`` or ``(S, N)``. Values: ``(N,)`` (one output), ``(N, O)`` (the
    shape of ``y_true``), ``(S, N)`` (one output, S seeds) or ``(S, N, O)``.
    """
    pred = np.asarray(pred)
    n = len(y_true)
    if metric in CLASS_METRICS:
        stacked = pred[None] if pred.ndim == 1 else pred
        ok = stacked.ndim == 2
        want = "(N,) or (S, N) class ids"
    else:
        outputs = y_true.shape[1]
        if pred.ndim == 1:
            stacked = pred[None, :, None]
        elif pred.ndim == 2 and pred.shape == y_true.shape:
            stacked = pred[None]
        elif pred.ndim == 2 and outputs == 1:
            stacked = pred[:, :, None]  # (S, N) -> (S, N, 1)
        else:
            stacked = pred
        ok = stacked.ndim == 3 and stacked.shape[2] == outputs
        want = f"(N, {outputs}) or (S, N, {outputs}) values"
    if not ok or stacked.shape[1] != n:
        raise SeqSelectError(
            f"{which} has shape {pred.shape}; for {metric} give {want} with N = {n} "
            "(the number of test examples)"
        )
    return stacked


def _values_2d(y_true: np.ndarray, metric: str) -> np.ndarray:
    y_true = np.asarray(y_true)
    if metric in CLASS_METRICS:
        if y_true.ndim != 1:
            raise SeqSelectError(f"y_true for {metric} must be (N,) class ids, got {y_true.shape}")
        return y_true.astype(np.int64)
    return (y_true[:, None] if y_true.ndim == 1 else y_true).astype(np.float64)


def _check_metric(metric: str) -> None:
    if metric not in PAIRED_METRICS:
        raise SeqSelectError(
            f"unknown metric {metric!r} for a paired comparison; choose one of "
            f"{', '.join(PAIRED_METRICS)}"
        )


# ---- metric on resamples ---------------------------------------------------------------------
def _per_example(metric: str, y_true: np.ndarray, pred: np.ndarray, scale) -> np.ndarray:
    """Per-seed, per-example loss or score ``(S, N)`` for the metrics that are means."""
    if metric == "accuracy":
        return (pred == y_true[None]).astype(np.float64)
    diff = pred.astype(np.float64) - y_true[None]  # (S, N, O)
    if metric == "mse":
        return (diff**2).mean(axis=2)
    per_mae = np.abs(diff).mean(axis=2)
    if metric == "mae":
        return per_mae
    return per_mae / scale[None]  # mase


def _macro_f1_resampled(
    y_true: np.ndarray, pred: np.ndarray, idx: np.ndarray, n_classes: int
) -> np.ndarray:
    """Macro-F1 for each seed and resample, ``(S, B)``; ``idx: (B, N)`` example indices.

    Classes absent from both truth and prediction of a resample are left out of the mean,
    as scikit-learn's ``f1_score(average="macro")`` does with its default labels.
    """
    n_seeds = pred.shape[0]
    n_boot = idx.shape[0]
    k = n_classes
    codes = y_true[idx][None] * k + pred[:, idx]  # (S, B, N)
    offsets = (np.arange(n_seeds * n_boot) * k * k).reshape(n_seeds, n_boot, 1)
    counts = np.bincount((codes + offsets).ravel(), minlength=n_seeds * n_boot * k * k)
    conf = counts.reshape(n_seeds, n_boot, k, k).astype(np.float64)  # (S, B, true, pred)
    tp = np.diagonal(conf, axis1=2, axis2=3)  # (S, B, K)
    denom = conf.sum(axis=3) + conf.sum(axis=2)
    present = denom > 0
    f1 = np.where(present, 2 * tp / np.maximum(denom, 1), 0.0)
    return f1.sum(axis=2) / np.maximum(present.sum(axis=2), 1)


def _resampled_scores(
    metric: str, y_true: np.ndarray, pred: np.ndarray, idx: np.ndarray, scale, n_classes: int
) -> np.ndarray:
    """The metric averaged over seeds on each resample, ``(B,)``."""
    if metric == "macro_f1":
        return _macro_f1_resampled(y_true, pred, idx, n_classes).mean(axis=0)
    per = _per_example(metric, y_true, pred, scale)  # (S, N)
    if metric != "mase":
        return per[:, idx].mean(axis=2).mean(axis=0)
    # mase: examples whose scale is 0 (a flat input window) are NaN and left out; with
    # none left the metric is undefined (NaN), which is not worth a warning.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(per[:, idx], axis=2).mean(axis=0)


def metric_value(metric: str, y_true, pred, *, scale=None, n_classes: int | None = None) -> float:
    """The metric on all examples, averaged over seeds (pred ``(N[, O])`` or ``(S, N[, O])``)."""
    _check_metric(metric)
    y_true = _values_2d(y_true, metric)
    n = len(y_true)
    pred = _as_seeds(pred, y_true, metric, "pred")
    scale = _mase_scale(metric, scale, n)
    k = _n_classes(metric, y_true, pred, None, n_classes)
    whole = np.arange(n)[None]  # one "resample": every example once
    return float(_resampled_scores(metric, y_true, pred, whole, scale, k)[0])


def _mase_scale(metric: str, scale, n: int) -> np.ndarray | None:
    if metric != "mase":
        return None
    if scale is None:
        raise SeqSelectError("mase needs scale: each example's in-sample naive error, (N,)")
    scale = np.asarray(scale, dtype=np.float64).reshape(-1)
    if len(scale) != n:
        raise SeqSelectError(f"scale has {len(scale)} entries for {n} examples")
    # A flat input window has no naive error: such an example cannot be scaled.
    return np.where(scale > 0, scale, np.nan)


def _n_classes(metric, y_true, pred_a, pred_b, n_classes) -> int:
    if metric not in CLASS_METRICS:
        return 0
    arrays = [a for a in (y_true, pred_a, pred_b) if a is not None]
    if min(int(a.min()) for a in arrays) < 0:
        raise SeqSelectError("class ids must be >= 0")
    return int(n_classes or max(int(a.max()) for a in arrays) + 1)


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
    """Paired bootstrap interval of ``a`` minus ``b`` on the same test examples.

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
    _check_metric(metric)
    if n_boot < 1 or not 0 < confidence < 1:
        raise SeqSelectError(f"need n_boot >= 1 and 0 < confidence < 1, got {n_boot}, {confidence}")
    y_true = _values_2d(y_true, metric)
    n = len(y_true)
    if n == 0:
        raise SeqSelectError("a paired comparison needs at least one test example")
    pred_a = _as_seeds(pred_a, y_true, metric, "pred_a")
    pred_b = _as_seeds(pred_b, y_true, metric, "pred_b")
    scale = _mase_scale(metric, scale, n)
    k = _n_classes(metric, y_true, pred_a, pred_b, n_classes)
    sign = 1.0 if higher_is_better(metric) else -1.0
    whole = np.arange(n)[None]
    value_a = float(_resampled_scores(metric, y_true, pred_a, whole, scale, k)[0])
    value_b = float(_resampled_scores(metric, y_true, pred_b, whole, scale, k)[0])
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    for start in range(0, n_boot, _BOOT_CHUNK):
        stop = min(start + _BOOT_CHUNK, n_boot)
        idx = rng.integers(0, n, size=(stop - start, n))  # (B_chunk, N)
        score_a = _resampled_scores(metric, y_true, pred_a, idx, scale, k)
        score_b = _resampled_scores(metric, y_true, pred_b, idx, scale, k)
        diffs[start:stop] = sign * (score_a - score_b)
    alpha = 1.0 - confidence
    ci_low, ci_high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    method = f"paired bootstrap ({n_boot} resamples, percentile)"
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
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
    metric: str = "cross_entropy",
) -> PairedComparison:
    """Paired bootstrap interval of the mean per-example loss of ``b`` minus that of ``a``.

    ``loss_a`` and ``loss_b`` are ``(N,)`` losses of two models on the same N examples in
    the same order (e.g. validation cross-entropy). As in :func:`paired_bootstrap`, one
    resample of example indices serves both models, and a positive difference means a is
    better (lower loss); ``tied`` is True when the percentile interval includes 0.
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
    n = len(gain)
    rng = np.random.default_rng(seed)
    diffs = np.concatenate([
        gain[rng.integers(0, n, size=(min(_BOOT_CHUNK, n_boot - start), n))].mean(axis=1)
        for start in range(0, n_boot, _BOOT_CHUNK)
    ])  # (n_boot,)
    alpha = 1.0 - confidence
    ci_low, ci_high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    tail = min(int((diffs <= 0).sum()), int((diffs >= 0).sum()))
    return PairedComparison(
        metric=metric,
        difference=float(gain.mean()),
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        p_value=min(1.0, 2 * (tail + 1) / (n_boot + 1)),
        method=f"paired bootstrap of per-example losses ({n_boot} resamples, percentile)",
        n=n,
        tied=bool(ci_low <= 0.0 <= ci_high),
        value_a=float(loss_a.mean()),
        value_b=float(loss_b.mean()),
        confidence=confidence,
        n_boot=n_boot,
        n_seeds_a=1,
        n_seeds_b=1,
    )


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
