"""Reproducibility of a bake-off on CPU (issue 13, item 9): the same tiny bake-off run in
two separate Python processes gives identical trial metrics, and every stored trial
records its seed (and its fold and the run's protocol where the bake-off writes them).

The amount of work does not depend on the machine's speed: each trial stops at an epoch
cap (``max_epochs=3``) long before its share of a generous budget, and validates on a
fixed step cadence (``eval_every``), so the checkpoint it keeps is chosen the same way
on a fast machine and a slow one. One torch thread per trial in both processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

#: ``measure(store)`` runs the bake-off into ``store``, reads it back from the store and
#: returns its JSON; as a script it prints that for the store in argv.
SCRIPT = r"""
import json, sys
from seqselect.bakeoff import ResultsStore, bakeoff, result_from_store


def measure(store):
    options = dict(
        models="cnn1d,lstm", budget="1h", seeds=2, params=4000, max_epochs=3,
        cpus_per_trial=1, train_options={"eval_every": 2}, store=store, run="repro",
        baselines="mean",  # a baseline row is stored and compared like a trial
    )
    bakeoff("task:adding?length=16&n=120", **options)
    return result_from_store(ResultsStore(store), "repro").to_dict()


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1])))
"""

#: What a trial produced that must not depend on the process (timings excluded).
_HISTORY_TIMINGS = ("elapsed_s",)


def _fingerprint(trial: dict) -> dict:
    extra = trial.get("extra") or {}
    return {
        "status": trial["status"],
        "metrics": trial["metrics"],
        "val_metrics": trial.get("val_metrics"),
        "params": trial.get("params"),
        "steps": extra.get("steps"),
        "best_step": extra.get("best_step"),
        "predictions": trial.get("predictions"),
        "history": [
            {k: v for k, v in point.items() if k not in _HISTORY_TIMINGS}
            for point in trial.get("history") or []
        ],
    }


def _by_key(doc: dict) -> dict[str, dict]:
    """Trials keyed by what identifies one in a run: model, seed, role (and fold)."""
    return {
        f"{t['model']}/{t['seed']}/{t.get('role', 'trial')}/{t.get('fold')}": t
        for t in doc["trials"]
    }


def _start_child(store: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, store],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def _in_this_process(store: str) -> dict:
    namespace: dict = {"__name__": "reproducible"}
    exec(compile(SCRIPT, "<reproducible>", "exec"), namespace)
    return json.loads(json.dumps(namespace["measure"](store)))


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[dict, dict]:
    """The same bake-off in this process and, at the same time, in a fresh one."""
    folder = tmp_path_factory.mktemp("repro")
    child = _start_child(str(folder / "child.db"))
    here = _in_this_process(str(folder / "here.db"))
    out, err = child.communicate(timeout=600)
    assert child.returncode == 0, err[-2000:]
    return here, json.loads(out.strip().splitlines()[-1])


def _networks(doc: dict) -> list[dict]:
    return [t for t in doc["trials"] if t.get("kind", "network") == "network"]


def _first(doc: dict, model: str, seed: int) -> dict:
    return next(t for t in _networks(doc) if t["model"] == model and t["seed"] == seed)


def test_two_processes_give_identical_trials(two_runs):
    here, there = two_runs
    mine, theirs = _by_key(here), _by_key(there)
    networks = _networks(here)
    assert {t["model"] for t in networks} == {"cnn1d", "lstm"}
    assert {t["seed"] for t in networks if t["role"] != "fold"} == {0, 1}
    for trial in networks:  # fold trials are scored on their fold, the others on test
        scored = trial["val_metrics"] if trial["role"] == "fold" else trial["metrics"]
        assert trial["status"] == "ok" and scored["mse"] > 0, trial
    assert sorted(mine) == sorted(theirs)
    for key, trial in mine.items():
        # json.dumps writes floats with repr: equal text means bit-identical values.
        assert json.dumps(_fingerprint(trial), sort_keys=True) == json.dumps(
            _fingerprint(theirs[key]), sort_keys=True
        ), key
    # The epoch cap, not the clock, ended training (else the work would depend on speed).
    assert all((t.get("extra") or {}).get("stopped_by") != "seconds" for t in networks)
    # Two seeds of one model are two different runs, not one run recorded twice.
    assert _first(here, "lstm", 0)["val_metrics"] != _first(here, "lstm", 1)["val_metrics"]


def test_every_stored_trial_records_its_seed_fold_and_protocol(two_runs):
    for doc in two_runs:
        assert doc["trials"]
        for trial in doc["trials"]:
            assert isinstance(trial["seed"], int)
            if trial.get("role") == "fold":  # a selection run names the fold it scored on
                assert isinstance(trial.get("fold"), int)
        # two models x two seeds tested; under cross-validation every fold scored first
        tested = [t["seed"] for t in _networks(doc) if t["role"] != "fold"]
        assert sorted(tested) == [0, 0, 1, 1]
        if doc["protocol"]["kind"] == "cv":
            folds = sorted(t["fold"] for t in _networks(doc) if t["role"] == "fold")
            assert folds == sorted(list(range(doc["protocol"]["n_folds"])) * 2)
        # The protocol (its kind, folds and fold seed) is written with every result.
        assert doc["protocol"]["kind"] in ("holdout", "cv")
        if doc["protocol"]["kind"] == "cv":
            assert doc["protocol"]["n_folds"] >= 2 and isinstance(doc["protocol"]["fold_seed"], int)
