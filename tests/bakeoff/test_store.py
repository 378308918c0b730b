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
    assert len(after_kill) < 8, "the bake-off finished before it could be killed"
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
        params=2000,
        cpus_per_trial=1,
        store=db,
        run="killed",
    )
    assert result.timing["trials_resumed"] == len(after_kill)
    assert result.timing["trials_run"] == 8 - len(after_kill)
    trials = ResultsStore(db).trials("killed")
    rows = {t.key: t for t in trials if t.kind == "network"}
    assert len(rows) == 8 and all(t.status == "ok" for t in rows.values())
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
