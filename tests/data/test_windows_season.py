"""The default forecasting window holds a whole season plus one step, so MASE's scale and
the seasonal naive baseline are seasonal; a series too short for it keeps its window and
is warned about once."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from seqselect.baselines.forecast import SeasonalNaive, target_history
from seqselect.data import bundled, load_dataset
from seqselect.data.windows import seasonal_window, window_counts
from seqselect.train.metrics import mase_scale

SEASON, HORIZON = 24, 6
FRACTIONS = {"val_fraction": 0.15, "test_fraction": 0.2}


def _seasonal_series(n: int = 400) -> np.ndarray:
    """A daily cycle of hourly steps (m = 24) on a slow trend, ``(T, 1)``."""
    t = np.arange(n, dtype=np.float64)
    return (np.sin(2 * np.pi * t / SEASON) + 3 * np.cos(4 * np.pi * t / SEASON) + 0.01 * t)[
        :, None
    ]


@pytest.fixture
def synthetic(monkeypatch):
    """A bundled-style series ``forecast:Synth`` whose listed window is one season long."""
    spec = bundled.ForecastSeries("Synth", "none.csv", ("v",), HORIZON, SEASON, "synthetic",
                                  SEASON)
    monkeypatch.setattr(bundled, "available_forecast_series", lambda: {"Synth": spec})
    monkeypatch.setattr(bundled, "_read_forecast", lambda name: (_seasonal_series(), ("v",)))
    return spec


def test_the_default_window_holds_a_season_and_the_seasonal_naive_is_used(synthetic, caplog):
    with caplog.at_level(logging.WARNING):
        splits = load_dataset("forecast:Synth")
        window = splits.metadata["window"]
        assert window >= SEASON + 1 and splits.test.x.shape[1] == window
        assert "window=25" in splits.source
        model = SeasonalNaive(HORIZON, None, splits.metadata["season_length"])
        pred = model.fit(splits.train).predict(splits.test)  # (N, H)
        history = target_history(splits.test, (0,))[:, :, 0]  # (N, W)
        scale = mase_scale(history[:, :, None], SEASON)
    last_season = history[:, window - SEASON + np.arange(HORIZON)]
    np.testing.assert_allclose(pred, last_season)  # a season ago, not the last value
    assert not np.allclose(pred, history[:, -1:].repeat(HORIZON, axis=1))
    lag_m = np.abs(history[:, SEASON:] - history[:, :-SEASON]).mean(axis=1)
    np.testing.assert_allclose(scale, lag_m)  # MASE is scaled by the seasonal naive error
    assert "naive forecast" not in caplog.text and "too few" not in caplog.text


def test_a_window_the_user_gives_is_kept(synthetic):
    splits = load_dataset(f"forecast:Synth?window={SEASON}")
    assert splits.metadata["window"] == SEASON


def test_a_short_series_keeps_its_window_and_warns_once(caplog):
    n = 45  # a window of 24 leaves one training window, one of 25 none
    assert window_counts(n, SEASON, HORIZON, **FRACTIONS)[1] == 1
    assert window_counts(n, SEASON + 1, HORIZON, **FRACTIONS)[1] == 0
    with caplog.at_level(logging.WARNING, logger="seqselect.data.windows"):
        for _ in range(3):
            got = seasonal_window(SEASON, SEASON, n_points=n, horizon=HORIZON,
                                  name="short-test-series", **FRACTIONS)
            assert got == SEASON
    warned = [r for r in caplog.records if "short-test-series" in r.getMessage()]
    assert len(warned) == 1 and "window of 25 (season 24 + 1)" in warned[0].getMessage()


@pytest.mark.parametrize(("window", "season"), [(36, 12), (30, 1), (30, None), (13, 12)])
def test_windows_that_already_hold_a_season_are_unchanged(window, season):
    assert seasonal_window(window, season, n_points=400, horizon=HORIZON, **FRACTIONS) == window


def test_the_widened_window_is_exactly_one_season_plus_one():
    assert seasonal_window(12, 12, n_points=400, horizon=3, **FRACTIONS) == 13
    assert seasonal_window(5, 48, n_points=400, horizon=12, **FRACTIONS) == 49


def test_widening_that_would_cost_half_the_training_windows_is_refused(caplog):
    # 100 steps, m = 48: a 6-step window leaves 48 training windows, a 49-step one 20
    with caplog.at_level(logging.WARNING, logger="seqselect.data.windows"):
        assert seasonal_window(6, 48, n_points=100, horizon=6, name="half-test",
                               **FRACTIONS) == 6
        assert seasonal_window(6, 48, n_points=120, horizon=6, name="half-test-2",
                               **FRACTIONS) == 49  # 61 -> 33: more than half kept
    assert "half-test:" in caplog.text and "half-test-2" not in caplog.text
