"""Metrics over a whole split: accuracy, macro-F1, cross-entropy, MSE, MAE, MASE, sMAPE.

Symbols: M scored entries (sequences, or scored steps), K classes (forecasting: target
channels), O outputs, N windows, W window steps, H horizon, C input channels.

Leaderboards rank by one "task metric" per task (``seqselect.vocabulary.task_metric``):
accuracy for classification (higher is better, including per-step classification), MSE for
regression, MASE for forecasting (lower is better). Regression metrics are in the units of
the targets as the dataset gives them: loaders standardise real targets with training
statistics, so an MSE of 1.0 equals predicting the training mean.

Forecasting (:func:`forecast_metrics`, the one definition the networks and the forecasting
baselines share):

* ``mase``: each window's MAE over its H x K targets divided by that window's in-sample
  seasonal naive MAE (lag m = the dataset's ``season_length``; lag 1 when m is unknown or
  not shorter than the window: the M4 competition's per-series scale), averaged over the
  windows whose scale is not 0. Both are differences in one unit, so the windows'
  standardisation and offset cancel. 1.0 = as good as the seasonal naive in-sample.
* ``smape``: ``200 |y - p| / (|y| + |p|)`` in %, on the series' own values (each window's
  offset added back and the standardisation undone); NaN when the offsets are not known.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from seqselect.data.types import IGNORE_INDEX
from seqselect.data.windows import ForecastLayout
from seqselect.stats import metric_value

log = logging.getLogger(__name__)

__all__ = [
    "classification_metrics",
    "forecast_metrics",
    "is_better",
    "macro_f1",
    "mase",
    "mase_scale",
    "per_step_targets",
    "regression_metrics",
    "smape",
    "usable_season",
]


def is_better(candidate: float, incumbent: float | None, higher_is_better: bool) -> bool:
    """Is ``candidate`` strictly better than ``incumbent`` (None = nothing yet)?"""
    if incumbent is None:
        return True
    return candidate > incumbent if higher_is_better else candidate < incumbent


def macro_f1(pred: Tensor, target: Tensor, n_classes: int | None = None) -> float:
    """Unweighted mean of per-class F1 over the classes present in ``target`` or ``pred``
    (scikit-learn's ``f1_score(average="macro")`` with its default labels).

    Args:
        pred, target: ``(M,)`` long class indices.
        n_classes: K; None (or 0) = one more than the largest index seen.
    """
    if not n_classes:
        n_classes = int(max(pred.max(), target.max())) + 1 if len(target) else 1
    confusion = torch.bincount(target * n_classes + pred, minlength=n_classes**2)
    confusion = confusion.reshape(n_classes, n_classes).double()  # (K true, K predicted)
    true_positives = confusion.diag()
    support = confusion.sum(dim=1)  # true count per class
    predicted = confusion.sum(dim=0)
    denominator = support + predicted
    present = denominator > 0
    f1 = torch.where(
        present, 2 * true_positives / denominator.clamp(min=1), torch.zeros_like(true_positives)
    )
    return float(f1[present].mean()) if bool(present.any()) else 0.0


def classification_metrics(logits: Tensor, target: Tensor) -> dict[str, float]:
    """Accuracy, macro-F1, mean cross-entropy and the count ``n``.

    Args:
        logits: ``(M, K)``.
        target: ``(M,)`` long, already without ignored entries.
    """
    if len(target) == 0:
        nan = float("nan")
        return {"accuracy": nan, "macro_f1": nan, "cross_entropy": nan, "n": 0}
    logits = logits.float()
    pred = logits.argmax(dim=-1)  # (M,)
    return {
        "accuracy": float((pred == target).double().mean()),
        "macro_f1": macro_f1(pred, target, logits.shape[-1]),
        "cross_entropy": float(F.cross_entropy(logits, target, reduction="mean")),
        "n": len(target),
    }


def regression_metrics(pred: Tensor, target: Tensor) -> dict[str, float]:
    """MSE and MAE averaged over every entry, and the count ``n`` of rows.

    Args:
        pred, target: one shape, ``(M, O)`` (or ``(M,)``).
    """
    if target.numel() == 0:
        return {"mse": float("nan"), "mae": float("nan"), "n": 0}
    error = pred.double() - target.double()
    return {
        "mse": float((error**2).mean()),
        "mae": float(error.abs().mean()),
        "n": int(target.shape[0]),
    }


def per_step_targets(y: Tensor, mask: Tensor) -> Tensor:
    """Per-step class targets ``(B, L)`` with padded steps set to ``IGNORE_INDEX``.

    Args:
        y: ``(B, L)`` long; ``mask``: ``(B, L)`` bool, True = real step.
    """
    return y.masked_fill(~mask, IGNORE_INDEX)


# ---- forecasting -----------------------------------------------------------------------------
def usable_season(season_length: int | None, window: int) -> int:
    """m when ``window`` steps hold a whole season, else 1 (the naive forecast)."""
    if season_length is None or season_length <= 1:
        return 1
    if season_length > window:
        log.warning("season %d is longer than the window %d: naive forecast", season_length, window)
        return 1
    return int(season_length)


def mase_scale(history: np.ndarray, season_length: int | None) -> np.ndarray:
    """Each window's in-sample seasonal naive MAE, ``(N,)``, from ``history (N, W, K)``.

    The lag is m when the window holds more than a season (W - 1 >= m), else 1.
    """
    history = np.asarray(history, dtype=np.float64)
    season = usable_season(season_length, history.shape[1] - 1)
    return np.abs(history[:, season:] - history[:, :-season]).mean(axis=(1, 2))


def mase(target: np.ndarray, pred: np.ndarray, history: np.ndarray, season_length) -> float:
    """MASE of ``pred`` for ``target`` (both ``(N, H * K)``) scaled by ``history (N, W, K)``."""
    n = len(target)
    scale = mase_scale(history, season_length)
    return metric_value("mase", np.asarray(target).reshape(n, -1),
                        np.asarray(pred).reshape(n, -1), scale=scale)


def smape(y_true: np.ndarray, pred: np.ndarray) -> float:
    """Symmetric MAPE in percent over every entry; a pair of zeros counts as no error."""
    y_true = np.asarray(y_true, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    denom = np.abs(y_true) + np.abs(pred)
    ratio = np.divide(2 * np.abs(y_true - pred), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100 * ratio.mean())


def forecast_metrics(
    pred: np.ndarray,
    target: np.ndarray,
    x: np.ndarray,
    layout: ForecastLayout,
    offsets: np.ndarray | None = None,
) -> dict[str, float]:
    """``mase`` and ``smape`` of forecasts (see the module's docstring).

    Args:
        pred, target: ``(N, H * K)`` in window units (standardised, offset).
        x: ``(N, W, C)`` the input windows (the target channels are the history).
        layout: horizon, target channels, season, offset mode and standardisation.
        offsets: ``(N, C)`` or ``(N, K)`` each window's subtracted values; None = unknown
            (sMAPE is NaN then, unless the windows were not offset).
    """
    n = len(target)
    if n == 0:
        return {"mase": float("nan"), "smape": float("nan")}
    history = np.asarray(x, dtype=np.float64)[:, :, list(layout.target_channels)]
    metrics = {"mase": mase(target, pred, history, layout.season_length)}
    if layout.offset != "none" and offsets is None:
        metrics["smape"] = float("nan")
    else:
        truth = layout.to_original(np.asarray(target).reshape(n, -1), offsets)
        guess = layout.to_original(np.asarray(pred).reshape(n, -1), offsets)
        metrics["smape"] = smape(truth, guess)
    return metrics
