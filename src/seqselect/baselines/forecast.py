"""Forecasting baselines on windows: seasonal naive, and AutoETS fitted to each window.

A forecasting dataset (``seqselect.data.bundled.make_windows``) holds windows
``x: (N, W, C)`` and targets ``y: (N, H * K)``: the next H values of K target channels,
flattened time-major (``y[:, h * K + k]``), in the same standardised, offset units as
``x``. Both baselines are local: each window is forecast from its own W steps, which is
what a network sees too, so "fit" learns nothing and the work happens in ``predict``.

The season length m comes from the ``season_length`` option, else from the splits'
``metadata["season_length"]`` (see :func:`forecast_layout`); without one, seasonal naive
is the naive last-value forecast (m = 1) and AutoETS lets aeon estimate a period.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from seqselect.baselines.arrays import check_real_input, value_targets
from seqselect.baselines.registry import BaselineCard, register_baseline
from seqselect.data.types import DatasetSplits, SequenceData
from seqselect.data.windows import ForecastLayout
from seqselect.errors import SeqSelectError
from seqselect.train.metrics import usable_season

__all__ = [
    "ForecastLayout", "SeasonalNaive", "WindowAutoETS", "forecast_layout", "target_history",
]

log = logging.getLogger(__name__)


def forecast_layout(splits: DatasetSplits, season_length: int | None = None) -> ForecastLayout:
    """The layout of a ``task="forecast"`` dataset, read from its metadata
    (:meth:`ForecastLayout.from_metadata`); ``season_length`` overrides the metadata's."""
    layout = ForecastLayout.from_splits(splits)
    if season_length is None:
        return layout
    return dataclasses.replace(layout, season_length=int(season_length))


def target_history(data: SequenceData, target_channels: tuple[int, ...]) -> np.ndarray:
    """The target channels of each input window, ``(N, W, K)`` float64."""
    check_real_input(data, "forecast baseline")
    if not bool(data.mask.all()):
        raise SeqSelectError("forecast baselines need whole windows (a mask of all True)")
    return data.x.detach().cpu().numpy().astype(np.float64)[:, :, list(target_channels)]


class _WindowForecaster:
    """Shared by the forecasters: the layout and the check of ``y``'s width."""

    name = "forecast"

    def __init__(self, horizon: int | None, target_channels, season_length: int | None) -> None:
        self.horizon = horizon
        self.target_channels = None if target_channels is None else tuple(target_channels)
        self.season_length = season_length

    def fit(self, train: SequenceData):
        channels = int(train.x.shape[-1])
        if self.target_channels is None:
            self.target_channels = tuple(range(channels))
        width = value_targets(train).shape[1]
        if self.horizon is None:
            self.horizon = width // len(self.target_channels)
        if self.horizon * len(self.target_channels) != width:
            raise SeqSelectError(
                f"{self.name}: y has {width} columns, not horizon {self.horizon} x "
                f"{len(self.target_channels)} target channels"
            )
        target_history(train, self.target_channels)  # refuses tokens and ragged windows now
        return self

    def _layout(self) -> tuple[int, tuple[int, ...]]:
        if self.horizon is None or self.target_channels is None:
            raise SeqSelectError(f"{self.name}: predict before fit")
        return self.horizon, self.target_channels


class SeasonalNaive(_WindowForecaster):
    """``y[t + h] = x[t + h - m * ceil(h / m)]``: the last season, repeated."""

    name = "seasonal_naive"

    def predict(self, data: SequenceData) -> np.ndarray:
        horizon, channels = self._layout()
        history = target_history(data, channels)  # (N, W, K)
        window = history.shape[1]
        season = usable_season(self.season_length, window)
        steps = window - season + (np.arange(horizon) % season)  # (H,) source step per h
        return history[:, steps, :].reshape(len(data), -1)  # (N, H, K) -> (N, H * K)


class WindowAutoETS(_WindowForecaster):
    """aeon's ``AutoETS`` fitted to each window and target channel, iterated H steps.

    A window where the fit fails or gives non-finite values gets the naive forecast
    instead; ``fallbacks_`` counts them (and a warning is logged).
    """

    name = "auto_ets"

    def __init__(self, horizon, target_channels, season_length) -> None:
        super().__init__(horizon, target_channels, season_length)
        self.fallbacks_ = 0

    def _one(self, series: np.ndarray, horizon: int) -> np.ndarray:
        from aeon.forecasting.stats import AutoETS

        season = self.season_length if self.season_length and self.season_length > 1 else None
        try:
            values = AutoETS(seasonal_period=season).iterative_forecast(series, horizon)
        except (ValueError, ZeroDivisionError, FloatingPointError, np.linalg.LinAlgError) as exc:
            log.debug("AutoETS failed on a window (%s): naive forecast", exc)
            values = np.full(horizon, np.nan)
        values = np.asarray(values, dtype=np.float64).reshape(horizon)
        if not np.isfinite(values).all():
            self.fallbacks_ += 1
            return np.full(horizon, series[-1])
        return values

    def predict(self, data: SequenceData) -> np.ndarray:
        horizon, channels = self._layout()
        history = target_history(data, channels)  # (N, W, K)
        n, _, k = history.shape
        out = np.empty((n, horizon, k))
        before = self.fallbacks_
        for i in range(n):
            for j in range(k):
                out[i, :, j] = self._one(np.ascontiguousarray(history[i, :, j]), horizon)
        if self.fallbacks_ > before:
            fell_back = self.fallbacks_ - before
            log.warning("auto_ets: %d of %d fits fell back to naive", fell_back, n * k)
        return out.reshape(n, horizon * k)  # time-major, like y


_FORECAST_OPTIONS = ("horizon", "target_channels", "season_length")


@register_baseline(
    BaselineCard(
        name="seasonal_naive",
        task="forecast",
        summary="the window's last season repeated (naive last value when m is unknown)",
        reference="Hyndman & Athanasopoulos, Forecasting: Principles and Practice, 3rd ed., 5.2",
        variable_length="needs whole windows",
        options=_FORECAST_OPTIONS,
        floor=True,
    )
)
def _seasonal_naive(seed: int, horizon=None, target_channels=None, season_length=None):
    del seed  # deterministic
    return SeasonalNaive(horizon, target_channels, season_length)


@register_baseline(
    BaselineCard(
        name="auto_ets",
        task="forecast",
        summary="exponential smoothing, model chosen by AIC per window (aeon AutoETS)",
        reference="Hyndman et al. 2002 (state space ETS); aeon.forecasting.stats.AutoETS",
        variable_length="needs whole windows",
        options=_FORECAST_OPTIONS,
        requires=("aeon",),
    )
)
def _auto_ets(seed: int, horizon=None, target_channels=None, season_length=None):
    del seed  # deterministic: AutoETS's Nelder-Mead starts from fixed points
    return WindowAutoETS(horizon, target_channels, season_length)
