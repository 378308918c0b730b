"""``seqselect bakeoff --tune``: the search's rules (validation only, replay, pruning),
a tuned bake-off whose seeds train the chosen configuration, and a real SIGKILL resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seqselect.bakeoff.protocol import choose_protocol
from seqselect.bakeoff.records import Protocol
from seqselect.bakeoff.tune import _tried, choose, parse_tune, replay
from seqselect.bakeoff.tune_store import ConfigRow, TuneStore
from seqselect.bakeoff.tune_worker import _pruning_trial, search_splits
from seqselect.errors import SeqSelectError
from seqselect.models.search_spaces import TRAIN_SPACE, search_space

SRC = Path(__file__).resolve().parents[2] / "src"


def test_parse_tune():
    assert parse_tune(None) is None and parse_tune("none") is None
    assert parse_tune("auto") == "auto" and parse_tune("4") == 4
    for bad in ("-1", "many", "2.5"):
        with pytest.raises(SeqSelectError, match="--tune"):
            parse_tune(bad)


def test_search_space_keeps_only_the_config_fields():
    names = [p.name for p in search_space("gru", {"d_model": 8, "n_layers": 2, "dropout": 0.0})]
    assert names == ["lr", "weight_decay", "dropout", "n_layers"]
    # a config without dropout/n_layers searches the optimiser only
    assert search_space("gru", {"d_model": 8}) == TRAIN_SPACE
    # the family's own: a sparse Transformer's window, an SSM's state size
    longformer = {"dropout": 0.1, "n_layers": 2, "window": 32, "n_heads": 4}
    assert [p.name for p in search_space("longformer", longformer)][-1] == "window"
    assert "d_state" in [p.name for p in search_space("mamba", {"d_state": 16})]


def _splits(wave_csv):
    from seqselect.data import load_dataset

    return load_dataset(str(wave_csv), target="label")


def test_search_never_sees_the_test_split(wave_csv):
    splits = _splits(wave_csv)
    cv = choose_protocol(splits, 1)
    assert cv.kind == "cv"  # 120 rows: small data
    for protocol in (cv, Protocol(kind="holdout")):
        data = search_splits(splits, protocol)
        assert len(data.test) == 0 and len(data.val) > 0
        # every searched row is a training-pool row: none equals a test row
        test_rows = {tuple(r.flatten().tolist()) for r in splits.test.x}
        assert not any(tuple(r.flatten().tolist()) in test_rows for r in data.val.x)


def test_replay_and_choice_follow_validation():
    space = search_space("gru", {"n_layers": 2, "dropout": 0.0})
    rows = [
        ConfigRow("gru", 0, "COMPLETE", {"lr": 1e-3, "weight_decay": 0.01}, 0.7, {0: 0.6, 1: 0.7}),
        ConfigRow("gru", 1, "PRUNED", {"lr": 5e-3, "weight_decay": 0.02}, 0.3, {0: 0.3, 1: 0.3}),
        ConfigRow("gru", 2, "COMPLETE", {"lr": 2e-3, "weight_decay": 0.03}, 0.9, {0: 0.9}),
        ConfigRow("gru", 3, "FAIL", {"lr": 9e-3, "weight_decay": 0.05}, None, {}),
    ]
    study = replay(rows, space, "maximize", seed=1)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "PRUNED", "COMPLETE", "FAIL"]
    assert study.best_trial.params["lr"] == 2e-3
    choice = choose(rows, "gru", higher=True)
    assert choice.number == 2 and choice.train_options == {"lr": 2e-3, "weight_decay": 0.03}
    assert choice.n_configs == 4 and choice.n_pruned == 1
    assert _tried(rows, {"lr": 1e-3}) and not _tried(rows, {"lr": 3e-3})
    assert choose(rows, "gru", higher=False).number == 0  # lower is better: 0.7 < 0.9


def test_worker_pruner_is_optunas_median_rule():
    finished = [
        {"state": "COMPLETE", "value": 0.9, "intermediate": {s: 0.8 + s / 100 for s in range(5)}},
        {"state": "COMPLETE", "value": 0.8, "intermediate": {s: 0.7 + s / 100 for s in range(5)}},
    ]
    tune = {"direction": "maximize", "pruner": "median", "finished": finished}
    bad = _pruning_trial(tune)
    for step in range(3):
        bad.report(0.5, step)
        assert not bad.should_prune()  # warm-up: the first three validation points
    bad.report(0.5, 3)
    assert bad.should_prune()  # below the median (0.78) at step 3
    good = _pruning_trial(tune)
    for step in range(4):
        good.report(0.95, step)
    assert not good.should_prune()


@pytest.mark.slow
def test_tuned_bakeoff_seeds_train_the_chosen_configuration(tmp_path, wave_csv):
    from seqselect.bakeoff import bakeoff

    store = tmp_path / "runs.db"
    result = bakeoff(
        str(wave_csv), target="label", models="cnn1d,gru", budget="12s", seeds=1,
        params=2000, cpus_per_trial=1, store=store, run="tuned", tune=3, baselines="none",
    )
    rows = TuneStore(store).rows("tuned")
    assert {r.model for r in rows} == {"cnn1d", "gru"}
    for model in ("cnn1d", "gru"):
        mine = [r for r in rows if r.model == model]
        assert 1 <= len(mine) <= 3
        assert mine[0].params["lr"] == pytest.approx(3e-3)  # the recipe's defaults first
        chosen = result.tuning[model]["chosen"]
        best = max((r for r in mine if r.state == "COMPLETE"), key=lambda r: r.value)
        assert chosen["number"] == best.number
        for trial in result.trials:
            if trial.model == model and trial.role in ("refit", "trial"):
                assert trial.extra["config"] == best.config
    doc = result.to_dict()
    assert set(doc["tuning"]) == {"cnn1d", "gru"}
    assert "tune" in doc["timing"]["actual_s"]
    # the leaderboard's chosen configurations (seqselect report reads them from the store)
    from typer.testing import CliRunner

    from seqselect.cli import app
    from seqselect.report import render_html

    shown = CliRunner().invoke(app, ["report", "tuned", "--store", str(store)],
                               terminal_width=80)
    assert shown.exit_code == 0, shown.output
    assert "chosen configurations" in shown.stdout and "lr=" in shown.stdout
    page = render_html(result)
    assert "Hyper-parameter search (--tune)" in page and "Search history" in page


def _command(store: Path, csv: Path) -> list[str]:
    return [
        sys.executable, "-m", "seqselect", "bakeoff", str(csv), "--target", "label",
        "--models", "cnn1d,gru", "--budget", "14s", "--seeds", "1", "--params", "2000",
        "--cpus-per-trial", "1", "--baselines", "none", "--store", str(store),
        "--run", "killed", "--tune", "4", "--quiet", "--json", "-",
    ]


def _stored(store: Path) -> list[tuple]:
    if not store.exists():
        return []
    try:
        con = sqlite3.connect(store, timeout=5)
        try:
            return con.execute(
                "SELECT model, number, state, params, finished FROM tune_configs "
                "ORDER BY model, number"
            ).fetchall()
        finally:
            con.close()
    except sqlite3.OperationalError:  # the table is not there yet
        return []


@pytest.mark.slow
def test_sigkill_resumes_the_search_without_repeating(tmp_path, wave_csv):
    store = tmp_path / "runs.db"
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen(_command(store, wave_csv), env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    before: list[tuple] = []
    while not before and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.1)
        before = _stored(store)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    before = _stored(store)
    assert before, "no configuration finished before the kill"
    second = subprocess.run(_command(store, wave_csv), env=env, capture_output=True,
                            text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    after = _stored(store)
    assert set(before) <= set(after)  # every finished configuration kept as it was
    for model in ("cnn1d", "gru"):
        mine = [r for r in after if r[0] == model]
        assert len(mine) <= 4  # the search's N counts the kept configurations
        assert len({r[3] for r in mine}) == len(mine)  # no configuration repeated
        assert len({r[1] for r in mine}) == len(mine)
    doc = json.loads(second.stdout)
    assert doc["run"] == "killed" and set(doc["tuning"]) <= {"cnn1d", "gru"}
    con = sqlite3.connect(store)
    assert con.execute("SELECT finished FROM runs WHERE name='killed'").fetchone()[0]
    con.close()


class _Unreadable:
    """A test split that fails on any use: a configuration must never touch it."""

    def __getattr__(self, name):
        raise AssertionError(f"the search read the test split ({name})")

    def __len__(self):
        raise AssertionError("the search read the test split (len)")


@pytest.mark.parametrize("kind", ["cv", "holdout"])
def test_a_configuration_trains_without_the_test_split(wave_csv, kind):
    from dataclasses import replace

    from seqselect.bakeoff.trial import TrialSpec
    from seqselect.bakeoff.tune_worker import run_config

    splits = _splits(wave_csv)
    protocol = choose_protocol(splits, 1) if kind == "cv" else Protocol(kind="holdout")
    poisoned = replace(splits, test=_Unreadable())
    spec = TrialSpec(
        run="r", model="gru", seed=0, train_seconds=0.5, params=2000, max_epochs=3,
        train_options={"lr": 3e-3}, role="tune", protocol=protocol.to_dict(),
        tune={"number": 0, "params": {"lr": 3e-3}, "model_params": {"n_layers": 1},
              "direction": "maximize", "pruner": "median", "finished": []},
    )
    trial = run_config(spec, poisoned)
    assert trial.status == "ok", trial.error
    assert trial.extra["state"] == "COMPLETE" and trial.extra["intermediate"]
    assert trial.extra["config"]["n_layers"] == 1
