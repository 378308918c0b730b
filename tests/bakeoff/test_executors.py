"""Executors: `--jobs N` (trials in N spawned worker processes, threads divided among
them) and Ray (an optional extra)."""

from __future__ import annotations

import importlib.util
import itertools
import os

import pytest

from seqselect.bakeoff import ResultsStore, bakeoff
from seqselect.bakeoff.executors import LocalExecutor, RayExecutor, default_threads
from seqselect.errors import SeqSelectError
from seqselect.system import usable_cores

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="Ray is an optional extra: pip install 'seqselect[ray]'",
)


@pytest.mark.slow
def test_two_jobs_run_trials_in_worker_processes(tmp_path):
    events = []
    result = bakeoff(
        "task:adding?length=12&n=120",
        models="cnn1d,gru",
        seeds=1,
        budget="3s",
        params=2000,
        jobs=2,
        baselines="none",
        store=tmp_path / "runs.db",
        run="jobs",
        on_event=lambda kind, payload: events.append((kind, payload)),
    )
    env = result.environment
    assert env["executor"] == "local" and env["slots"] == 2
    assert (
        env["threads_per_trial"] == max(1, usable_cores() // 2) or "busy" in env["threads_reason"]
    )
    trials = ResultsStore(tmp_path / "runs.db").trials("jobs")
    # Small data: cross-validation, every fold (one seed: seeds 0 .. k-1 on folds 0 ..
    # k-1) then a refit per model.
    setup = next(payload for kind, payload in events if kind == "setup")
    k = setup["protocol"]["n_folds"]
    assert sorted((t.model, t.role, t.status) for t in trials) == sorted(
        [(m, "fold", "ok") for m in ("cnn1d", "gru") for _ in range(k)]
        + [("cnn1d", "refit", "ok"), ("gru", "refit", "ok")]
    )
    # Two trials run in each wave: k waves of folds, one of refits. A fold trial's share
    # is 1 part and a refit's k/(k-1) parts of the networks' budget.
    assert setup["share_s"] == pytest.approx(setup["network_budget_s"] / (k + k / (k - 1)))
    kinds = [kind for kind, _ in events if kind.startswith("trial_")]
    in_flight = list(itertools.accumulate(1 if kind == "trial_start" else -1 for kind in kinds))
    assert max(in_flight) == 2 and in_flight[-1] == 0  # two at once, never more
    assert kinds.count("trial_start") == 2 * (k + 1)


def test_threads_are_divided_among_parallel_trials():
    threads, why = default_threads(1)
    assert 1 <= threads <= usable_cores() and why
    assert default_threads(10**6)[0] == 1
    with pytest.raises(SeqSelectError, match="--jobs"):
        LocalExecutor(jobs=0)


@needs_ray
@pytest.mark.slow
def test_bakeoff_on_local_ray_with_two_cpus(tmp_path):
    import ray

    executor_cpus = 2
    result = bakeoff(
        "task:adding?length=12&n=120",
        models="cnn1d,gru",
        seeds=1,
        budget="4s",
        params=2000,
        executor="ray",
        ray_cpus=executor_cpus,
        baselines="none",
        store=tmp_path / "runs.db",
        run="ray",
    )
    env = result.environment
    assert env["executor"] == "ray" and env["cluster_cpus"] == executor_cpus
    # Two trials on two CPUs: both at once, one CPU (= one torch thread) each.
    assert env["slots"] == 2 and env["threads_per_trial"] == 1
    trials = ResultsStore(tmp_path / "runs.db").trials("ray")
    assert {(t.model, t.status) for t in trials} == {("cnn1d", "ok"), ("gru", "ok")}
    assert {t.role for t in trials} == {"fold", "refit"}
    assert all(t.extra["threads"] == 1 for t in trials)
    assert result.winner.model in ("cnn1d", "gru")
    # No wall-time assertion here: Ray's task start-up on a busy 2-core machine is not the
    # bake-off's to control.
    assert result.timing["trials_run"] == 2 * (result.protocol.n_folds + 1)
    assert not ray.is_initialized()  # the instance this run started is shut down


@needs_ray
def test_ray_executor_divides_cpus():
    ex = RayExecutor(cpus_per_trial=3)
    assert ex.cpus_per_trial == 3 and ex.describe()["executor"] == "ray"


def test_a_busy_machine_gets_one_thread_per_trial_read_from_cpu_use_now(monkeypatch):
    """Threads follow the cores other work uses now (not the lagging load average)."""
    from seqselect.bakeoff import executors

    monkeypatch.setattr(executors, "usable_cores", lambda: 4)
    monkeypatch.setattr(executors.os, "getloadavg", lambda: (9.0, 9.0, 9.0))  # stale
    monkeypatch.setattr(executors, "busy_cores", lambda: 0.2)
    assert executors.default_threads(1)[0] == 4  # a high load average alone is not busy
    monkeypatch.setattr(executors, "busy_cores", lambda: 3.5)
    threads, why = executors.default_threads(1)
    assert threads == 1 and "busy" in why
    monkeypatch.setattr(executors, "busy_cores", lambda: None)  # no /proc/stat: load
    assert executors.default_threads(1)[0] == 1


def test_busy_cores_reads_cpu_time_over_an_interval():
    from seqselect.system import busy_cores

    busy = busy_cores(0.05)
    assert busy is None or 0.0 <= busy <= (os.cpu_count() or 1) + 1e-6
