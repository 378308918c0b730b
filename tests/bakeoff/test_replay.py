"""A wall-clock bake-off repeated exactly in another process (issue 13, item 9).

Under ``--budget`` each trial trains for as many steps as its share buys on this machine
at that moment, so two runs of the same command differ a little. Every network trial
records what its clock decided; ``bakeoff(data, replay=RUN)`` redoes that work. The
original runs in a fresh Python process on a seconds budget (classification, stratified
cross-validation, refits, MiniRocket and the majority floor); this process replays it
from the store, and every trial's metrics, predictions, per-sequence validation losses
and history must be bit-identical.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from seqselect.bakeoff import ResultsStore, bakeoff, result_from_store
from seqselect.bakeoff.replay import compare_runs, replay_options, stored_fit
from seqselect.cli import app
from seqselect.errors import SeqSelectError

DATA = "ucr:ItalyPowerDemand"
SCRIPT = r"""
import sys
from seqselect.bakeoff import bakeoff
bakeoff(sys.argv[1], models="cnn1d,lstm", budget="12s", seeds=2, store=sys.argv[2],
        run="original")
"""


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    store = str(tmp_path_factory.mktemp("replay") / "runs.db")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.run([sys.executable, "-c", SCRIPT, DATA, store], env=env,
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-2000:]
    result = bakeoff(DATA, replay="original", store=store)
    db = ResultsStore(store)
    return db, result


def test_the_replay_repeats_every_trial_to_the_bit(replayed):
    db, result = replayed
    before, after = db.trials("original"), db.trials("original-replay")
    networks = [t for t in before if t.kind == "network"]
    # the clock ended the original's fold trials (and so chose its refits' epochs): their
    # work was what this machine did in its shares, not a fixed number
    assert {t.extra.get("stopped_by") for t in networks if t.role == "fold"} == {"seconds"}
    assert {t.role for t in networks} == {"fold", "refit"}
    assert {t.model for t in before if t.kind == "baseline"} >= {"minirocket", "majority"}
    check = compare_runs("original", "original-replay", before, after)
    assert check.ok, check.sentence()
    assert len(check.identical) == len(before) and not check.not_replayed
    assert all(t.extra.get("replayed") for t in after if t.kind == "network")
    # the two runs' decisions agree too: the same ranking, the same winner
    original = result_from_store(db, "original")
    assert [r.model for r in result.leaderboard] == [r.model for r in original.leaderboard]
    assert result.winner.model == original.winner.model
    assert result.exported_choice() == original.exported_choice()


def test_the_replay_records_where_it_came_from(replayed):
    db, _ = replayed
    assert db.get_run("original-replay")["args"]["replay_of"] == "original"


def test_a_replay_needs_a_stored_untuned_run_of_the_same_data():
    with pytest.raises(SeqSelectError, match="no run named 'nope'"):
        replay_options(None, "nope", DATA)
    with pytest.raises(SeqSelectError, match="was tuned"):
        replay_options({"args": {"tune": 8, "data": DATA}}, "t", DATA)
    with pytest.raises(SeqSelectError, match="not 'ucr:GunPoint'"):
        replay_options({"args": {"data": DATA}}, "r", "ucr:GunPoint")
    # a run whose budget fit left 1 of 3 seeds and dropped s4: the replay asks for the 3
    # seeds (the baselines fit them all) and applies the same fit to the networks
    stored = {"args": {"data": DATA, "models": ["tcn", "lstm", "s4"], "seeds": 1,
                       "seeds_requested": 3, "budget_fit": {"seeds": 1, "dropped": ["s4"]}}}
    options = replay_options(stored, "r", DATA)
    assert options["models"] == ["tcn", "lstm", "s4"] and options["seeds"] == 3
    assert stored_fit(stored) == {"seeds": 1, "dropped": ["s4"]}
    assert stored_fit({"args": {}}) is None


def test_the_cli_replays_a_run_and_says_it_is_identical(replayed):
    db, _ = replayed
    out = CliRunner().invoke(app, [
        "bakeoff", DATA, "--replay", "original", "--store", str(db.path), "--run", "by-cli",
        "--json", "-", "--quiet",
    ])
    assert out.exit_code == 0, out.output
    check = json.loads(out.stdout)["replay_check"]
    assert check["ok"] and check["original"] == "original" and check["replay"] == "by-cli"
    assert len(check["identical"]) == len(db.trials("original"))


def test_the_cli_refuses_to_replay_an_unknown_run(replayed):
    db, _ = replayed
    out = CliRunner().invoke(app, ["bakeoff", DATA, "--replay", "nope", "--store", str(db.path)])
    assert out.exit_code == 2 and "no run named 'nope'" in out.output
