"""``--executor ray`` on a local 2-CPU Ray instance: a tuned bake-off whose search's
configurations are Ray tasks, and a small tuned study whose bake-offs are Ray tasks."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from seqselect.bakeoff.tune_store import TuneStore
from seqselect.study import run_study
from seqselect.study.store import StudyStore

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                       reason="Ray is an optional extra: pip install 'seqselect[ray]'"),
]
SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture(scope="module")
def local_ray():
    import ray

    # the workers import this checkout's seqselect, as the driver does
    path = os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path, "OMP_NUM_THREADS": "1"}})
    yield ray
    ray.shutdown()


def test_tuned_study_on_two_cpu_ray(local_ray, tmp_path, two_csvs):
    from seqselect.bakeoff import bakeoff

    store = tmp_path / "runs.db"
    # a search's configurations as Ray tasks: 2 at a time on the 2 CPUs
    result = bakeoff(two_csvs[0], target="label", models="gru", budget="10s", seeds=1,
                     params=2000, baselines="none", executor="ray", cpus_per_trial=1,
                     store=store, run="ray-tune", tune=2)
    assert result.environment["executor"] == "ray"
    rows = TuneStore(store).rows("ray-tune")
    assert 1 <= len(rows) <= 2 and all(r.model == "gru" for r in rows)
    assert result.tuning["gru"]["chosen"]["n_configs"] == len(rows)
    # the study's bake-offs as Ray tasks (their searches inside them)
    study = run_study(two_csvs, name="ray", budget_per_dataset="8s", tune=2,
                      models="cnn1d,gru", seeds=1, params=2000, baselines="majority",
                      target="label", executor="ray", cpus_per_trial=1, store=store)
    rows = StudyStore(store).rows("ray")
    assert [r.dataset for r in rows] == two_csvs
    for row in rows:
        searched = {r.model for r in TuneStore(store).rows(row.run)}
        assert searched == {"cnn1d", "gru"}, row.run
    assert set(study.summary.models) == {"cnn1d", "gru", "majority"}
    assert local_ray.is_initialized()  # the study used the instance it found
