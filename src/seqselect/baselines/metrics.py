"""A baseline's metrics on one split, under the trainer's metric names.

* classify: ``accuracy``, ``macro_f1``;
* regress: ``mse``, ``mae`` (in the units the dataset gives its targets, as the trainer's);
* forecast: also ``mase`` and ``smape``.

``mase`` divides each window's MAE by that window's in-sample seasonal naive MAE (lag m,
the dataset's ``metadata["season_length"]``; lag 1 when it has none or m is not shorter
than the window; the M4 competition's per-series scale), then averages over windows.
Both are differences, so the windows' standardisation and offset cancel.

``smape`` (``200 |y - p| / (|y| + |p|)``, in %) needs the series' levels: it is
computed after undoing the standardisation when the windows keep their levels
(``metadata["offset"] == "none"``) and is NaN when each window was shifted by its last
value (``offset="last"``, the default), which loses the level.
"""

from __future__ import annotations

import numpy as np

from seqselect.baselines.forecast import ForecastLayout, target_history, usable_season
from seqselect.data.types import DatasetSplits, SequenceData
from seqselect.stats import metric_value


def mase_scale(data: SequenceData, layout: ForecastLayout) -> np.ndarray:
    """Each window's in-sample naive MAE over its target channels, ``(N,)``."""
    history = target_history(data, layout.target_channels)  # (N, W, K)
    season = usable_season(layout.season_length, history.shape[1] - 1)
    return np.abs(history[:, season:] - history[:, :-season]).mean(axis=(1, 2))


def _levels(values: np.ndarray, splits: DatasetSplits) -> np.ndarray | None:
    """``values (N, H * K)`` back in the series' units, or None when levels are lost."""
    meta = splits.metadata
    if meta.get("offset", "none") != "none":
        return None
    norm = meta.get("target_normalization")
    if norm is None:
        return values
    return values * np.asarray(norm["y_std"]) + np.asarray(norm["y_mean"])


def smape(y_true: np.ndarray, pred: np.ndarray) -> float:
    """Symmetric MAPE in percent; a pair of zeros counts as no error."""
    denom = np.abs(y_true) + np.abs(pred)
    ratio = np.divide(2 * np.abs(y_true - pred), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100 * ratio.mean())


def split_metrics(
    task: str,
    data: SequenceData,
    pred: np.ndarray,
    splits: DatasetSplits,
    layout: ForecastLayout | None = None,
) -> dict[str, float]:
    """The metrics of ``pred`` on ``data`` (one split), plus ``n``."""
    n = len(data)
    names = ("accuracy", "macro_f1") if task == "classify" else ("mse", "mae")
    if n == 0:
        extra = ("mase", "smape") if task == "forecast" else ()
        return {**{m: float("nan") for m in (*names, *extra)}, "n": 0}
    if task == "classify":
        y_true = data.y.cpu().numpy().astype(np.int64)
        k = splits.n_classes or None
        metrics = {m: metric_value(m, y_true, pred, n_classes=k) for m in names}
    else:
        y_true = data.y.cpu().numpy().astype(np.float64).reshape(n, -1)
        metrics = {m: metric_value(m, y_true, pred) for m in names}
    if task == "forecast" and layout is not None:
        metrics["mase"] = metric_value("mase", y_true, pred, scale=mase_scale(data, layout))
        truth, guess = _levels(y_true, splits), _levels(pred, splits)
        metrics["smape"] = float("nan") if truth is None or guess is None else smape(truth, guess)
    metrics["n"] = n
    return metrics
