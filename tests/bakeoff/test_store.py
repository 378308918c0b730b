"""The store is transactional: a bake-off killed with SIGKILL loses no finished trial,
and the same command resumes it.

A real subprocess runs ``seqselect bakeoff``; once the store holds a finished trial the
test kills it with SIGKILL (no cleanup, no atexit), checks the finished trials, then
re-runs the same ``--run`` and checks they are kept, not repeated.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from seqselect.bakeoff import ResultsStore, bakeoff
from seqselect.bakeoff.records import Trial
from seqselect.errors import SeqSelectError

DATA = "task:adding?length=16&n=160"


def _finished(db, kind: str = "network") -> list[tuple]:
    """Finished ``(model, seed, role, status, metrics, val_metrics, finished)`` rows."""
    if not db.exists():
        return []
    try:
        con = sqlite3.connect(db, timeout=5)
        try:
            return con.execute(
                "SELECT model, seed, role, status, metrics, val_metrics, finished FROM trials "
                "WHERE status IN ('ok', 'diverged') AND kind = ?", (kind,)
            ).fetchall()
        finally:
            con.close()
    except sqlite3.OperationalError:  # the tables are not there yet
        return []


def test_sigkill_keeps_finished_trials_and_resume_skips_them(tmp_path):
    db = tmp_path / "runs.db"
    cmd = [
        sys.executable,
        "-c",
        "from seqselect.cli import main; main()",
        "bakeoff",
        DATA,
        "--models",
        "cnn1d,gru",
        "--seeds",
        "2",
        "--budget",
        "6s",
        "--params",
        "2000",
        "--cpus-per-trial",
        "1",
        "--store",
        str(db),
        "--run",
        "killed",
        "--quiet",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not _finished(db):
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.1)
        before = _finished(db)
        assert before, "no trial finished in time"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # The finished trials are intact after the kill (a fresh connection, WAL recovered).
    after_kill = _finished(db)
    assert set(before) <= set(after_kill)
    assert len(after_kill) < 10, "the bake-off finished before it could be killed"
    # Small data: cross-validation. A fold trial is scored on its fold (validation
    # metrics, no test); a refit is tested.
    for _model, _seed, role, status, metrics, val_metrics, finished in after_kill:
        scored = val_metrics if role == "fold" else metrics
        assert status == "ok" and "mse" in scored and finished
    baselines_before = _finished(db, "baseline")
    assert baselines_before, "the baselines run first and are stored as rows"

    # The same run again: kept trials are not repeated, the rest run.
    result = bakeoff(
        DATA,
        models="cnn1d,gru",
        seeds=2,
        budget="6s",
        trim_to_budget=False,  # seed counts are asserted; budget_fit has its own tests
        params=2000,
        cpus_per_trial=1,
        store=db,
        run="killed",
    )
    assert result.timing["trials_resumed"] == len(after_kill)
    # 2 models x (3 folds + 2 refits)
    assert result.timing["trials_run"] == 10 - len(after_kill)
    trials = ResultsStore(db).trials("killed")
    rows = {t.key: t for t in trials if t.kind == "network"}
    assert len(rows) == 10 and all(t.status == "ok" for t in rows.values())
    for model, seed, role, *_, finished in after_kill:
        assert rows[(model, seed, role)].finished == finished  # untouched, not re-run
    baselines = {t.key: t for t in trials if t.kind == "baseline"}
    for model, seed, role, *_, finished in baselines_before:
        assert baselines[(model, seed, role)].finished == finished


def test_a_trial_round_trips_through_the_store(tmp_path):
    db = ResultsStore(tmp_path / "runs.db")
    db.create_run("r", dataset="d", args={}, profile={}, advisor={}, environment={})
    db.start_trial("r", "gru", 0)
    assert [t.status for t in db.trials("r")] == ["running"]
    assert db.finished_trials("r") == set()
    trial = Trial(
        run="r",
        model="gru",
        seed=0,
        status="ok",
        metrics={"accuracy": 0.75},
        val_metrics={"accuracy": 0.5},
        train_s=1.0,
        history=[{"step": 1}],
        extra={"epochs": 2},
        started="t0",
        finished="t1",
    )
    db.finish_trial("r", trial)
    stored = db.trials("r")[0]
    assert stored == trial  # validation metrics included
    assert db.finished_trials("r") == {("gru", 0, "trial")}
    assert {(m["split"], m["value"]) for m in db.metric_rows("r")} == {("test", 0.75), ("val", 0.5)}


def test_a_folder_is_not_a_store(tmp_path):
    with pytest.raises(SeqSelectError, match="is a folder"):
        ResultsStore(tmp_path)


def test_scaling_cells_from_the_bench_round_trip_through_the_store(tmp_path):
    from seqselect.bakeoff.records import ScalingCell
    from seqselect.bench import BenchCell
    from seqselect.report import plots

    bench = [
        BenchCell(model="tcn", length=n, batch=8, mode="infer", status="ok", params=900,
                  time_ms=0.5 * n, peak_mb=2.0 + n / 100, flops=1000 * n)
        for n in (16, 64)
    ]
    bench.append(BenchCell(model="lstm", length=64, batch=8, mode="infer", status="oom",
                           error="out of memory"))
    db = ResultsStore(tmp_path / "runs.db")
    db.add_bench_cells("r", [ScalingCell.from_bench(cell) for cell in bench])
    stored = db.bench_cells("r")
    assert [(c.model, c.length, c.status, c.ms) for c in stored] == [
        ("tcn", 16, "ok", 8.0), ("tcn", 64, "ok", 32.0), ("lstm", 64, "oom", None)
    ]
    assert stored[0].extra == {"flops": 16000} and stored[2].extra == {"error": "out of memory"}
    assert stored[0].run == "r" and stored[0].created
    assert ScalingCell.from_dict(stored[1].to_dict()) == stored[1]
    assert plots.scaling(stored)[:4] == b"\x89PNG"
    assert plots.scaling(stored[2:]) is None  # no finished cell: no plot


_V1_SCHEMA = """
CREATE TABLE runs (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, dataset TEXT NOT NULL,
    args TEXT NOT NULL DEFAULT '{}', profile TEXT NOT NULL DEFAULT '{}',
    advisor TEXT NOT NULL DEFAULT '{}', environment TEXT NOT NULL DEFAULT '{}', summary TEXT,
    created TEXT NOT NULL, finished TEXT);
