"""seqselect.baselines.forecast: seasonal naive and AutoETS on forecasting windows."""

import numpy as np
import pytest

from seqselect.baselines import create_baseline, forecast_layout, run_baseline
from seqselect.data.bundled import make_windows
from seqselect.data.windows import window_starts

PATTERN = np.array([3.0, 5.0, 9.0, 4.0, 1.0, 2.0, 8.0, 7.0, 6.0, 5.0, 4.0, 2.0])  # m = 12


def _windows(series, *, season=None, offset="last", window=36, horizon=12, columns=("v",)):
    series = np.asarray(series, dtype=np.float64).reshape(len(series), -1)
    meta = {} if season is None else {"season_length": season}
    return make_windows(
        series, name="synthetic", source="synthetic", columns=columns,
        target_columns=list(range(series.shape[1])), window=window, horizon=horizon,
        val_fraction=0.15, test_fraction=0.2, offset=offset, metadata=meta,
    )


def test_seasonal_naive_is_exact_on_a_purely_seasonal_series():
    splits = _windows(np.tile(PATTERN, 20), season=12)
    run = run_baseline("seasonal_naive", splits, seed=0)
    assert run.ok, run.error
    assert run.options["season_length"] == 12
    assert run.test_metrics["mse"] == 0.0 and run.test_metrics["mae"] == 0.0
    # MASE is undefined here: the in-sample seasonal naive error it divides by is 0 too.
    assert np.isnan(run.test_metrics["mase"])
    assert run.val_metrics["mse"] == 0.0


def test_without_a_season_it_is_the_naive_last_value_forecast():
    splits = _windows(np.tile(PATTERN, 20))
    run = run_baseline("seasonal_naive", splits, seed=0)
    # offset="last" windows end at 0, so the naive forecast is all zeros
    assert np.all(run.predictions() == 0.0)
    assert run.test_metrics["mse"] > 0.1


def test_the_horizon_longer_than_the_season_repeats_it():
    splits = _windows(np.tile(PATTERN[:4], 60), season=4, horizon=10, window=12)
    model = create_baseline("seasonal_naive", season_length=4).fit(splits.train)
    pred = model.predict(splits.test)  # (N, 10)
    assert np.array_equal(pred, splits.test.y.numpy().astype(np.float64))


def test_several_target_channels_are_forecast_time_major():
    two = np.stack([np.tile(PATTERN, 20), -np.tile(PATTERN, 20)], axis=1)  # (T, 2)
    splits = _windows(two, season=12, columns=("a", "b"))
    layout = forecast_layout(splits)
    assert layout.target_channels == (0, 1) and layout.horizon == 12
    run = run_baseline("seasonal_naive", splits, seed=0)
    assert run.test_metrics["mse"] == 0.0
    assert run.predictions().shape == (len(splits.test), 24)


def test_smape_is_on_the_series_values_whatever_the_offset():
    level = np.tile(PATTERN, 20) + 10
    exact = run_baseline("seasonal_naive", _windows(level, season=12, offset="none"), seed=0)
    assert exact.test_metrics["smape"] == pytest.approx(0.0, abs=1e-9)
    # Reference twin: the naive forecast's sMAPE computed by hand on the raw series.
    _, _, test_starts = window_starts(len(level), 36, 12, 0.15, 0.2)
    truth = np.stack([level[s + 36 : s + 48] for s in test_starts])
    guess = np.stack([np.full(12, level[s + 35]) for s in test_starts])
    expected = float(np.mean(200 * np.abs(truth - guess) / (np.abs(truth) + np.abs(guess))))
    for offset in ("none", "last"):  # the windows' offsets are kept, so "last" loses nothing
        naive = run_baseline("seasonal_naive", _windows(level, offset=offset), seed=0)
        assert naive.test_metrics["smape"] == pytest.approx(expected, rel=1e-5)
    assert 0 < expected < 200


def test_mase_of_the_naive_forecast_on_a_line_is_the_horizon_average():
    # A line with slope 1: the in-sample naive error is 1 per step; the naive forecast's
    # error at step h is h, so MASE = mean(1..H) = (H + 1) / 2.
    splits = _windows(np.arange(200.0), horizon=4, window=8)
    run = run_baseline("seasonal_naive", splits, seed=0)
    assert run.test_metrics["mase"] == pytest.approx(2.5)


def test_mase_uses_the_datasets_season_whatever_the_baseline_option():
    splits = _windows(np.tile(PATTERN[:7], 30), horizon=4, window=30)  # no season in metadata
    plain = run_baseline("seasonal_naive", splits, seed=0)
    seasonal = run_baseline("seasonal_naive", splits, seed=0, options={"season_length": 7})
    assert seasonal.options["season_length"] == 7 and plain.options["season_length"] == 1
    assert seasonal.test_metrics["mae"] == 0.0 < plain.test_metrics["mae"]
    # Scaled by the dataset's lag-1 error (not the option's lag 7, which is 0 here): defined.
    assert seasonal.test_metrics["mase"] == 0.0 < plain.test_metrics["mase"]


@pytest.mark.slow
def test_auto_ets_follows_a_trend_the_naive_forecast_misses():
    rng = np.random.default_rng(0)
    series = np.arange(300.0) * 0.5 + rng.normal(0, 0.05, 300)
    splits = _windows(series, horizon=6, window=40)
    ets = run_baseline("auto_ets", splits, seed=0)
    naive = run_baseline("seasonal_naive", splits, seed=0)
    assert ets.ok, ets.error
    assert ets.test_metrics["mse"] < 0.1 * naive.test_metrics["mse"]
