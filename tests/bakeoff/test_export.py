"""Export (safetensors + config.json + ONNX checked against torch), loading without
unpickling, and `seqselect predict` on a user file."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from seqselect import create_model
from seqselect.bakeoff.export import check_onnx, export_model, load_model
from seqselect.cli import app
from seqselect.errors import SeqSelectError

runner = CliRunner()


def test_export_folder_holds_weights_config_and_checked_onnx(finished_run):
    folder = finished_run["root"] / "model"
    config = json.loads((folder / "config.json").read_text())
    model, seed = finished_run["result"].exported_choice()  # a baseline may win: not exported
    assert config["model"] == model and config["seed"] == seed
    assert model in ("cnn1d", "gru")
    assert config["class_names"] == ["down", "up"]
    assert config["target"] == "label" and config["task"] == "classify"
    assert (folder / "model.safetensors").is_file()
    assert config["onnx"]["status"] == "ok", config["onnx"]
    assert config["onnx"]["max_abs_diff"] <= 1e-4
    assert (folder / "model.onnx").is_file()
    assert finished_run["result"].to_dict()["export"]["onnx"]["status"] == "ok"


def test_loading_never_unpickles(finished_run, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("unpickling attempted")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    model, config = load_model(finished_run["root"] / "model")
    assert not model.training
    x = torch.randn(3, 16, 1)
    assert model(x).shape == (3, 2)


@pytest.mark.parametrize("name", ["tcn", "lstm", "transformer"])
def test_export_round_trip_is_exact(tmp_path, name):
    # tcn: weight-norm parametrizations; lstm: fused RNN weights; transformer: attention.
    model = create_model(name, d_input=2, d_output=3, params=4000).eval()
    config = export_model(model, tmp_path / name, info={"task": "classify"}, onnx=name == "lstm")
    loaded, _ = load_model(tmp_path / name)
    x = torch.randn(4, 10, 2)
    with torch.inference_mode():
        assert torch.equal(model(x), loaded(x))
    if name == "lstm":  # an RNN through the ONNX check (the run's winner covers a CNN or GRU)
        assert config["onnx"]["status"] == "ok", config["onnx"]


def test_onnx_failure_is_recorded_not_raised(tmp_path):
    class NoExport(torch.nn.Module):
        def forward(self, x, mask=None):
            # Leaves torch: the tracer freezes the value as a constant, which the check's
            # second input (another batch, length and values) exposes.
            return torch.tensor(np.asarray(x.sum()))

    model = NoExport()
    model.spec = create_model("cnn1d", d_input=1, d_output=2, params=2000).spec
    report = check_onnx(
        model, tmp_path / "m.onnx", example=torch.randn(2, 5, 1), exporters=("torchscript",)
    )
    assert report["status"] == "failed" and report["error"]
    assert not (tmp_path / "m.onnx").exists()


def test_load_rejects_a_folder_that_is_not_an_export(tmp_path):
    with pytest.raises(SeqSelectError, match="config.json"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text('{"format": "other"}')
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(SeqSelectError, match="not a seqselect model config"):
        load_model(tmp_path)


def test_predict_writes_one_prediction_per_row(finished_run, tmp_path):
    out = tmp_path / "pred.csv"
    result = runner.invoke(
        app,
        [
            "predict",
            "--model",
            str(finished_run["root"] / "model"),
            str(finished_run["csv"]),
            "--target",
            "label",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    pred = pd.read_csv(out)
    source = pd.read_csv(finished_run["csv"])
    assert len(pred) == len(source)
    assert set(pred["prediction"]) <= {"up", "down"}
    assert np.allclose(pred["p_up"] + pred["p_down"], 1.0, atol=1e-5)
    assert (pred["prediction"] == source["label"]).mean() > 0.6  # the model learned something
    # Without the target column: the same predictions.
    bare = tmp_path / "bare.csv"
    source.drop(columns=["label"]).to_csv(bare, index=False)
    out2 = tmp_path / "pred2.parquet"
    result = runner.invoke(
        app,
        ["predict", "--model", str(finished_run["root"] / "model"), str(bare), "--out", str(out2)],
    )
    assert result.exit_code == 0, result.output
    assert list(pd.read_parquet(out2)["prediction"]) == list(pred["prediction"])


def test_predict_bad_input_exits_2(finished_run, tmp_path):
    model_dir = str(finished_run["root"] / "model")
    missing = runner.invoke(
        app,
        [
            "predict",
            "--model",
            model_dir,
            str(tmp_path / "nope.csv"),
            "--out",
            str(tmp_path / "o.csv"),
        ],
    )
    assert missing.exit_code == 2 and "no such file" in missing.output
    no_model = runner.invoke(
        app,
        [
            "predict",
            "--model",
            str(tmp_path),
            str(finished_run["csv"]),
            "--out",
            str(tmp_path / "o.csv"),
        ],
    )
    assert no_model.exit_code == 2 and "config.json" in no_model.output


def test_forecast_input_keeps_the_window_layout_and_a_bare_export_is_flagged(tmp_path, caplog):
    from seqselect.bakeoff.export import FORECAST_INPUT_KEYS, forecast_input
    from seqselect.data import load_dataset

    splits = load_dataset("forecast:Uschange?horizon=4&window=16", target="Income")
    inp = forecast_input(splits.metadata)
    assert set(inp) <= set(FORECAST_INPUT_KEYS) and "window_offsets" not in inp
    assert inp["target_columns"] == ["Income"] and inp["season_length"] == 4
    assert len(inp["columns"]) == 5 and (inp["window"], inp["horizon"]) == (16, 4)
    json.dumps(inp)  # JSON-ready
    model = create_model("tcn", d_input=5, d_output=4, task="regress", params=3000)
    with caplog.at_level("WARNING"):
        export_model(model, tmp_path / "bare", info={"task": "forecast", "input": {}}, onnx=False)
    assert "predict will refuse it" in caplog.text
