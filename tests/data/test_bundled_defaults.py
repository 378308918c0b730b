"""Bundled sets: aeon's UnitTest problem loads like any UCR problem, and the bundled
forecasting series get a default window that holds their season."""

from __future__ import annotations

import logging

import numpy as np

from seqselect.baselines.forecast import SeasonalNaive, forecast_layout
from seqselect.baselines.metrics import mase_scale
from seqselect.data import list_datasets, load_dataset
from seqselect.data.bundled import archive_problems


def test_unittest_is_a_bundled_classification_problem():
    problems = archive_problems()
    assert problems["UnitTest"].kind == "classification"
    assert "UnitTestTimeStamps" not in problems  # a reader fixture with no test half
    s = load_dataset("ucr:UnitTest")
    assert s.source == "ucr:UnitTest" and s.metadata["split"] == "official"
    assert len(s.train) + len(s.val) == 20 and len(s.test) == 22  # aeon's cut-down Chinatown
    assert s.train.x.shape[1:] == (24, 1) and s.class_names == ["1", "2"]
    row = {r["name"]: r for r in list_datasets()}["ucr:UnitTest"]
    assert (row["kind"], row["length"], row["classes"], row["n_train"], row["n_test"]) == (
        "classification", 24, 2, 20, 22)


def test_solar_default_window_holds_its_daily_season(caplog):
    with caplog.at_level(logging.WARNING):
        s = load_dataset("forecast:Solar")
        season, window = s.metadata["season_length"], s.metadata["window"]
        assert season == 48 and window == 49 and "window=49" in s.source
        layout = forecast_layout(s)
        scale = mase_scale(s.test, layout)
        pred = SeasonalNaive(layout.horizon, None, season).fit(s.train).predict(s.test)
    x = s.test.x[:, :, 0].numpy().astype(np.float64)
    np.testing.assert_allclose(scale, np.abs(x[:, season:] - x[:, :-season]).mean(axis=1))
    np.testing.assert_allclose(pred, x[:, window - season + np.arange(layout.horizon)])
    assert "longer than the window" not in caplog.text  # the warning the review saw


def test_listing_shows_the_default_window():
    rows = {r["name"]: r for r in list_datasets()}
    assert rows["forecast:Solar"]["length"] == 49
    assert "window=49" in rows["forecast:Solar"]["example"]
    assert rows["forecast:Airline"]["length"] == 36  # already holds its season
