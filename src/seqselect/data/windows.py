"""Forecasting windows: one series ``(T, C)`` cut into inputs of W steps and the next H values.

Used for aeon's bundled series (``forecast:NAME``) and for user files in series form.
Windows are split in time order (train, then validation, then test, the latest), and H-1
windows are dropped at each boundary so no target value of one split is a target of
another. Values are standardised with the training span's statistics, then each window is
offset by its last value (``offset=last``, the default; ``offset=none`` keeps levels).

The splits' metadata says how to read the windows back (:class:`ForecastLayout`):
``horizon``, ``window``, ``columns``, ``target_columns``, ``offset``, ``season_length`` (m,
an int >= 1; 1 = no known season), ``normalization``/``target_normalization`` and
``window_offsets``: per split (``"train"``, ``"val"``, ``"test"``) the value subtracted
from each window, ``(N, C)`` nested lists in standardised units (zeros for
``offset="none"``), so a prediction ``(N, H * K)`` goes back to the series' own units with
:meth:`ForecastLayout.to_original`.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from seqselect.data.types import DatasetSplits, SequenceData
from seqselect.data.validate import split_counts
from seqselect.errors import DataError, SeqSelectError
from seqselect.vocabulary import model_task_for

__all__ = [
    "OFFSETS",
    "ForecastLayout",
    "cut_windows",
    "make_windows",
    "season_from_times",
    "seasonal_window",
    "span_scales",
    "window_counts",
    "window_offsets",
    "window_starts",
]

log = logging.getLogger(__name__)

#: How a window's values are shifted: by its last input value, or not at all.
OFFSETS = ("last", "none")


@dataclass(frozen=True)
class ForecastLayout:
    """How a forecasting dataset's targets relate to its inputs and to the series.

    ``target_channels``: the K input channels forecast, in the order of ``y``'s columns
    (``y[:, h * K + k]``); ``season_length``: m (None = unknown); ``offset``: the windows'
    offset mode (:data:`OFFSETS`); ``y_mean``/``y_std``: ``(K,)`` the target channels'
    standardisation (None = values not standardised).
    """

    horizon: int
    target_channels: tuple[int, ...]
    season_length: int | None = None
    offset: str = "last"
    y_mean: tuple[float, ...] | None = None
    y_std: tuple[float, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ForecastLayout:
        def floats(key):
            return None if data.get(key) is None else tuple(float(v) for v in data[key])

        return cls(
            int(data["horizon"]), tuple(int(c) for c in data["target_channels"]),
            data.get("season_length"), data.get("offset", "last"), floats("y_mean"),
            floats("y_std"),
        )

    @classmethod
    def from_metadata(
        cls, meta: dict[str, Any], *, d_input: int, d_output: int, name: str = "forecast"
    ) -> ForecastLayout:
        """The layout :func:`make_windows` wrote into ``meta`` (a dataset's metadata, or an
        exported model's ``input``); missing keys default to every channel a target, the
        horizon ``d_output / K``, offset ``last`` and no season."""
        columns = list(meta.get("columns") or range(d_input))
        targets = list(meta.get("target_columns") or columns)
        channels = tuple(columns.index(t) for t in targets)
        horizon = int(meta.get("horizon") or d_output // max(len(channels), 1))
        if horizon * len(channels) != d_output:
            raise SeqSelectError(
                f"{name}: d_output {d_output} is not horizon {horizon} x "
                f"{len(channels)} target channels"
            )
        season = meta.get("season_length")
        norm = meta.get("normalization")
        mean = std = None
        if norm is not None:
            mean = tuple(float(norm["x_mean"][c]) for c in channels)
            std = tuple(float(norm["x_std"][c]) for c in channels)
        return cls(
            horizon, channels, None if season is None else int(season),
            meta.get("offset", "last"), mean, std,
        )

    @classmethod
    def from_splits(cls, splits: DatasetSplits) -> ForecastLayout:
        """The layout of a ``task="forecast"`` dataset, from its metadata."""
        return cls.from_metadata(
            splits.metadata, d_input=int(splits.d_input or splits.train.x.shape[-1]),
            d_output=int(splits.d_output), name=splits.name,
        )

    def to_original(self, values: np.ndarray, offsets: np.ndarray | None) -> np.ndarray:
        """``values (N, H * K)`` in window units back in the series' units.

        ``offsets``: ``(N, K)`` (or ``(N, C)``, then the target channels are taken) — the
        windows' subtracted values, standardised; required when ``offset="last"``.
        """
        values = np.asarray(values, dtype=np.float64)
        n, k = len(values), len(self.target_channels)
        out = values.reshape(n, self.horizon, k)
        if self.offset != "none":
            if offsets is None:
                raise SeqSelectError("offset='last' windows need their offsets to undo them")
            offsets = np.asarray(offsets, dtype=np.float64).reshape(n, -1)
            if offsets.shape[1] != k:
                offsets = offsets[:, list(self.target_channels)]
            out = out + offsets[:, None, :]
        if self.y_mean is not None and self.y_std is not None:
            out = out * np.asarray(self.y_std) + np.asarray(self.y_mean)
        return out.reshape(n, self.horizon * k)


def window_offsets(meta: dict[str, Any], split: str, n: int) -> np.ndarray | None:
    """The ``(n, C)`` offsets of ``split``'s windows from a dataset's metadata, or None when
    the metadata has none for it or their count is not ``n`` (e.g. a fold cut from it)."""
    stored = (meta.get("window_offsets") or {}).get(split)
    if stored is None or len(stored) != n:
        return None
    return np.asarray(stored, dtype=np.float64).reshape(n, -1)


#: A time step (seconds, rounded to its calendar unit) -> the steps in its seasonal cycle:
#: half-hours and hours in a day, days in a week, weeks, months and quarters in a year.
_SEASON_BY_STEP: tuple[tuple[float, int], ...] = (
    (30 * 60, 48), (60 * 60, 24), (86400, 7), (7 * 86400, 52), (30.44 * 86400, 12),
    (91.31 * 86400, 4),
)


def season_from_times(times_ns: np.ndarray) -> int:
    """m for a series sampled at ``times_ns`` ``(T,)`` (sorted datetimes in ns): the cycle of
    its median step when that step is a calendar unit (within 10%), else 1."""
    if len(times_ns) < 3:
        return 1
    step = float(np.median(np.diff(times_ns))) / 1e9  # seconds
    for seconds, season in _SEASON_BY_STEP:
        if abs(step - seconds) <= 0.1 * seconds:
            return season
    return 1


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


#: (series, season, window) already warned about: a series too short for a seasonal
#: window is said once per process, not once per load.
_WARNED_SHORT: set[tuple[str, int, int]] = set()


def seasonal_window(
    window: int, season: int | None, *, n_points: int, horizon: int, val_fraction: float,
    test_fraction: float, name: str = "series",
) -> int:
    """The default input window: ``window``, widened to ``season + 1`` steps when shorter.

    MASE scales each window's error by its in-sample seasonal naive error, a lag-m
    difference inside the window, so it needs ``W - 1 >= m``; the seasonal naive baseline
    repeats the window's last season. With a window of m steps or fewer both fall back to
    the naive last value, and a half-hourly series (m = 48) is scored as if it had no
    daily cycle. The wider window is taken when it still leaves at least half of the
    training windows ``window`` leaves (a series that short needs its data for training
    more); otherwise ``window`` stays and one warning says so.
    """
    if season is None or season <= 1 or window > season:
        return window
    wide = season + 1
    fractions = (val_fraction, test_fraction)
    base_train = window_counts(n_points, window, horizon, *fractions)[1]
    wide_train = window_counts(n_points, wide, horizon, *fractions)[1]
    if wide_train >= max(1, base_train // 2):
        return wide
    if (name, season, window) not in _WARNED_SHORT:
        _WARNED_SHORT.add((name, season, window))
        log.warning(
            "%s: %d steps are too few for a window of %d (season %d + 1); keeping window "
            "%d, so MASE and the seasonal naive baseline use the naive last value",
            name, n_points, wide, season, window,
        )
    return window


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
) -> tuple[SequenceData, np.ndarray]:
    """The windows starting at ``starts`` of ``values: (T, C)``, and their offsets.

    Returns ``(data, offsets)``: ``x: (N, W, C)`` float32, an all-True mask ``(N, W)`` and
    ``y: (N, H * K)`` float32 (K target columns, flattened time-major); ``offsets: (N, C)``
    float64, the value subtracted from each window (its last input step for
    ``offset="last"``, zeros for ``"none"``).
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
    offsets = np.zeros((len(starts), n_channels))
    if offset == "last" and len(starts):
        offsets = x[:, -1, :].copy()  # (N, C)
        y = y - np.tile(offsets[:, target_columns], horizon)
        x = x - offsets[:, None, :]
    data = SequenceData(
        torch.as_tensor(x, dtype=torch.float32),
        torch.ones(len(starts), window, dtype=torch.bool),
        torch.as_tensor(y, dtype=torch.float32),
    )
    return data, offsets


def _standardize_series(
    values: np.ndarray, covered: int, target_columns: list[int], horizon: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """Standardise ``values: (T, C)`` by the first ``covered`` steps; return the metadata."""
    mean, std, meta = span_scales(values[:covered], target_columns, horizon)
    return (values - mean) / std, meta


def span_scales(
    span: np.ndarray, target_columns: list[int], horizon: int
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """``(mean (C,), std (C,), metadata)`` of the training steps ``span: (T, C)``; the
    metadata's ``normalization`` and ``target_normalization`` (tiled over the horizon)."""
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
    return mean, std, meta


def _season(name: str, given: int | None, stored: Any) -> int:
    """m from the argument, else the metadata, else 1; an int >= 1 or a DataError."""
    value = given if given is not None else stored
    if value is None:
        return 1
    try:
        season = int(value)
    except (TypeError, ValueError):
        season = 0
    if season < 1 or str(value).strip() not in (str(season), f"{season}.0"):
        raise DataError(f"{name}: season must be a whole number >= 1, got {value!r}")
    return season


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
    season_length: int | None = None,
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

    ``season_length``: m, else ``metadata["season_length"]``, else 1 (no known season);
    written to the metadata with the windows' offsets (see the module's docstring).
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
    return _split_windows(
        series, name=name, source=source, columns=columns, target_columns=target_columns,
        window=window, horizon=horizon, normalize=normalize, offset=offset,
        season_length=season_length, metadata=metadata,
        starts=(train_starts, val_starts, test_starts),
    )


def _split_windows(
    series: np.ndarray, *, name: str, source: str, columns, target_columns: list[int],
    window: int, horizon: int, normalize: bool, offset: str, season_length: int | None,
    metadata: dict[str, Any] | None, starts: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> DatasetSplits:
    """:func:`make_windows` once the window starts are known and checked."""
    train_starts, val_starts, test_starts = starts
    t_len = len(series)
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
    meta["season_length"] = _season(name, season_length, meta.get("season_length"))
    cut = {"window": window, "horizon": horizon, "target_columns": target_columns,
           "offset": offset}
    parts = {
        split: cut_windows(values, starts, **cut)
        for split, starts in (("train", train_starts), ("val", val_starts), ("test", test_starts))
    }
    meta["window_offsets"] = {split: part[1].tolist() for split, part in parts.items()}
    return DatasetSplits(
        name=name,
        task="forecast",
        model_task=model_task_for("forecast"),
        train=parts["train"][0],
        val=parts["val"][0],
        test=parts["test"][0],
        d_input=int(values.shape[1]),
        vocab_size=None,
        d_output=horizon * len(target_columns),
        class_names=None,
        source=source,
        metadata=meta,
    )
