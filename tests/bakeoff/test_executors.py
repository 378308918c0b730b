"""`--jobs N`: trials in N spawned worker processes, threads divided among them."""

from __future__ import annotations

import pytest

from seqselect.bakeoff import ResultsStore, bakeoff
from seqselect.bakeoff.executors import LocalExecutor, default_threads, usable_cores
from seqselect.errors import SeqSelectError


@pytest.mark.slow
def test_two_jobs_run_trials_in_worker_processes(tmp_path):
    result = bakeoff(
        "task:adding?length=12&n=120", models="cnn1d,gru", seeds=1, budget="3s", params=2000,
        jobs=2, store=tmp_path / "runs.db", run="jobs",
    )
    env = result.environment
    assert env["executor"] == "local" and env["slots"] == 2
    assert env["threads_per_trial"] == max(1, usable_cores() // 2) or "busy" in env["threads_reason"]
    trials = ResultsStore(tmp_path / "runs.db").trials("jobs")
    assert sorted((t["model"], t["status"]) for t in trials) == [("cnn1d", "ok"), ("gru", "ok")]
    # Both trials ran in the same wave: each got the whole 3 s share, not half of it.
    assert all(t["extra"]["budget_s"] > 1.5 for t in trials)


def test_threads_are_divided_among_parallel_trials():
    threads, why = default_threads(1)
    assert 1 <= threads <= usable_cores() and why
    assert default_threads(10**6)[0] == 1
    with pytest.raises(SeqSelectError, match="--jobs"):
        LocalExecutor(jobs=0)
