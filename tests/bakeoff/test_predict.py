"""`predict` on a forecasting model: the next horizon values per series, on the series' scale.

One tiny TCN trained a few seconds on forecast:Airline (horizon 12), exported, then asked
to forecast the bundled series written as a user file.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from seqselect import create_model
from seqselect.bakeoff.export import export_model, forecast_input, load_model
from seqselect.bakeoff.predict import forecast_next, predict_file, read_series
from seqselect.data import load_dataset
from seqselect.data.bundled import aeon_data_dir
from seqselect.data.windows import ForecastLayout, window_offsets, window_starts
from seqselect.errors import DataError
from seqselect.train import train
from seqselect.train.evaluate import evaluate_split

HORIZON, WINDOW = 12, 36


@pytest.fixture(scope="module")
def airline_model(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("forecast")
    splits = load_dataset(f"forecast:Airline?horizon={HORIZON}&window={WINDOW}")
    torch.manual_seed(0)
    model = create_model("tcn", d_input=1, d_output=HORIZON, task="regress", params=3000)
    train(model, splits, budget="40 steps", progress=False, seed=0)
    info = {"task": "forecast", "model_task": "regress", "input": forecast_input(splits.metadata)}
    export_model(model.eval(), root / "model", info=info, onnx=False)
    series = pd.read_csv(aeon_data_dir() / "Airline" / "Airline.csv")  # Date, Passengers
    csv = root / "airline.csv"
    series.to_csv(csv, index=False)
    return {"root": root, "splits": splits, "model": model, "csv": csv, "series": series}


def test_export_keeps_what_predict_needs(airline_model):
    config = json.loads((airline_model["root"] / "model" / "config.json").read_text())
    inp = config["input"]
    assert (inp["window"], inp["horizon"], inp["season_length"]) == (WINDOW, HORIZON, 12)
    assert inp["columns"] == ["Passengers"] and inp["target_columns"] == ["Passengers"]
    assert inp["offset"] == "last" and set(inp["normalization"]) == {"x_mean", "x_std"}
    assert "window_offsets" not in inp  # per-window data stays with the dataset


def test_predict_writes_the_next_horizon_values_near_the_series_level(airline_model, tmp_path):
    out = tmp_path / "next.csv"
    summary = predict_file(airline_model["root"] / "model", airline_model["csv"], out,
                           time_col="Date")
    pred = pd.read_csv(out)
    assert summary["rows"] == HORIZON and summary["series"] == 1
    assert list(pred.columns) == ["series", "step", "Passengers"]
    assert set(pred["series"]) == {"airline"}  # one series, named by the file
    assert pred["step"].tolist() == list(range(1, HORIZON + 1))
    last_year = airline_model["series"]["Passengers"].to_numpy()[-HORIZON:]
    # on the passengers' scale (hundreds), not standardised units (around 0)
    assert 0.5 * last_year.mean() < pred["Passengers"].mean() < 1.5 * last_year.mean()


def test_predicting_the_last_test_window_reproduces_its_test_prediction(airline_model, tmp_path):
    splits, model = airline_model["splits"], airline_model["model"]
    values = airline_model["series"]["Passengers"].to_numpy(dtype=np.float64)
    _, _, test_starts = window_starts(len(values), WINDOW, HORIZON, 0.15, 0.2)
    assert len(test_starts) == len(splits.test)
    # the test windows' predictions put back on the series' scale, as evaluate scores them
    layout = ForecastLayout.from_metadata(splits.metadata, d_input=1, d_output=HORIZON)
    offsets = window_offsets(splits.metadata, "test", len(splits.test))
    with torch.inference_mode():
        test_pred = layout.to_original(model.eval()(splits.test.x).numpy(), offsets)
    truth = layout.to_original(splits.test.y.numpy(), offsets)
    smape = np.mean(200 * np.abs(truth - test_pred) / (np.abs(truth) + np.abs(test_pred)))
    assert evaluate_split(model, splits, "test")["smape"] == pytest.approx(smape, rel=1e-4)
    # a file that ends where the last test window's input ends forecasts that window
    end = int(test_starts[-1]) + WINDOW
    short = tmp_path / "until-last-window.csv"
    airline_model["series"].iloc[:end].to_csv(short, index=False)
    out = tmp_path / "p.csv"
    predict_file(airline_model["root"] / "model", short, out, time_col="Date")
    got = pd.read_csv(out)["Passengers"].to_numpy()
    assert np.allclose(got, test_pred[-1], rtol=1e-4)


def test_one_forecast_per_series_in_long_form(airline_model, tmp_path):
    frame = airline_model["series"]
    both = pd.concat([frame.assign(shop="a"), frame.iloc[:-12].assign(shop="b")])
    path = tmp_path / "two.parquet"
    both.to_parquet(path, index=False)
    out = tmp_path / "two.csv"
    summary = predict_file(airline_model["root"] / "model", path, out, id_col="shop",
                           time_col="Date")
    pred = pd.read_csv(out)
    assert summary["series"] == 2 and len(pred) == 2 * HORIZON
    assert pred.groupby("shop").size().to_dict() == {"a": HORIZON, "b": HORIZON}
    # series a is the whole file: its forecast equals the one-series file's
    single = tmp_path / "one.csv"
    predict_file(airline_model["root"] / "model", airline_model["csv"], single, time_col="Date")
    a = pred[pred["shop"] == "a"]["Passengers"].to_numpy()
    assert np.allclose(a, pd.read_csv(single)["Passengers"].to_numpy(), rtol=1e-5)


def test_the_bundled_name_reads_the_same_series(airline_model):
    model, config = load_model(airline_model["root"] / "model")
    series, columns, _ = read_series("forecast:Airline", config)
    from_file, file_columns, _ = read_series(airline_model["csv"], config, time_col="Date")
    assert columns == file_columns == ["Passengers"]
    a = forecast_next(model, config, series, columns)["Airline"]
    b = forecast_next(model, config, from_file, file_columns)["airline"]  # the file's stem
    assert a.shape == (HORIZON, 1) and np.allclose(a, b)


def test_a_series_shorter_than_the_window_is_refused(airline_model, tmp_path):
    short = tmp_path / "short.csv"
    airline_model["series"].iloc[: WINDOW - 1].to_csv(short, index=False)
    with pytest.raises(DataError, match=rf"'short' has 35 steps.*last {WINDOW}"):
        predict_file(airline_model["root"] / "model", short, tmp_path / "x.csv", time_col="Date")


def test_a_file_without_the_trained_column_is_refused(airline_model, tmp_path):
    other = tmp_path / "other.csv"
    airline_model["series"].rename(columns={"Passengers": "Riders"}).to_csv(other, index=False)
    with pytest.raises(DataError, match="Passengers"):
        predict_file(airline_model["root"] / "model", other, tmp_path / "x.csv", time_col="Date")


def test_the_predict_command_writes_forecasts_and_says_how_many(airline_model, tmp_path):
    from typer.testing import CliRunner

    from seqselect.cli import app

    out = tmp_path / "next.csv"
    result = CliRunner().invoke(app, [
        "predict", str(airline_model["csv"]), "--model", str(airline_model["root"] / "model"),
        "--out", str(out), "--time", "Date",
    ])
    assert result.exit_code == 0, result.output
    assert f"(1 series x {HORIZON} steps)" in " ".join(result.output.split())  # Rich wraps
    assert len(pd.read_csv(out)) == HORIZON
