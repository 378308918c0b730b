"""One benchmark cell, run in a fresh process: ``python -m seqselect.bench.cell '<json>'``.

The parent (:func:`seqselect.bench.measure_cell`) passes the cell's settings as one JSON
argument; this process builds the model and data, takes the memory baseline, warms up,
times ``repeats`` runs, reads the peak (of the first run, with RSS following live memory:
see :mod:`seqselect.bench.memory`), counts FLOPs once, and prints one line
``SEQSELECT_CELL {json}`` on stdout. A fresh process per cell means every peak is this
cell's own, and an out-of-memory death takes down one cell, not the run.

Modes (symbols: B batch, L length, C input channels):

* ``train``: forward + cross-entropy + backward + AdamW step on ``x: (B, L, C)``;
* ``infer``: forward under ``torch.inference_mode()``;
* ``stream``: a causal model fed a generated stream of L steps through ``step()``; the
  time is the median latency of one step;
* kind ``attention`` (for the guide's attention arithmetic): one attention over
  ``q, k, v: (B, H, L, E)``, either ``naive`` (``softmax(q k^T / sqrt(E)) v``, the
  guide's code, which stores the L x L matrix) or ``sdpa`` (fused, which does not).

Only torch and the model zoo are imported here: start-up time is paid once per cell.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from typing import Any

# Set once this module is imported, i.e. after the interpreter, torch and seqselect have
# started: the parent reports the difference to its own wall time as start-up.
_T0 = time.perf_counter()
MARKER = "SEQSELECT_CELL "
PARTIAL_MARKER = "SEQSELECT_PARTIAL "


def _print_progress(message: dict[str, Any]) -> None:
    sys.stdout.write(PARTIAL_MARKER + json.dumps(message) + "\n")
    sys.stdout.flush()


# Called after every complete run with {"partial": True, "runs_done", "peak_mb",
# "run_ms"}: a cell that later times out or is killed still tells what it measured.
_progress = _print_progress
_OOM_TEXT = ("out of memory", "can't allocate memory", "not enough memory", "bad_alloc")


def classify_exception(exc: BaseException) -> str:
    """``oom`` for allocation failures (host or device), else ``error``."""
    if isinstance(exc, MemoryError):
        return "oom"
    text = str(exc).lower()
    if type(exc).__name__ == "OutOfMemoryError" or any(t in text for t in _OOM_TEXT):
        return "oom"
    return "error"


class _Clock:
    """Wall-clock timing that waits for the device (CUDA kernels are asynchronous)."""

    def __init__(self, device: str):
        import torch

        self._sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    def time_ms(self, fn) -> float:
        self._sync()
        start = time.perf_counter()
        fn()
        self._sync()
        return 1000.0 * (time.perf_counter() - start)


class _Memory:
    """Peak memory growth above a baseline: peak RSS on CPU, the allocator's peak on CUDA."""

    def __init__(self, device: str):
        self.device = device
        self.method = ""
        self.baseline = 0.0
        self.t_start = self.t_peak = None  # when the baseline and the peak were taken
        self.exact = False  # RSS follows live memory (glibc thresholds fixed)
        self.frozen: float | None = None  # the peak, once the memory run is over

    def start(self, exact: bool = False) -> None:
        """Take the baseline; ``exact``: on CPU, make RSS follow live memory first."""
        import torch

        from seqselect.bench import memory

        self.t_start = time.perf_counter()
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.baseline = torch.cuda.memory_allocated() / memory.MB
            self.method = "cuda max_memory_allocated"
            return
        self.exact = exact and memory.exact_allocator()
        if memory.reset_peak_rss():
            self.baseline = memory.current_rss_mb()
            self.method = "peak RSS (VmHWM reset at baseline)"
        else:
            # The peak cannot be reset: what came before the baseline may hide in it.
            self.baseline = memory.peak_rss_mb()
            self.method = "peak RSS (ru_maxrss, not resettable: lower bound)"
        if self.exact:
            self.method += (f" of the first run, glibc mmap threshold "
                            f"{memory.EXACT_MMAP_THRESHOLD // 1024} KiB")

    def freeze(self) -> None:
        """End the memory run: keep its peak, and give the timed runs glibc's usual
        thresholds back (the exact ones cost page faults on every large block)."""
        from seqselect.bench import memory

        if self.exact:
            self.frozen = self.peak_mb(final=False)
            memory.timing_allocator()

    def peak_mb(self, final: bool = True) -> float:
        import torch

        from seqselect.bench import memory

        if final:
            self.t_peak = time.perf_counter()
        if self.frozen is not None:
            return self.frozen
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
            return torch.cuda.max_memory_allocated() / memory.MB - self.baseline
        return max(0.0, memory.peak_rss_mb() - self.baseline)


