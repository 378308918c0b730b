"""Reproducibility on CPU (issue 13, item 9): the same seed and data give identical metrics
in two separate Python processes, and another seed gives other metrics.

The amount of work is fixed in steps (``budget="30 steps"``), never in seconds, so the
result cannot depend on how fast the machine is. The same script runs in this process
and in a fresh one, both with one torch thread; their JSON must be equal to the last bit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

#: ``measure(seeds)`` trains a small LSTM for 30 steps with each seed and returns, per
#: seed, every metric, the best step, the steps and the history without its timings; run
#: as a script it prints that as JSON for the seeds in argv.
SCRIPT = r"""
import json, sys
import torch
from seqselect.data import load_dataset
from seqselect.models import create_model
from seqselect.train import train


def measure(seeds):
    torch.set_num_threads(1)
    splits = load_dataset("task:adding?length=16&n=120")

    def build():
        return create_model("lstm", d_input=splits.d_input, d_output=splits.d_output,
                            task=splits.model_task, params=5000)

    out = {}
    for seed in seeds:
        result = train(build, splits, budget="30 steps", seed=seed, progress=False).to_dict()
        out[str(seed)] = {
            "status": result["status"], "seed": result["seed"], "steps": result["steps"],
            "best_step": result["best_step"], "n_params": result["n_params"],
            "test_metrics": result["test_metrics"], "val_metrics": result["val_metrics"],
            "history": [{k: v for k, v in h.items() if k != "elapsed_s"}
                        for h in result["history"]],
        }
    return out


if __name__ == "__main__":
    print(json.dumps(measure([int(seed) for seed in sys.argv[1:]])))
"""


def _in_this_process(*seeds: int) -> dict[str, dict]:
    namespace: dict = {"__name__": "reproducible"}
    exec(compile(SCRIPT, "<reproducible>", "exec"), namespace)
    return json.loads(json.dumps(namespace["measure"](list(seeds))))


def _start_fresh_process(*seeds: int) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, *map(str, seeds)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def test_same_seed_same_metrics_across_processes_and_another_seed_differs():
    process = _start_fresh_process(0)  # trains while this process does
    here = _in_this_process(0, 1)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-2000:]
    child = json.loads(out.strip().splitlines()[-1])
    assert here["0"]["status"] == "ok" and here["0"]["steps"] == 30
    assert here["0"]["test_metrics"]["mse"] > 0  # a real, finite result
    # json.dumps writes floats with repr: equal text means bit-identical values.
    assert json.dumps(child["0"], sort_keys=True) == json.dumps(here["0"], sort_keys=True)
    assert here["1"]["seed"] == 1
    assert here["1"]["test_metrics"] != here["0"]["test_metrics"]
    assert here["1"]["history"] != here["0"]["history"]
