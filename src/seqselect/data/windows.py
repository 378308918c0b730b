"""Forecasting windows: one series ``(T, C)`` cut into inputs of W steps and the next H values.

Used for aeon's bundled series (``forecast:NAME``) and for user files in series form.
Windows are split in time order (train, then validation, then test, the latest), and H-1
windows are dropped at each boundary so no target value of one split is a target of
another. Values are standardised with the training span's statistics, then each window is
offset by its last value (``offset=last``, the default; ``offset=none`` keeps levels).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from seqselect.data.types import DatasetSplits, SequenceData
from seqselect.data.validate import split_counts
from seqselect.errors import DataError
from seqselect.vocabulary import model_task_for

__all__ = ["OFFSETS", "cut_windows", "make_windows", "window_counts", "window_starts"]

#: How a window's values are shifted: by its last input value, or not at all.
OFFSETS = ("last", "none")


def window_counts(
    n_points: int, window: int, horizon: int, val_fraction: float, test_fraction: float
) -> tuple[int, int, int, int]:
    """``(n_windows, n_train, n_val, n_test)`` for :func:`make_windows` (train may be <= 0)."""
    n_windows = n_points - window - horizon + 1
    n_val, n_test = split_counts(max(n_windows, 1), val_fraction, test_fraction)
    gap = horizon - 1
    n_gaps = (1 if n_val else 0) + (1 if n_test else 0)
    n_train = n_windows - n_val - n_test - gap * n_gaps
    return n_windows, n_train, n_val, n_test


def window_starts(
    n_points: int, window: int, horizon: int, val_fraction: float, test_fraction: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start steps of the train, validation and test windows, in time order.

    Test windows are the latest; validation windows end ``horizon - 1`` windows before
    them; training windows are the first ``n_train``. Raises :class:`DataError` (naming no
    source: the caller adds it) when no training window is left: see :func:`make_windows`.
    """
    n_windows, n_train, n_val, n_test = window_counts(
        n_points, window, horizon, val_fraction, test_fraction
    )
    gap = horizon - 1
    starts = np.arange(max(n_windows, 0))
    test_starts = starts[n_windows - n_test :] if n_test else starts[:0]
    val_end = n_windows - n_test - (gap if n_test else 0)
    val_starts = starts[val_end - n_val : val_end] if n_val else starts[:0]
    return starts[: max(n_train, 0)], val_starts, test_starts


def _shortest_series(window: int, horizon: int, val_fraction: float, test_fraction: float) -> int:
    """The fewest steps that leave at least one training window."""
    need = window + horizon
    while window_counts(need, window, horizon, val_fraction, test_fraction)[1] < 1:
        need += 1
    return need


def cut_windows(
    values: np.ndarray,
    starts: np.ndarray,
    *,
    window: int,
    horizon: int,
    target_columns: list[int],
    offset: str = "last",
) -> SequenceData:
    """The windows starting at ``starts`` of ``values: (T, C)``.

    Returns ``x: (N, W, C)`` float32, an all-True mask ``(N, W)`` and
    ``y: (N, H * K)`` float32 (K target columns, flattened time-major).
    """
    n_channels = values.shape[1]
    if len(starts):
        x = np.stack([values[s : s + window] for s in starts])  # (N, W, C)
        y = np.stack(
            [values[s + window : s + window + horizon][:, target_columns].reshape(-1)
             for s in starts]
        )  # (N, H * K)
    else:
        x = np.zeros((0, window, n_channels))
        y = np.zeros((0, horizon * len(target_columns)))
    if offset == "last" and len(starts):
        last = x[:, -1:, :]  # (N, 1, C)
        y = y - np.tile(last[:, 0, target_columns], horizon)
        x = x - last
    return SequenceData(
        torch.as_tensor(x, dtype=torch.float32),
        torch.ones(len(starts), window, dtype=torch.bool),
        torch.as_tensor(y, dtype=torch.float32),
    )


def _standardize_series(
    values: np.ndarray, covered: int, target_columns: list[int], horizon: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """Standardise ``values: (T, C)`` by the first ``covered`` steps; return the metadata."""
    span = values[:covered]
    mean = span.mean(axis=0)
    std = span.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)  # a constant channel keeps its scale
    meta = {
        "normalization": {"x_mean": mean.tolist(), "x_std": std.tolist()},
        "target_normalization": {
            "y_mean": np.tile(mean[target_columns], horizon).tolist(),
            "y_std": np.tile(std[target_columns], horizon).tolist(),
        },
    }
    return (values - mean) / std, meta


def make_windows(
    series: np.ndarray,
    *,
    name: str,
    source: str,
    columns: tuple[str, ...] | list[str],
    target_columns: list[int],
    window: int,
    horizon: int,
    val_fraction: float,
    test_fraction: float,
    normalize: bool = True,
    offset: str = "last",
    metadata: dict[str, Any] | None = None,
) -> DatasetSplits:
    """Cut ``series: (T, C)`` into forecasting windows split in time order.

    Window s: ``x = series[s : s+W]`` (all C channels), ``y = series[s+W : s+W+H, targets]``
    flattened time-major to ``(H * K,)``. Test windows are the latest, validation windows
    come before them, and ``H - 1`` windows are left out at each boundary so that no
    target step is shared between splits. Standardisation (when ``normalize``) uses the
    mean and standard deviation of the steps the training windows cover.

    ``offset="last"`` then subtracts each window's last input value (per channel) from its
    inputs and targets, as NLinear does (Zeng et al. 2023, "Are Transformers Effective for
    Time Series Forecasting?"): a trend no longer takes the test windows outside the
    range seen in training, and predicting 0 is the naive last-value forecast. Add
    ``x[:, -1]`` (of the target channels) back to a prediction to undo it.
    ``offset="none"`` keeps the standardised values.
    """
    if offset not in OFFSETS:
        raise DataError(f"{name}: offset must be 'last' or 'none', got {offset!r}")
    if window < 1 or horizon < 1:
        raise DataError(
            f"{name}: window and horizon must be >= 1, got window={window}, horizon={horizon}"
        )
    t_len = len(series)
    train_starts, val_starts, test_starts = window_starts(
        t_len, window, horizon, val_fraction, test_fraction
    )
    if len(train_starts) < 1:
        need = _shortest_series(window, horizon, val_fraction, test_fraction)
        raise DataError(
            f"{name}: a series of {t_len} steps is too short for window={window} and "
            f"horizon={horizon} with a validation and test split (needs at least {need} steps); "
            "use a smaller window or horizon"
        )
    values = series.astype(np.float64)
    meta = dict(metadata or {})
    if normalize:
        covered = int(train_starts[-1]) + window + horizon
        values, scales = _standardize_series(values, covered, target_columns, horizon)
        meta.update(scales)
    meta.update(
        horizon=horizon, window=window, series_length=t_len, columns=list(columns),
        target_columns=[columns[i] for i in target_columns], split="time-ordered windows",
        boundary_gap_windows=horizon - 1, offset=offset,
        data_type=meta.get("data_type", "time-series"),
    )
    cut = {"window": window, "horizon": horizon, "target_columns": target_columns,
           "offset": offset}
    return DatasetSplits(
        name=name,
        task="forecast",
        model_task=model_task_for("forecast"),
        train=cut_windows(values, train_starts, **cut),
        val=cut_windows(values, val_starts, **cut),
        test=cut_windows(values, test_starts, **cut),
        d_input=int(values.shape[1]),
        vocab_size=None,
        d_output=horizon * len(target_columns),
        class_names=None,
        source=source,
        metadata=meta,
    )
