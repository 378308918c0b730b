"""The metrics a paired comparison can use, scored per seed on many resamples at once.

:mod:`seqselect.stats` resamples test examples thousands of times; this module turns one
batch of resamples into scores without a Python loop per resample: predictions stacked
over seeds, example indices ``(B, N)``, scores ``(S, B)``. :func:`metric_value` is the
same computation on one "resample" that holds every example once; the baselines' metrics
and the trainer's MASE come from it, so what they report is what the bootstrap resamples.

Metrics (names shared with the trainer): ``accuracy`` and ``macro_f1`` (higher is better;
predictions are class ids), ``mse``, ``mae`` and ``mase`` (lower is better; predictions
are values). ``mase`` needs ``scale``: each example's in-sample naive error, ``(N,)``.
Per-step classification (targets ``(N, L)``, predictions ``(S, N, L)`` class ids) is
compared on ``accuracy`` only, each sequence scoring the fraction of its scored steps
(targets not ``IGNORE_INDEX``) predicted right.

Symbols: S seeds, N test examples, O outputs per example, B resamples, K classes.
"""

from __future__ import annotations

import warnings

import numpy as np

from seqselect.errors import SeqSelectError

__all__ = [
    "CLASS_METRICS", "PAIRED_METRICS", "VALUE_METRICS", "as_seeds", "check_metric",
    "count_classes", "mase_scale", "metric_value", "resampled_scores", "seed_scores",
    "values_2d",
]

CLASS_METRICS: tuple[str, ...] = ("accuracy", "macro_f1")
IGNORE_INDEX = -100  # seqselect.data.types.IGNORE_INDEX: a step with no target
VALUE_METRICS: tuple[str, ...] = ("mse", "mae", "mase")
PAIRED_METRICS: tuple[str, ...] = CLASS_METRICS + VALUE_METRICS


# ---- inputs ----------------------------------------------------------------------------------
def as_seeds(pred, y_true: np.ndarray, metric: str, which: str) -> np.ndarray:
    """Predictions stacked over seeds: ``(S, N)`` class ids or ``(S, N, O)`` values.

    Class ids: ``(N,)`` or ``(S, N)``. Values: ``(N,)`` (one output), ``(N, O)`` (the
    shape of ``y_true``), ``(S, N)`` (one output, S seeds) or ``(S, N, O)``.
    """
    pred = np.asarray(pred)
    n = len(y_true)
    if metric in CLASS_METRICS and y_true.ndim == 2:  # per-step targets (N, L)
        stacked = pred[None] if pred.ndim == 2 else pred
        ok = metric == "accuracy" and stacked.ndim == 3 and stacked.shape[2:] == y_true.shape[1:]
        want = f"(S, N, {y_true.shape[1]}) class ids per step (accuracy only)"
    elif metric in CLASS_METRICS:
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


def values_2d(y_true: np.ndarray, metric: str) -> np.ndarray:
    y_true = np.asarray(y_true)
    if metric in CLASS_METRICS:
        per_step = y_true.ndim == 2 and metric == "accuracy"
        if y_true.ndim != 1 and not per_step:
            raise SeqSelectError(
                f"y_true for {metric} must be (N,) class ids (accuracy only: (N, L) per "
                f"step), got {y_true.shape}"
            )
        return y_true.astype(np.int64)
    return (y_true[:, None] if y_true.ndim == 1 else y_true).astype(np.float64)


def check_metric(metric: str) -> None:
    if metric not in PAIRED_METRICS:
        raise SeqSelectError(
            f"unknown metric {metric!r} for a paired comparison; choose one of "
            f"{', '.join(PAIRED_METRICS)}"
        )


# ---- metric on resamples ---------------------------------------------------------------------
def _per_example(metric: str, y_true: np.ndarray, pred: np.ndarray, scale) -> np.ndarray:
    """Per-seed, per-example loss or score ``(S, N)`` for the metrics that are means."""
    if metric == "accuracy" and y_true.ndim == 2:  # per step: the sequence's scored steps
        scored = y_true[None] != IGNORE_INDEX
        right = ((pred == y_true[None]) & scored).sum(axis=2)
        return right / np.maximum(scored.sum(axis=2), 1)
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


def seed_scores(
    metric: str, y_true: np.ndarray, pred: np.ndarray, idx: np.ndarray, scale, n_classes: int
) -> np.ndarray:
    """The metric of each seed on each resample of examples, ``(S, B)``."""
    if metric == "macro_f1":
        return _macro_f1_resampled(y_true, pred, idx, n_classes)
    per = _per_example(metric, y_true, pred, scale)  # (S, N)
    if metric != "mase":
        return per[:, idx].mean(axis=2)
    # mase: examples whose scale is 0 (a flat input window) are NaN and left out; with
    # none left the metric is undefined (NaN), which is not worth a warning.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(per[:, idx], axis=2)


def resampled_scores(
    metric: str, y_true: np.ndarray, pred: np.ndarray, idx: np.ndarray, scale, n_classes: int
) -> np.ndarray:
    """The metric averaged over every seed on each resample, ``(B,)``."""
    return seed_scores(metric, y_true, pred, idx, scale, n_classes).mean(axis=0)


def metric_value(metric: str, y_true, pred, *, scale=None, n_classes: int | None = None) -> float:
    """The metric on all examples, averaged over seeds (pred ``(N[, O])`` or ``(S, N[, O])``)."""
    check_metric(metric)
    y_true = values_2d(y_true, metric)
    n = len(y_true)
    pred = as_seeds(pred, y_true, metric, "pred")
    scale = mase_scale(metric, scale, n)
    k = count_classes(metric, y_true, pred, None, n_classes)
    whole = np.arange(n)[None]  # one "resample": every example once
    return float(resampled_scores(metric, y_true, pred, whole, scale, k)[0])


def mase_scale(metric: str, scale, n: int) -> np.ndarray | None:
    if metric != "mase":
        return None
    if scale is None:
        raise SeqSelectError("mase needs scale: each example's in-sample naive error, (N,)")
    scale = np.asarray(scale, dtype=np.float64).reshape(-1)
    if len(scale) != n:
        raise SeqSelectError(f"scale has {len(scale)} entries for {n} examples")
    # A flat input window has no naive error: such an example cannot be scaled.
    return np.where(scale > 0, scale, np.nan)


def count_classes(metric, y_true, pred_a, pred_b, n_classes) -> int:
    if metric not in CLASS_METRICS:
        return 0
    if y_true is not None and y_true.ndim == 2:  # per step: unscored steps are IGNORE_INDEX
        y_true = y_true[y_true != IGNORE_INDEX]
    arrays = [a for a in (y_true, pred_a, pred_b) if a is not None and a.size]
    if arrays and min(int(a.min()) for a in arrays) < 0:
        raise SeqSelectError("class ids must be >= 0")
    return int(n_classes or max(int(a.max()) for a in arrays) + 1)