def _repeat(run, args: dict[str, Any], clock: _Clock, mem: _Memory) -> list[float]:
    """Baseline, ``warmup`` untimed runs, ``repeats`` timed runs (their times returned);
    progress is reported after every run.

    The first run is the memory run (RSS following live memory, see ``_Memory``) and
    counts as the first warm-up; with ``warmup=0`` it is one extra, untimed run.
    """
    mem.start(exact=True)
    warmup = max(1, args["warmup"])
    run_ms: list[float] = []
    for i in range(warmup + args["repeats"]):
        run_ms.append(clock.time_ms(run))
        if i == 0:
            mem.freeze()
        _progress({"partial": True, "runs_done": i + 1, "peak_mb": mem.peak_mb(final=False),
                   "run_ms": run_ms})
    return run_ms[warmup:]


def _build_model(args: dict[str, Any], causal: bool):
    from seqselect.models import count_parameters, create_model

    model = create_model(
        args["model"],
        d_input=args.get("d_input", 1),
        d_output=args.get("d_output", 2),
        causal=causal,
        params=args.get("params"),
        data_sample_rate=args.get("sample_rate"),  # spectrogram front-ends lay out for it
        **(args.get("overrides") or {}),
    ).to(args["device"])
    return model, count_parameters(model)


def _model_cell(args: dict[str, Any], clock: _Clock, mem: _Memory) -> dict[str, Any]:
    """A zoo model's cell: ``params``, ``d_model`` and what its mode measures."""
    mode = args["mode"]
    model, n_params = _build_model(args, causal=mode == "stream" or args.get("causal", False))
    out: dict[str, Any] = {"params": n_params, "d_model": getattr(model.config, "d_model", None)}
    measure = _stream_cell if mode == "stream" else _step_cell
    out.update(measure(model, args, clock, mem))
    return out


