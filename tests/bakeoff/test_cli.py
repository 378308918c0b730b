"""`seqselect bakeoff` and `seqselect report` through the CLI: output, files, bad input."""

from __future__ import annotations

import json

import pytest
from rich.console import Console
from typer.testing import CliRunner

from seqselect import list_models
from seqselect.bakeoff.records import LeaderboardRow, Protocol, Winner
from seqselect.bakeoff.result import BakeoffResult
from seqselect.baselines import list_baselines
from seqselect.cli import app
from seqselect.cli import bakeoff as bakeoff_cli

runner = CliRunner()


def test_report_json_prints_the_run_with_its_trials(finished_run):
    result = runner.invoke(
        app, ["report", "waves", "--store", str(finished_run["store"]), "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["run"] == "waves"
    protocol = doc["protocol"]
    seeds = {"trial": (0, 1)}
    if protocol["kind"] == "cv":  # every fold scored, then the two seeds refit
        seeds = {"fold": tuple(range(protocol["n_folds"])), "refit": (0, 1)}
    networks = [t for t in doc["trials"] if t["kind"] == "network"]
    assert {(t["model"], t["seed"], t["role"]) for t in networks} == {
        (m, s, r) for m in ("cnn1d", "gru") for r, ss in seeds.items() for s in ss
    }
    assert {t["model"] for t in doc["trials"] if t["kind"] == "baseline"} == {
        "minirocket", "majority"
    }
    not_ok = [(t["model"], t["seed"], t["role"], t["error"]) for t in doc["trials"]
              if t["status"] != "ok"]
    assert not not_ok
    for trial in doc["trials"]:  # selection rows are scored on validation, the rest on test
        scored = trial["val_metrics"] if trial["role"] == "fold" else trial["metrics"]
        assert "accuracy" in scored, trial
    assert doc["leaderboard"][0]["model"] == doc["winner"]["model"]
    assert {"val_accuracy", "val_accuracy_std", "accuracy", "kind"} <= set(doc["leaderboard"][0])
    assert doc["protocol"]["kind"] in ("cv", "holdout")


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
            "--baselines",
            "none",
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
    assert {"val_mse", "val_mse_std", "kind"} <= set(doc["leaderboard"][0])
    assert "protocol" in doc
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


def _wide_result() -> BakeoffResult:
    """A leaderboard with the longest names, a winning baseline, failures and an interval."""
    rows = [
        LeaderboardRow(model="minirocket", metric="accuracy", value=0.9867, std=0.0, n_seeds=3,
                       val_value=0.98, val_std=0.0112, n_val=15, train_s=0.91,
                       latency_ms=0.412, status="ok", rank=1, kind="baseline"),
        LeaderboardRow(model="multirocket_hydra", metric="accuracy", value=0.9844, std=0.004,
                       n_seeds=3, val_value=0.975, val_std=0.0112, n_val=15, train_s=3.91,
                       latency_ms=1.412, status="ok", rank=2, kind="baseline"),
        LeaderboardRow(model="cnn1d", metric="accuracy", value=0.9711, std=0.0101, n_seeds=3,
                       val_value=0.96, val_std=0.0223, n_val=15, train_s=13.8, latency_ms=0.78,
                       params=19_700, status="ok", rank=3, n_failed=1),
        LeaderboardRow(model="transformer", metric="accuracy", value=0.7422, std=0.028,
                       n_seeds=3, val_value=0.74, val_std=0.05, n_val=15, train_s=13.7,
                       latency_ms=2.01, params=19_700, status="ok", rank=4, n_diverged=2),
        LeaderboardRow(model="longformer", metric="accuracy", status="failed",
                       errors=["out of memory"], n_failed=3),
    ]
    interval = ("ahead of multirocket_hydra on validation (0.975); ahead of it by 0.00222 on "
                "test (95% paired bootstrap interval -0.0133 to 0.0178, 150 examples x 3 "
                "seed(s)): statistically tied (the interval includes 0)")
    winner = Winner(model="minirocket", metric="accuracy", kind="baseline", value=0.9867,
                    std=0.0, val_value=0.98, val_std=0.0112, latency_ms=0.412,
                    best_network="cnn1d", runner_up="multirocket_hydra",
                    excluded={"longformer": "no usable trial (failed: out of memory)"},
                    reasons=["a non-deep model wins on this data: ...", interval])
    return BakeoffResult(
        run="ucr-GunPoint-20261202-001500", dataset={"name": "ucr:GunPoint"}, profile={},
        advisor={}, metric="accuracy", leaderboard=rows, winner=winner, trials=[],
        args={"seeds": 3}, protocol=Protocol(kind="cv", n_folds=5, n_pool=50, n_val=10),
    )


def test_leaderboard_fits_80_columns_with_nothing_cut(monkeypatch):
    screen = Console(width=80, record=True, color_system=None)
    monkeypatch.setattr(bakeoff_cli, "console", screen)
    bakeoff_cli.print_result(_wide_result())
    text = screen.export_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in text  # no cell was truncated to fit
    header = next(line for line in lines if "validation" in line and "test" in line)
    assert header.index("validation") < header.index("test")
    for row in _wide_result().leaderboard:
        line = next(line for line in lines if f" {row.model} " in line)
        if row.val_value is not None:
            assert f"{row.val_value:.3f}±{row.val_std:.3f}" in line
            assert f"{row.value:.3f}±{row.std:.3f}" in line
    minirocket = next(line for line in lines if " minirocket " in line)
    assert "baseline" in minirocket and "winner" in text
    assert "Protocol: 5-fold cross-validation inside the 50 training sequences" in text
    flat = " ".join(line.strip(" │") for line in lines)
    assert "95% paired bootstrap interval -0.0133 to 0.0178" in flat


def test_bakeoff_help_lists_the_baselines():
    result = runner.invoke(app, ["bakeoff", "--help"], terminal_width=200)
    assert result.exit_code == 0 and "--baselines" in result.output
    flat = " ".join(result.output.split())
    for name in list_baselines():
        assert name in flat, name


def test_the_budget_line_names_every_phase_and_judges_the_total():
    from seqselect.cli.bakeoff import budget_line

    timing = {
        "budget_s": 60.0, "tolerance": 0.1, "total_s": 67.2, "within_budget": False,
        "trials_s": 55.0, "trials_resumed": 1,
        "actual_s": {"setup": 4.0, "baselines": 5.2, "trials": 55.0, "closing": 3.0},
    }
    line = budget_line(timing)
    assert line.startswith("The bake-off took 67.2 s of a 60 s budget (OVER budget + 10%)")
    assert "set-up 4 s, baselines 5.2 s, trials 55 s, closing 3 s; 1 trial(s)" in line
    assert "tuning" not in line  # a phase the run did not have is not named
