"""A small bake-off with trials as Ray tasks on a local Ray instance with 2 CPUs."""

from __future__ import annotations

import pytest

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'seqselect[ray]'")

from seqselect.bakeoff import ResultsStore, bakeoff  # noqa: E402
from seqselect.bakeoff.executors import RayExecutor  # noqa: E402


@pytest.mark.slow
def test_bakeoff_on_local_ray_with_two_cpus(tmp_path):
    executor_cpus = 2
    result = bakeoff(
        "task:adding?length=12&n=120",
        models="cnn1d,gru",
        seeds=1,
        budget="4s",
        params=2000,
        executor="ray",
        ray_cpus=executor_cpus,
        store=tmp_path / "runs.db",
        run="ray",
    )
    env = result.environment
    assert env["executor"] == "ray" and env["cluster_cpus"] == executor_cpus
    # Two trials on two CPUs: both at once, one CPU (= one torch thread) each.
    assert env["slots"] == 2 and env["threads_per_trial"] == 1
    trials = ResultsStore(tmp_path / "runs.db").trials("ray")
    assert {(t["model"], t["status"]) for t in trials} == {("cnn1d", "ok"), ("gru", "ok")}
    assert all(t["extra"]["threads"] == 1 for t in trials)
    assert result.winner["model"] in ("cnn1d", "gru")
    # No wall-time assertion here: Ray's task start-up on a busy 2-core machine is not the
    # bake-off's to control (test_bakeoff_run checks the budget with the local executor).
    assert result.timing["trials_run"] == 2
    assert not ray.is_initialized()  # the instance this run started is shut down


def test_ray_executor_divides_cpus():
    ex = RayExecutor(cpus_per_trial=3)
    assert ex.cpus_per_trial == 3 and ex.describe()["executor"] == "ray"