def _stream_cell(model, args: dict[str, Any], clock: _Clock, mem: _Memory) -> dict[str, Any]:
    """Per-step latency of ``step()`` over a generated stream of L steps."""
    import torch

    from seqselect.bench.flops import count_flops

    device = args["device"]
    B, L, C = args["batch"], args["length"], args.get("d_input", 1)
    out: dict[str, Any] = {}
    model.eval()
    x = torch.randn(L, B, C, device=device)  # the generated stream, one (B, C) per step
    warm = min(L, 16)

    def one_pass(steps: int, record: list[float] | None) -> None:
        state = model.init_state(B)
        for t in range(steps):
            if record is None:
                _, state = model.step(x[t], state)
                continue

            def step(t=t):
                nonlocal state
                _, state = model.step(x[t], state)

            record.append(clock.time_ms(step))

    with torch.inference_mode():
        mem.start()
        for _ in range(args["warmup"]):
            one_pass(warm, None)
        # Enough passes for a stable median, but never more than ~4k steps in all.
        passes = max(1, min(args["repeats"], 4096 // max(L, 1)))
        times: list[float] = []
        for i in range(passes):
            one_pass(L, times)
            _progress({"partial": True, "runs_done": i + 1,
                       "peak_mb": mem.peak_mb(final=False), "run_ms": []})
        out["peak_mb"] = mem.peak_mb()
    out.update(
        time_ms=statistics.median(times),
        time_p90_ms=sorted(times)[int(0.9 * (len(times) - 1))],
        steps=L,
        passes=passes,
    )
    if args.get("sample_rate"):
        from seqselect.bench.records import real_time_factor

        # Steady-state processing time over the audio it stands for, from the row's own
        # per-step latency (the median, so one GC pause does not move it); each step() here
        # consumes one sample, or a frame of `hop` samples for a model whose step takes frames.
        out["sample_rate"] = int(args["sample_rate"])
        out["rtf"] = real_time_factor(out["time_ms"], out["sample_rate"],
                                      getattr(model, "hop", 1))
    if args.get("count_flops", True):
        steps = min(L, 256)  # per step, averaged over the first `steps` steps
        with torch.no_grad():
            out["flops"] = count_flops(lambda: one_pass(steps, None)) // steps
    return out


def _step_cell(model, args: dict[str, Any], clock: _Clock, mem: _Memory) -> dict[str, Any]:
    """A training step (forward, loss, backward, AdamW) or an inference forward."""
    import torch
    import torch.nn.functional as F

    from seqselect.bench.flops import count_flops

    device, mode = args["device"], args["mode"]
    B, L, C = args["batch"], args["length"], args.get("d_input", 1)
    out: dict[str, Any] = {}
    x = torch.randn(B, L, C, device=device)
    y = torch.randint(0, args.get("d_output", 2), (B,), device=device)
    if mode == "train":
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

        def run() -> None:
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()

        def flop_run() -> None:
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()

        times = _repeat(run, args, clock, mem)
        out["peak_mb"] = mem.peak_mb()
        if args.get("count_flops", True):
            out["flops"] = count_flops(flop_run)  # forward + backward
    elif mode == "infer":
        model.eval()

        def run() -> None:
            with torch.inference_mode():
                model(x)

        times = _repeat(run, args, clock, mem)
        out["peak_mb"] = mem.peak_mb()
        if args.get("count_flops", True):
            with torch.no_grad():  # FlopCounterMode and inference_mode trip over weight_norm
                out["flops"] = count_flops(lambda: model(x))
    else:
        raise ValueError(f"mode must be train, infer or stream, got {mode!r}")
    out["time_ms"] = statistics.median(times)
    out["times_ms"] = times
    return out


def _attention_cell(args: dict[str, Any], clock: _Clock, mem: _Memory) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    from seqselect.bench.flops import count_flops

    B, L, device = args["batch"], args["length"], args["device"]
    H = args.get("n_heads", 1)
    E = args.get("d_model", 512) // H
    q, k, v = (torch.randn(B, H, L, E, device=device) for _ in range(3))
    impl = args.get("impl", "naive")

    def run() -> None:
        with torch.inference_mode():
            if impl == "naive":
                weights = torch.softmax(q @ k.transpose(-1, -2) * E**-0.5, dim=-1)  # (B, H, L, L)
                weights @ v
            elif impl == "sdpa":
                F.scaled_dot_product_attention(q, k, v)
            else:
                raise ValueError(f"impl must be naive or sdpa, got {impl!r}")

    times = _repeat(run, args, clock, mem)
    out = {"peak_mb": mem.peak_mb(), "time_ms": statistics.median(times), "times_ms": times}
    if args.get("count_flops", True):
        out["flops"] = count_flops(run)
    out.update(params=0, d_model=H * E)
    return out


def run_cell(args: dict[str, Any]) -> dict[str, Any]:
    """Run one cell in this process and return its measurements (``status`` included)."""
    import torch

    from seqselect.bench import memory

    torch.manual_seed(args.get("seed", 0))
    if args.get("threads"):
        torch.set_num_threads(int(args["threads"]))
    device = args.get("device", "cpu")
    clock, mem = _Clock(device), _Memory(device)
    if args.get("memory_limit_mb") is not None and not device.startswith("cuda"):
        memory.limit_memory(float(args["memory_limit_mb"]))
    try:
        kind = args.get("kind", "model")
        measure = _attention_cell if kind == "attention" else _model_cell
        result = measure(args, clock, mem)
        result["status"] = "ok"
    except Exception as exc:  # every failure is a recorded result, never a crash
        result = {"status": classify_exception(exc), "error": f"{type(exc).__name__}: {exc}"[:2000]}
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
    result["pid"] = os.getpid()
    if hasattr(os, "getloadavg"):
        # Other work on the machine distorts timings; verify-claims reads this.
        result["load_avg"] = round(os.getloadavg()[0], 2)
    result["threads"] = torch.get_num_threads()
    result["memory_method"] = mem.method
    end = time.perf_counter()
    if mem.t_start is not None and mem.t_peak is not None:
        result["phases_s"] = {
            "setup": round(mem.t_start - _T0, 3),  # model (width search) and data
            "measure": round(mem.t_peak - mem.t_start, 3),  # warm-up and timed repeats
            "flops": round(end - mem.t_peak, 3),  # the FLOP-counting pass
            "total": round(end - _T0, 3),
        }
    result["baseline_mb"] = round(mem.baseline, 1)
    return result


def child_main(args: dict[str, Any], conn) -> None:
    """Entry point of a cell forked from the harness's fork server (see
    ``harness._run_forked``): run the cell and send its result through ``conn``."""
    global _T0, _progress
    _T0 = time.perf_counter()  # this process starts now; its imports were preloaded
    _progress = conn.send
    # stdout belongs to the parent (``seqselect bench --json -`` prints JSON there).
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        result = run_cell(args)
    except MemoryError as exc:
        result = {"status": "oom", "error": f"MemoryError: {exc}"}
    conn.send(result)
    conn.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = json.loads(argv[0])
        result = run_cell(args)
    except MemoryError as exc:
        result = {"status": "oom", "error": f"MemoryError: {exc}"}
    sys.stdout.write(MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