CREATE TABLE trials (id INTEGER PRIMARY KEY, run TEXT NOT NULL REFERENCES runs(name),
    model TEXT NOT NULL, seed INTEGER NOT NULL, status TEXT NOT NULL,
    metrics TEXT NOT NULL DEFAULT '{}', train_s REAL, latency_ms REAL, batch_latency_ms REAL,
    step_latency_ms REAL, peak_mb REAL, params INTEGER, history TEXT NOT NULL DEFAULT '[]',
    extra TEXT NOT NULL DEFAULT '{}', error TEXT, weights TEXT, started TEXT, finished TEXT,
    UNIQUE (run, model, seed));
CREATE TABLE metrics (id INTEGER PRIMARY KEY, run TEXT NOT NULL, model TEXT NOT NULL,
    seed INTEGER NOT NULL, split TEXT NOT NULL, name TEXT NOT NULL, value REAL,
    UNIQUE (run, model, seed, split, name));
CREATE TABLE bench_cells (id INTEGER PRIMARY KEY, run TEXT NOT NULL, model TEXT NOT NULL,
    length INTEGER, mode TEXT, batch INTEGER, status TEXT NOT NULL, ms REAL, peak_mb REAL,
    params INTEGER, extra TEXT NOT NULL DEFAULT '{}', created TEXT NOT NULL);
INSERT INTO runs (name, dataset, created) VALUES ('old', 'd', 't');
INSERT INTO trials (run, model, seed, status, metrics, history, extra, finished)
    VALUES ('old', 'gru', 0, 'ok', '{"accuracy": 0.75}', '[{"step": 1}]', '{"epochs": 2}', 't1'),
           ('old', 'gru', 1, 'running', '{}', '[]', '{}', NULL);
