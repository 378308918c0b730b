"""A baseline's metrics on one split, under the trainer's metric names.

* classify: ``accuracy``, ``macro_f1``;
* regress: ``mse``, ``mae`` (in the units the dataset gives its targets, as the trainer's);
* forecast: also ``mase`` and ``smape``, by :func:`seqselect.train.metrics.forecast_metrics`
  (the one definition the trainer's ``evaluate`` uses too, so a network and the seasonal
  naive baseline share one scale): MASE scaled by each window's in-sample seasonal naive
  error (the dataset's ``season_length``), sMAPE on the series' own values (the windows'
  offsets from ``metadata["window_offsets"]`` added back, the standardisation undone).
"""

from __future__ import annotations

import numpy as np

from seqselect.baselines.forecast import ForecastLayout, target_history
from seqselect.data.types import DatasetSplits, SequenceData
from seqselect.data.windows import window_offsets
from seqselect.stats import metric_value
from seqselect.train import metrics as train_metrics


def mase_scale(data: SequenceData, layout: ForecastLayout) -> np.ndarray:
    """Each window's in-sample seasonal naive MAE over its target channels, ``(N,)``: the
    ``scale`` a paired comparison of MASE (``seqselect.stats``) needs."""
    history = target_history(data, layout.target_channels)  # (N, W, K)
    return train_metrics.mase_scale(history, layout.season_length)


def _split_name(data: SequenceData, splits: DatasetSplits) -> str | None:
    """Which of ``splits``' parts ``data`` is (by identity), for its stored offsets."""
    for name in ("train", "val", "test"):
        if getattr(splits, name) is data:
            return name
    return None


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
        part = _split_name(data, splits)
        offsets = None if part is None else window_offsets(splits.metadata, part, n)
        target_history(data, layout.target_channels)  # refuses tokens and ragged windows
        x = data.x.cpu().numpy()
        metrics.update(train_metrics.forecast_metrics(pred, y_true, x, layout, offsets))
    metrics["n"] = n
    return metrics
