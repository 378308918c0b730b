"""A forecasting bake-off's export carries its windows to `predict` (issue 13, item 7).

One short bake-off (one TCN, one seed, no baselines) on forecast:Airline with levels kept
(``offset=none``), exported by the bake-off itself: predict must cut and undo the windows
the way training did, which it can only do if the export says how (columns, targets,
offset, season), not if it falls back to the loaders' defaults (``offset=last``).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from seqselect.bakeoff.export import forecast_input, load_model
from seqselect.bakeoff.predict import forecast_next, predict_file
from seqselect.data import load_dataset
from seqselect.data.bundled import aeon_data_dir

SOURCE = "forecast:Airline?horizon=12&window=36&offset=none"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from seqselect import run_bakeoff

    root = tmp_path_factory.mktemp("forecast-bakeoff")
    run_bakeoff(
        SOURCE, models="tcn", budget="4s", seeds=1, params=3000, baselines="none",
        cpus_per_trial=1, store=root / "runs.db", run="airline", export=root / "model",
    )
    csv = root / "airline.csv"
    pd.read_csv(aeon_data_dir() / "Airline" / "Airline.csv").to_csv(csv, index=False)
    return {"root": root, "csv": csv}


def test_the_bakeoff_export_describes_the_windows_as_the_dataset_does(exported):
    config = json.loads((exported["root"] / "model" / "config.json").read_text())
    expected = forecast_input(load_dataset(SOURCE).metadata)
    assert expected["offset"] == "none" and expected["season_length"] == 12
    assert {k: config["input"].get(k) for k in expected} == expected


def test_predict_on_the_bakeoff_export_keeps_levels(exported, tmp_path):
    model, config = load_model(exported["root"] / "model")
    series = pd.read_csv(exported["csv"])
    values = {"airline": series[["Passengers"]].to_numpy(dtype=np.float64)}
    # the same forecast with the windows described exactly as the dataset describes them
    described = {**config, "input": forecast_input(load_dataset(SOURCE).metadata)}
    expected = forecast_next(model, described, values, ["Passengers"])["airline"]
    out = tmp_path / "next.csv"
    summary = predict_file(exported["root"] / "model", exported["csv"], out, time_col="Date")
    assert summary["rows"] == 12
    np.testing.assert_allclose(pd.read_csv(out)["Passengers"], expected[:, 0], rtol=1e-5)
    # an offset undone that training never applied would move the forecast by a level
    last_offset = {**described, "input": {**described["input"], "offset": "last"}}
    shifted = forecast_next(model, last_offset, values, ["Passengers"])["airline"]
    assert np.abs(shifted - expected).max() > 50