INSERT INTO metrics (run, model, seed, split, name, value)
    VALUES ('old', 'gru', 0, 'test', 'accuracy', 0.75);
"""


def test_an_old_store_is_migrated_when_opened(tmp_path):
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.executescript(_V1_SCHEMA)
    con.commit()
    con.close()
    db = ResultsStore(path)
    old = db.trials("old")
    assert [(t.model, t.seed, t.role, t.kind, t.status) for t in old] == [
        ("gru", 0, "trial", "network", "ok"), ("gru", 1, "trial", "network", "running"),
    ]
    assert old[0].metrics == {"accuracy": 0.75} and old[0].extra == {"epochs": 2}
    assert db.finished_trials("old") == {("gru", 0, "trial")}
    assert db.metric_rows("old")[0]["role"] == "trial"
    assert db.protocol("old") == (None, None)  # stored before protocols were
    # The migrated store takes today's rows: a fold and a refit of the same (model, seed).
    for role in ("fold", "refit"):
        db.finish_trial("old", Trial(model="gru", seed=0, status="ok", role=role))
    assert len(db.trials("old")) == 4
    assert len(ResultsStore(path).trials("old")) == 4  # opening it again changes nothing


def test_a_store_from_before_validation_losses_gains_the_column(tmp_path):
    path = tmp_path / "runs.db"
    db = ResultsStore(path)
    db.create_run("r", dataset="d", args={}, profile={}, advisor={}, environment={})
    db.finish_trial("r", Trial(model="gru", seed=0, status="ok", role="fold", fold=0))
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE trials DROP COLUMN val_losses")  # as the store was before
    con.commit()
    con.close()
    reopened = ResultsStore(path)
    assert reopened.trials("r")[0].val_losses is None  # an old trial: none kept
    fold = Trial(model="tcn", seed=0, status="ok", role="fold", fold=0,
                 val_losses=[0.25, 1.5, 0.125])
    reopened.finish_trial("r", fold)
    assert {t.model: t.val_losses for t in reopened.trials("r")} == {
        "gru": None, "tcn": [0.25, 1.5, 0.125]}


def test_roles_kinds_predictions_and_the_protocol_round_trip(tmp_path):
    from seqselect.bakeoff.records import Protocol

    db = ResultsStore(tmp_path / "runs.db")
    db.create_run("r", dataset="d", args={}, profile={}, advisor={}, environment={})
    fold = Trial(
        model="minirocket", seed=1, status="ok", kind="baseline", role="fold", fold=1,
        val_metrics={"accuracy": 0.9},
    )
    fold = replace(fold, val_losses=[0.5, 0.25])
    refit = replace(fold, role="refit", fold=None, val_metrics={}, metrics={"accuracy": 0.8},
                    predictions=[0, 2, 1], val_losses=None)
    db.finish_trial("r", fold)
    db.finish_trial("r", refit)
    stored = {t.key: t for t in db.trials("r")}
    assert stored[fold.key].val_metrics == fold.val_metrics and stored[fold.key].fold == 1
    assert stored[fold.key].val_losses == [0.5, 0.25] and stored[refit.key].val_losses is None
    assert stored[refit.key].predictions == [0, 2, 1] and stored[refit.key].kind == "baseline"
    # Re-recording the refit keeps the fold's validation metric rows.
    db.finish_trial("r", refit)
    rows = {(m["role"], m["split"]) for m in db.metric_rows("r")}
    assert rows == {("fold", "val"), ("refit", "test")}
    protocol = Protocol(kind="cv", n_folds=5, n_pool=75, n_val=15, restore_best=False)
    db.save_protocol("r", protocol, [0, 1, 2])
    assert db.protocol("r") == (protocol, [0, 1, 2])
    assert db.get_run("r")["protocol"] == protocol.to_dict()
