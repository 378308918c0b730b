"""In-process inference measurements of a trained model: latency and peak memory.

* Batch latency: the median wall time of ``model(x, mask)`` on real test sequences, after
  warm-up, for one sequence (``latency_ms``, what one request waits) and for a batch of
  32 (``batch_latency_ms``, the throughput view).
* Per-step latency (streaming models built causal): the median time of one
  ``model.step(x_t, state)`` with batch 1, after warm-up.
* Peak memory: on CPU, the growth of the process's peak resident set (``VmHWM``, reset
  through ``/proc/self/clear_refs``) over its resident set before a batch-32 forward,
  plus the weights; the allocator is first made to return freed blocks to the system
  (:func:`seqselect.bench.memory.exact_allocator`) so that memory freed by training does
  not hide the inference peak. On CUDA, ``torch.cuda.max_memory_allocated``. Where
  neither works, ``None``.

Timings are medians of repeats bounded by a time limit, so a slow model gets fewer
repeats rather than overrunning its share of the bake-off budget.
"""

from __future__ import annotations

import logging
import statistics
import time
from typing import Any

import torch
from torch import nn

from seqselect.bench.memory import current_rss_mb, exact_allocator, peak_rss_mb, reset_peak_rss

log = logging.getLogger(__name__)

__all__ = ["measure_inference", "param_bytes"]

_MIB = 1024 * 1024


def param_bytes(model: nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])


def _median_ms(fn, *, repeats: int, warmup: int, time_limit: float, sync) -> float:
    """Median milliseconds of ``fn()`` over up to ``repeats`` runs within ``time_limit``."""
    for _ in range(warmup):
        fn()
    sync()
    times = []
    deadline = time.perf_counter() + time_limit
    while len(times) < repeats and (len(times) < 3 or time.perf_counter() < deadline):
        start = time.perf_counter()
        fn()
        sync()
        times.append(1000.0 * (time.perf_counter() - start))
    return statistics.median(times)


def _first_sequences(data, n: int, device) -> tuple[torch.Tensor, torch.Tensor | None]:
    n = max(1, min(n, len(data)))
    x = data.x[:n]
    mask = data.mask[:n]
    if bool(mask.all()):
        return x.to(device), None
    keep = int(mask.sum(dim=1).max())
    return x[:, :keep].to(device), mask[:, :keep].to(device)


def measure_inference(
    model: nn.Module,
    data,
    *,
    device: str = "cpu",
    batch_size: int = 32,
    time_limit: float = 2.0,
    repeats: int = 30,
    step_steps: int = 64,
) -> dict[str, Any]:
    """Latency and memory of ``model`` on ``data`` (a SequenceData split, usually test).

    Returns ``{"latency_ms", "batch_latency_ms", "latency_batch", "step_latency_ms",
    "peak_mb", "memory_method"}``; ``step_latency_ms`` is None for non-streaming models.
    ``time_limit`` bounds each of the three timings.
    """
    model = model.eval().to(device)
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    out: dict[str, Any] = {"latency_batch": None, "step_latency_ms": None, "peak_mb": None}
    if len(data) == 0:
        return {**out, "latency_ms": None, "batch_latency_ms": None, "memory_method": None}
    third = max(0.05, time_limit / 3)
    with torch.inference_mode():
        x1, m1 = _first_sequences(data, 1, dev)
        out["latency_ms"] = _median_ms(
            lambda: model(x1, m1), repeats=repeats, warmup=2, time_limit=third, sync=sync
        )
        xb, mb = _first_sequences(data, batch_size, dev)
        out["latency_batch"] = int(xb.shape[0])
        # Memory first (one cold-ish pass after warm-up), then the timing repeats.
        model(xb, mb)
        out.update(_peak_memory(model, xb, mb, dev))
        out["batch_latency_ms"] = _median_ms(
            lambda: model(xb, mb), repeats=repeats, warmup=1, time_limit=third, sync=sync
        )
        if getattr(model, "streaming", False):
            out["step_latency_ms"] = _step_latency(
                model, x1, m1, steps=step_steps, time_limit=third, sync=sync
            )
    return out


def _peak_memory(model: nn.Module, x, mask, dev: torch.device) -> dict[str, Any]:
    weights_mb = param_bytes(model) / _MIB
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(dev)
        base = torch.cuda.memory_allocated(dev)
        model(x, mask)
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated(dev) - base
        return {
            "peak_mb": round(weights_mb + peak / _MIB, 3),
            "memory_method": "cuda max_memory_allocated",
        }
    # RSS must follow live memory, or memory that training freed (kept by glibc) would
    # hide the inference peak; no gc.collect(): a full collection of a process holding
    # torch, pandas and the data costs ~1 s, and tensors are freed by reference counting.
    exact_allocator()
    before_mb = current_rss_mb()
    if not reset_peak_rss():
        return {"peak_mb": None, "memory_method": None}
    model(x, mask)
    growth_mb = max(0.0, peak_rss_mb() - before_mb)
    return {
        "peak_mb": round(weights_mb + growth_mb, 3),
        "memory_method": "weights + peak RSS growth",
    }


def _step_latency(model: nn.Module, x1, m1, *, steps: int, time_limit: float, sync) -> float | None:
    """Median ms of one ``step`` (batch 1) over the first ``steps`` steps of a sequence."""
    try:
        length = x1.shape[1] if m1 is None else int(m1.sum())
        n = max(1, min(steps, length))
        xs = [x1[:, t] for t in range(n)]
        state = model.init_state(1)
        for t in range(min(2, n)):  # warm-up
            _, state = model.step(xs[t], state)
        sync()
        state = model.init_state(1)
        times = []
        deadline = time.perf_counter() + time_limit
        for t in range(n):
            start = time.perf_counter()
            _, state = model.step(xs[t], state)
            sync()
            times.append(1000.0 * (time.perf_counter() - start))
            if len(times) >= 5 and time.perf_counter() > deadline:
                break
        return statistics.median(times)
    except (RuntimeError, NotImplementedError) as exc:
        log.info("step latency not measured: %s", exc)
        return None
