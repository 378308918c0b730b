"""Does a MiniRocket fit slow the torch training that follows it in the same process?

Why this exists: a bake-off fits its baselines (aeon's MiniRocket, numba-compiled) and
then trains networks in one process. numba's default ``omp`` threading layer loads
``libgomp.so.1``, the OpenMP runtime torch already holds, and after the fit every torch
step ran slower; :func:`seqselect.system.keep_numba_off_torch_openmp` gives numba its own
``workqueue`` pool instead. This script measures both layers, each in fresh interpreters
(the layer is fixed once per process), interleaved so drift on the machine hits both:

* torch training steps per second of ``cnn1d`` (batch 16, AdamW) for ``--seconds`` before
  and after one MiniRocket fit on the same data;
* the MiniRocket fit's own wall time (JIT compilation included, the first fit of a process).

    PYTHONPATH=src .venv/bin/python benchmarks/numba_torch_threads.py \\
        [--data ucr:OSULeaf] [--threads 2] [--seconds 8] [--repeats 3] [--json FILE]

Run it on a quiet machine; it prints its command, the environment and a table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

LAYERS = ("omp", "workqueue")

# One measurement in a fresh interpreter: the layer is set before anything imports numba.
_CHILD = r"""
import json, os, sys, time
os.environ["NUMBA_THREADING_LAYER"] = sys.argv[1]
data, threads, seconds = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
import numpy as np
import torch
from seqselect.data import load_dataset
from seqselect.models import create_model
from seqselect.train.recipe import architecture_for
from aeon.classification.convolution_based import MiniRocketClassifier

torch.set_num_threads(threads)
torch.manual_seed(0)
splits = load_dataset(data, seed=0)
model = create_model("cnn1d", **splits.model_kwargs(), params=20_000,
                     **architecture_for("cnn1d", splits))
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
x, mask, y = splits.train.x, splits.train.mask, splits.train.y

def steps_per_second(limit):
    # warm-up steps first, so neither side times the allocator's first growth
    count, start, generator = -3, None, torch.Generator().manual_seed(0)
    while True:
        index = torch.randint(0, len(y), (16,), generator=generator)
        loss = torch.nn.functional.cross_entropy(model(x[index], mask[index]), y[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        count += 1
        if count == 0:
            start = time.perf_counter()
        elif count > 0 and time.perf_counter() - start >= limit:
            return count / (time.perf_counter() - start)

before = steps_per_second(seconds)
series = x.permute(0, 2, 1).contiguous().numpy().astype(np.float64)  # (N, L, C) -> (N, C, L)
start = time.perf_counter()
MiniRocketClassifier(n_jobs=1, random_state=0).fit(series, y.numpy())
fit_s = time.perf_counter() - start
after = steps_per_second(seconds)
import numba
print(json.dumps({"layer": numba.threading_layer(), "before": before, "after": after,
                  "fit_s": fit_s}))
"""


def measure(layer: str, data: str, threads: int, seconds: float) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, layer, data, str(threads), str(seconds)],
        capture_output=True, text=True, env=env, check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{layer}: the measurement failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="ucr:OSULeaf")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from seqselect.system import describe_environment

    print("command:", " ".join(["benchmarks/numba_torch_threads.py", *sys.argv[1:]]))
    print("environment:", json.dumps(describe_environment("cpu")))
    runs: dict[str, list[dict]] = {layer: [] for layer in LAYERS}
    for _ in range(args.repeats):
        for layer in LAYERS:  # interleaved
            runs[layer].append(measure(layer, args.data, args.threads, args.seconds))
    print(f"\n{args.data}, cnn1d, {args.threads} torch threads, median of {args.repeats}")
    print(f"{'numba layer':<12} {'steps/s before':>15} {'steps/s after':>14} "
          f"{'after/before':>13} {'fit s':>7}")
    summary = {}
    for layer, found in runs.items():
        row = {key: statistics.median(r[key] for r in found)
               for key in ("before", "after", "fit_s")}
        row["ratio"] = statistics.median(r["after"] / r["before"] for r in found)
        row["layer_used"] = found[0]["layer"]
        summary[layer] = row
        print(f"{layer:<12} {row['before']:>15.1f} {row['after']:>14.1f} "
              f"{row['ratio']:>13.2f} {row['fit_s']:>7.2f}")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)},
                                         "runs": runs, "summary": summary}, indent=2))


if __name__ == "__main__":
    main()
