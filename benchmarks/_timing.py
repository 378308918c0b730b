"""Timing helpers shared by the benchmark scripts (never used by tests).

Peers are timed *alternately* in one process — A, B, A, B, ... — so drift in the machine's
load or clock speed hits both sides alike; we report medians after warm-up.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch


def forward_backward(module: torch.nn.Module, x: torch.Tensor) -> Callable[[], None]:
    """A closure running forward + backward of ``module(x).sum()`` (grads zeroed)."""

    def run() -> None:
        module.zero_grad(set_to_none=True)
        out = module(x)
        out = out[0] if isinstance(out, tuple) else out
        out.float().sum().backward()

    return run


def time_alternating(
    fns: dict[str, Callable[[], None]], repeats: int = 10, warmup: int = 3
) -> dict[str, float]:
    """Median milliseconds per call of each closure, measured round-robin."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append(1000 * (time.perf_counter() - start))
    return {name: statistics.median(s) for name, s in samples.items()}


def environment() -> dict[str, object]:
    return {"torch": torch.__version__, "threads": torch.get_num_threads()}


def write_rows(path: Path | None, args: object, rows: list[dict]) -> None:
    """Write a script's rows, its arguments and the environment to ``path`` as JSON (None:
    nothing)."""
    if path is None:
        return
    doc = {"args": {k: str(v) for k, v in vars(args).items()}, "environment": environment(),
           "rows": rows}
    path.write_text(json.dumps(doc, indent=2) + "\n")
