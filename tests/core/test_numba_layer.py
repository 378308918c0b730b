"""numba and torch keep separate thread pools (seqselect.system.keep_numba_off_torch_openmp).

Each case runs in a fresh interpreter: the threading layer is chosen once per process, at
numba's first parallel launch, so only a new process can show which one a launch gets.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# A parallel numba function launched after the import named first; prints the layer used.
_LAUNCH = """
import {first}
import numba, numpy as np
import seqselect
@numba.njit(parallel=True)
def total(x):
    s = 0.0
    for i in numba.prange(x.shape[0]):
        s += x[i]
    return s
assert total(np.ones(1000)) == 1000.0
print(numba.threading_layer())
"""


def _layer_after(first: str, env_layer: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    if env_layer:
        env["NUMBA_THREADING_LAYER"] = env_layer
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCH.format(first=first)],
        capture_output=True, text=True, env=env, timeout=240, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("first", ["seqselect", "numba"])
def test_numba_runs_on_its_own_pool_not_torch_openmp(first):
    # numba imported before seqselect too: the layer is set before the first launch
    assert _layer_after(first) == "workqueue"


def test_a_users_own_layer_is_kept():
    assert _layer_after("seqselect", env_layer="workqueue") == "workqueue"
    assert _layer_after("seqselect", env_layer="omp") == "omp"
