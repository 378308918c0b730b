"""`seqselect bakeoff` and `seqselect report` through the CLI: output, files, bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from seqselect import list_models
from seqselect.cli import app

runner = CliRunner()


def test_report_json_prints_the_run_with_its_trials(finished_run):
    result = runner.invoke(
        app, ["report", "waves", "--store", str(finished_run["store"]), "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["run"] == "waves"
    assert {(t["model"], t["seed"]) for t in doc["trials"]} == {
        (m, s) for m in ("cnn1d", "gru") for s in (0, 1)
    }
    assert all(t["status"] == "ok" and "accuracy" in t["metrics"] for t in doc["trials"])
    assert doc["leaderboard"][0]["model"] == doc["winner"]["model"]


def test_report_table_and_html(finished_run, tmp_path):
    html = tmp_path / "r.html"
    result = runner.invoke(
        app,
        ["report", "waves", "--store", str(finished_run["store"]), "--html", str(html)],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert "Winner:" in result.stdout and "cnn1d" in result.stdout and "gru" in result.stdout
    assert html.is_file() and 'id="leaderboard"' in html.read_text()
    listing = runner.invoke(
        app, ["report", "--store", str(finished_run["store"])], terminal_width=200
    )
    assert listing.exit_code == 0 and "waves" in listing.stdout


def test_report_unknown_run_exits_2(finished_run, tmp_path):
    result = runner.invoke(app, ["report", "nope", "--store", str(finished_run["store"])])
    assert (
        result.exit_code == 2
        and "no run named 'nope'" in result.output
        and "waves" in result.output
    )
    result = runner.invoke(app, ["report", "nope", "--store", str(tmp_path / "missing.db")])
    assert result.exit_code == 2 and "no such results database" in result.output


def test_bakeoff_cli_prints_leaderboard_and_writes_json_and_html(tmp_path):
    out, html = tmp_path / "r.json", tmp_path / "r.html"
    result = runner.invoke(
        app,
        [
            "bakeoff",
            "task:adding?length=12&n=120",
            "--models",
            "cnn1d",
            "--seeds",
            "1",
            "--budget",
            "2s",
            "--params",
            "2000",
            "--cpus-per-trial",
            "1",
            "--store",
            str(tmp_path / "runs.db"),
            "--run",
            "cli",
            "--json",
            str(out),
            "--html",
            str(html),
            "--max-latency-ms",
            "10000",
        ],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert "(run cli)" in result.stdout and "Winner: cnn1d" in result.stdout
    doc = json.loads(out.read_text())
    assert doc["metric"] == "mse" and doc["leaderboard"][0]["model"] == "cnn1d"
    assert {"mse", "mse_std", "train_s", "latency_ms", "peak_mb", "params"} <= set(
        doc["leaderboard"][0]
    )
    assert doc["winner"]["constraints"]["max_latency_ms"] == 10000
    assert html.read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv"], "no such file"),
        (["{csv}", "--target", "lable"], "no target column 'lable'"),
        (
            ["{csv}", "--target", "label", "--models", "lstm,resnet"],
            "unknown model(s) in --models: resnet",
        ),
        (["{csv}", "--target", "label", "--budget", "soon"], "budget 'soon'"),
        (["{csv}", "--target", "label", "--seeds", "0"], "--seeds must be >= 1"),
        (["{csv}", "--target", "label", "--executor", "slurm"], "--executor must be one of"),
    ],
)
def test_bad_input_exits_2_with_one_message(tmp_path, wave_csv, args, message):
    args = [a.replace("{csv}", str(wave_csv)) for a in args]
    result = runner.invoke(
        app, ["bakeoff", *args, "--store", str(tmp_path / "r.db")], terminal_width=300
    )
    assert result.exit_code == 2, result.output
    assert message in result.output.replace("\n", " ")
    assert "Traceback" not in result.output
    if "unknown model" in message:
        assert all(name in result.output for name in list_models())


def test_unavailable_device_exits_2(tmp_path, wave_csv):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    result = runner.invoke(
        app,
        [
            "bakeoff",
            str(wave_csv),
            "--target",
            "label",
            "--device",
            "cuda",
            "--store",
            str(tmp_path / "r.db"),
        ],
        terminal_width=300,
    )
    assert result.exit_code == 2 and "CUDA is not available" in result.output
