"""The benchmark harness: cells in fresh processes, a report with scaling exponents.

Symbols: B batch, L length. A *cell* is one (model, length, mode); every cell of a run
uses the same configuration (``params=`` matched width, batch, input size, threads).
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqselect.bench import memory
from seqselect.bench.cell import MARKER, PARTIAL_MARKER
from seqselect.bench.fit import extrapolate, fit_exponent
from seqselect.errors import SeqSelectError

log = logging.getLogger(__name__)

MODES = ("train", "infer", "stream")
STATUSES = ("ok", "oom", "timeout", "error", "skipped", "unsupported")
ROW_KEYS = ("model", "length", "batch", "params", "mode", "time_ms", "peak_mb", "flops", "status")
CSV_COLUMNS = (
    *ROW_KEYS,
    "d_model",
    "relative_pct",
    "estimate_mb",
    "threads",
    "device",
    "error",
)
# A cell is skipped when its estimate exceeds this share of the free memory: the rest is
# head-room for the interpreter, the allocator's slack and whatever else runs.
FREE_MEMORY_SHARE = 0.9


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is usable, else ``cpu``."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SeqSelectError(f"device {device!r} asked for, but torch sees no CUDA device")
    if device != "cpu" and not device.startswith("cuda"):
        raise SeqSelectError(f"device must be auto, cpu or cuda[:N], got {device!r}")
    return device


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device: str, threads: int | None) -> dict[str, Any]:
    """What the numbers depend on (no host name, no user name)."""
    import torch

    import seqselect

    env: dict[str, Any] = {
        "seqselect": seqselect.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": threads or torch.get_num_threads(),
        "device": device,
        "memory_total_mb": memory.total_memory_mb(),
        "memory_available_mb": memory.free_memory_mb("cpu"),
        "dtype": "float32",
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(torch.device(device))
        env.update(gpu=props.name, gpu_memory_mb=props.total_memory / memory.MB,
                   cuda=torch.version.cuda)
    return env


def _child_env(threads: int | None) -> dict[str, str]:
    """The child's environment: this seqselect importable, OpenMP sized like torch."""
    import seqselect

    env = dict(os.environ)
    src = str(Path(seqselect.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


# Where cells start. ``forkserver``: a server process imports torch, seqselect and
# torch._dynamo (which every optimizer and the FLOP counter import on first use) once;
# each cell is a fresh process forked from it, which saves the 3-7 s of imports a cell
# would otherwise pay. ``subprocess``: ``python -m seqselect.bench.cell`` per cell (the
# fallback where fork is unavailable). Set SEQSELECT_BENCH_START to choose.
_PRELOAD = ["seqselect.bench.cell", "seqselect.models.zoo", "torch._dynamo"]
_forkserver_ctx = None


def _start_method() -> str:
    import multiprocessing

    method = os.environ.get("SEQSELECT_BENCH_START", "auto")
    if method == "auto":
        return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "subprocess"
    if method not in ("forkserver", "subprocess"):
        raise SeqSelectError(f"SEQSELECT_BENCH_START must be forkserver or subprocess, got {method!r}")
    return method


def _context():
    global _forkserver_ctx
    if _forkserver_ctx is None:
        import multiprocessing

        _forkserver_ctx = multiprocessing.get_context("forkserver")
        _forkserver_ctx.set_forkserver_preload(_PRELOAD)
    return _forkserver_ctx


def _run_child(args: dict[str, Any], timeout_s: float, threads: int | None) -> dict[str, Any]:
    """Run one cell in a fresh process and turn whatever happens into a row part.

    A cell that times out or is killed after at least one complete run keeps what those
    runs measured: ``peak_mb`` (every run allocates alike, so it is the cell's peak) and
    ``partial`` (runs done, their times); ``time_ms`` stays None.
    """
    start = time.perf_counter()
    if _start_method() == "forkserver":
        result, returncode, tail, partial = _run_forked(args, timeout_s)
    else:
        result, returncode, tail, partial = _run_subprocess(args, timeout_s, threads)
    wall = round(time.perf_counter() - start, 2)
    if result is not None:
        result["wall_s"] = wall
        if "phases_s" in result:  # process start-up (and imports, for subprocess)
            result["phases_s"]["startup"] = round(wall - result["phases_s"]["total"], 3)
        return result
    if returncode is None:
        row = {"status": "timeout", "error": f"no result within the {timeout_s:g} s time-out"}
    elif returncode < 0 and -returncode == 9:
        row = {"status": "oom",
               "error": "killed by SIGKILL (most likely the kernel's out-of-memory killer)"}
    elif returncode < 0:
        row = {"status": "error", "error": f"killed by signal {-returncode}"}
    else:
        status = "oom" if "MemoryError" in tail or "out of memory" in tail.lower() else "error"
        row = {"status": status, "error": f"exit code {returncode}: {tail or 'no output'}"}
    row["wall_s"] = wall
    if partial and partial.get("runs_done"):
        row["peak_mb"] = partial["peak_mb"]
        row["partial"] = {k: partial[k] for k in ("runs_done", "run_ms")}
        row["error"] += (f" (after {partial['runs_done']} complete run(s), peak "
                         f"{partial['peak_mb']:.0f} MB)")
    return row


def _run_forked(args: dict[str, Any], timeout_s: float):
    """(result, exit code, output tail, last progress); exit code None: the time-out passed."""
    from seqselect.bench.cell import child_main

    ctx = _context()
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=child_main, args=(args, send), daemon=True)
    deadline = time.monotonic() + timeout_s
    proc.start()
    send.close()  # the child holds the only sending end: its death reads as EOF here
    result = partial = None
    timed_out = False
    try:
        while result is None:
            if not receive.poll(max(0.0, deadline - time.monotonic())):
                timed_out = True
                break
            try:
                message = receive.recv()
            except EOFError:  # the child died before sending (killed, or crashed hard)
                break
            if message.get("partial"):
                partial = message
            else:
                result = message
    finally:
        receive.close()
    if timed_out:
        proc.kill()
    proc.join(timeout=30)
    if proc.is_alive():
        proc.kill()
        proc.join()
    if timed_out:
        return None, None, "", partial
    hint = ""
    if result is None and proc.exitcode is not None and proc.exitcode > 0:
        hint = ("the cell's process failed before it could run (traceback on stderr). If "
                "you call run_bench from a script, guard the call with `if __name__ == "
                "'__main__':` (the fork server imports your script, as in any "
                "multiprocessing code), or set SEQSELECT_BENCH_START=subprocess")
    return result, proc.exitcode if result is None else 0, hint, partial


def _parse_output(stdout: str | bytes | None) -> tuple[dict | None, dict | None]:
    """(result, last progress) from a child's stdout."""
    if isinstance(stdout, bytes):
        stdout = stdout.decode(errors="replace")
    result = partial = None
    for line in (stdout or "").splitlines():
        if line.startswith(MARKER):
            result = json.loads(line[len(MARKER):])
        elif line.startswith(PARTIAL_MARKER):
            partial = json.loads(line[len(PARTIAL_MARKER):])
    return result, partial


def _run_subprocess(args: dict[str, Any], timeout_s: float, threads: int | None):
    cmd = [sys.executable, "-m", "seqselect.bench.cell", json.dumps(args)]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout_s, env=_child_env(threads)
        )
    except subprocess.TimeoutExpired as exc:
        return None, None, "", _parse_output(exc.stdout)[1]
    result, partial = _parse_output(proc.stdout)
    tail = "" if result else (proc.stderr or proc.stdout).strip()[-1500:]
    return result, proc.returncode, tail, partial


def measure_cell(
    model_name: str,
    length: int,
    mode: str,
    *,
    batch: int = 8,
    params: int | None = 100_000,
    repeats: int = 5,
    warmup: int = 2,
    device: str = "auto",
    threads: int | None = None,
    timeout_s: float = 300.0,
    d_input: int = 1,
    d_output: int = 2,
    overrides: dict[str, Any] | None = None,
    causal: bool = False,
    memory_limit_mb: float | None = None,
    seed: int = 0,
    kind: str = "model",
    **extra: Any,
) -> dict[str, Any]:
    """Run ONE cell in a fresh subprocess and return its row.

    The row has the JSON keys (``model``, ``length``, ``batch``, ``params``, ``mode``,
    ``time_ms``, ``peak_mb``, ``flops``, ``status``) and extras (``error``, ``d_model``,
    ``times_ms``, ``threads``, ``device``, ``memory_method``, ``wall_s``, ...).
    ``status`` is ``ok``, ``oom`` (allocation failed or the process was OOM-killed),
    ``timeout`` (no result within ``timeout_s``) or ``error`` (the message in ``error``).

    Args:
        memory_limit_mb: cap the child's extra address space (CPU): a deterministic
            out-of-memory, for tests and for rehearsing a smaller machine.
        kind: ``model`` (a zoo model) or ``attention`` (a bare attention, ``impl`` =
            ``naive`` or ``sdpa`` and ``n_heads``/``d_model`` in ``extra``).
        extra: passed to the cell, e.g. ``count_flops=False`` to skip the FLOP-counting
            pass (one more forward/backward, and the first use of the counter imports
            torch._dynamo: a few seconds per cell).
    """
    if mode not in MODES:
        raise SeqSelectError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    device = resolve_device(device)
    args = dict(
        model=model_name, length=int(length), mode=mode, batch=int(batch), params=params,
        repeats=max(1, int(repeats)), warmup=max(0, int(warmup)), device=device,
        threads=threads, d_input=d_input, d_output=d_output, overrides=overrides or {},
        causal=causal, memory_limit_mb=memory_limit_mb, seed=seed, kind=kind, **extra,
    )
    row: dict[str, Any] = {
        "model": model_name, "length": int(length), "batch": int(batch), "params": None,
        "mode": mode, "time_ms": None, "peak_mb": None, "flops": None, "status": "error",
        "target_params": params, "device": device,
    }
    row.update(_run_child(args, timeout_s, threads))
    return row


# ---- the report -------------------------------------------------------------------------
def _nan_to_none(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def compute_exponents(results: Sequence[dict[str, Any]]) -> dict[str, dict[str, dict]]:
    """``{model: {mode: {"time": k, "memory": k, "flops": k}}}`` from the ok cells
    (None where fewer than two lengths succeeded)."""
    out: dict[str, dict[str, dict]] = {}
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in results:
        groups.setdefault((r["model"], r["mode"]), []).append(r)
    for (model, mode), rows in groups.items():
        ok = [r for r in rows if r["status"] == "ok"]
        lengths = [r["length"] for r in ok]
        out.setdefault(model, {})[mode] = {
            "time": _nan_to_none(fit_exponent(lengths, [r["time_ms"] for r in ok])),
            "memory": _nan_to_none(fit_exponent(lengths, [r["peak_mb"] for r in ok])),
            "flops": _nan_to_none(fit_exponent(lengths, [r["flops"] for r in ok])),
        }
    return out


def add_relative(results: Sequence[dict[str, Any]], baseline: str = "lstm") -> None:
    """The guide's view: ``relative_pct`` = time / baseline's time at the same length and
    mode x 100 (LSTM = 100%), when the baseline is in the run and its cell succeeded."""
    base = {
        (r["length"], r["mode"], r["batch"]): r["time_ms"]
        for r in results
        if r["model"] == baseline and r["status"] == "ok"
    }
    for r in results:
        ref = base.get((r["length"], r["mode"], r["batch"]))
        ok = r["status"] == "ok" and ref
        r["relative_pct"] = round(100.0 * r["time_ms"] / ref, 1) if ok else None


@dataclass
class BenchReport:
    """What a run measured: ``environment``, ``settings``, ``results`` (one row per cell)
    and ``exponents`` (fitted log-log slopes per model and mode)."""

    environment: dict[str, Any]
    results: list[dict[str, Any]]
    exponents: dict[str, dict[str, dict]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "settings": self.settings,
            "results": self.results,
            "exponents": self.exponents,
        }

    def to_json(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchReport:
        return cls(
            environment=data.get("environment", {}),
            results=list(data.get("results", [])),
            exponents=data.get("exponents") or compute_exponents(data.get("results", [])),
            settings=data.get("settings", {}),
        )

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> BenchReport:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def to_csv(self, path: str | os.PathLike) -> Path:
        """The rows as CSV, one column per key in ``CSV_COLUMNS``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for row in self.results:
                writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in CSV_COLUMNS})
        return path

    def plot(self, directory: str | os.PathLike) -> list[Path]:
        """PNG plots (time vs L, memory vs L, both log-log with fitted slopes)."""
        from seqselect.bench.plots import plot_report

        return plot_report(self, Path(directory))

    def rows(self, *, model: str | None = None, mode: str | None = None) -> list[dict]:
        return [
            r for r in self.results
            if (model is None or r["model"] == model) and (mode is None or r["mode"] == mode)
        ]


# ---- the run ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _ModelPlan:
    name: str
    card: Any
    overrides: dict[str, Any]
    params: int | None  # actual parameter count at the matched width
    d_model: int | None
    n_layers: int
    n_heads: int
    error: str | None = None  # the model cannot be built at this budget: its cells say so


def _plan_model(name: str, params: int | None, overrides: dict, lengths: Sequence[int],
                d_input: int, d_output: int, causal: bool) -> _ModelPlan:
    """Validate the model and find its matched width, on the meta device (no memory)."""
    import torch

    from seqselect.models import count_parameters, create_model, model_card

    try:
        card = model_card(name)
    except KeyError as exc:
        raise SeqSelectError(str(exc).strip("'\"")) from None
    overrides = dict(overrides)
    if "max_len" in card.accepts and "max_len" not in overrides:
        # Fixed-length models (e.g. Linformer): one configuration for every length.
        overrides["max_len"] = max(lengths)
    try:
        with torch.device("meta"):
            model = create_model(name, d_input=d_input, d_output=d_output, params=params,
                                 causal=causal and card.causal, **overrides)
    except TypeError as exc:  # an override the model does not take: a usage error
        raise SeqSelectError(f"{name}: {exc}") from None
    except ValueError as exc:  # e.g. no width matches the budget: recorded, the run goes on
        return _ModelPlan(name=name, card=card, overrides=overrides, params=None,
                          d_model=None, n_layers=1, n_heads=1, error=str(exc))
    cfg = model.config
    return _ModelPlan(
        name=name, card=card, overrides=overrides, params=count_parameters(model),
        d_model=getattr(cfg, "d_model", None), n_layers=int(getattr(cfg, "n_layers", 1) or 1),
        n_heads=int(getattr(cfg, "n_heads", 1) or 1),
    )


def _estimate(plan: _ModelPlan, done: list[dict], batch: int, length: int, mode: str) -> float:
    """Measured peaks extrapolated log-log once two lengths ran; the analytic formula before."""
    ok = [r for r in done if r["status"] == "ok" and r["batch"] == batch]
    if len({r["length"] for r in ok}) >= 2:
        # Never below the largest peak measured so far at a smaller length.
        guess = extrapolate([r["length"] for r in ok], [r["peak_mb"] for r in ok], length)
        if guess is not None:
            return max([guess, *(r["peak_mb"] or 0.0 for r in ok if r["length"] <= length)])
    if mode in ("train", "infer"):
        # The advisor's per-family model (calibrated on what autograd saves, aware of
        # fused attention and chunked scans), plus gradients and Adam's two moments; for
        # inference, which keeps no activations, it is an upper bound.
        from seqselect.advisor import estimate_memory

        try:
            est = estimate_memory(plan.name, length, batch, d_model=plan.d_model)
        except (KeyError, ValueError) as exc:
            log.debug("advisor has no memory estimate for %s: %s", plan.name, exc)
        else:
            return est.bytes / memory.MB + 3 * (plan.params or 0) * 4 / memory.MB
    return memory.estimate_memory_mb(
        params=plan.params or 0, d_model=plan.d_model or 1, n_layers=plan.n_layers,
        n_heads=plan.n_heads, batch=batch, length=length, mode=mode,
        memory_complexity=plan.card.memory_complexity,
    )


def _parse_list(values: Iterable | str) -> list:
    if isinstance(values, str):
        return [v.strip() for v in values.split(",") if v.strip()]
    return list(values)


def run_bench(
    models: Sequence[str] | str,
    lengths: Sequence[int] | str,
    *,
    batch: int = 8,
    params: int | None = 100_000,
    modes: Sequence[str] | str = ("train", "infer"),
    repeats: int = 5,
    warmup: int = 2,
    device: str = "auto",
    threads: int | None = None,
    timeout_s: float = 300.0,
    d_input: int = 1,
    d_output: int = 2,
    overrides: dict[str, dict] | None = None,
    causal: bool = False,
    progress: bool | Callable[[dict], None] = True,
    memory_check: bool = True,
    memory_limit_mb: float | None = None,
    count_flops: bool = True,
) -> BenchReport:
    """Measure every (model, length, mode) cell, each in a fresh subprocess.

    Args:
        models: registered model names (``seqselect.list_models()``).
        lengths: sequence lengths L.
        batch: B, the same for every cell.
        params: parameter budget; each model's width is matched to it (±10%), so the
            models compare like with like. None keeps each model's default width.
        modes: ``train`` (forward + backward + optimizer step), ``infer`` (forward under
            inference mode), ``stream`` (per-step latency of ``step()``; streaming models
            only, others are recorded as ``unsupported``).
        repeats, warmup: timed runs (the median is reported) after untimed warm-up runs.
        device: ``auto``, ``cpu`` or ``cuda``. threads: torch intra-op threads per cell.
        timeout_s: per cell; a cell past it is recorded as ``timeout``.
        overrides: per-model config overrides, e.g. ``{"longformer": {"window": 64}}``.
        causal: build train/infer models causally (stream models always are).
        progress: True shows a progress bar on stderr; a callable gets each finished row.
        memory_check: skip a cell (status ``skipped``, with ``estimate_mb``) when its
            estimated memory exceeds the free memory.
        memory_limit_mb: cap every cell's extra address space (CPU), see ``measure_cell``.
        count_flops: count FLOPs (one more pass per cell); False leaves ``flops`` None.

    Returns:
        A :class:`BenchReport`; no cell failure raises (it is recorded in the row).

    Raises:
        SeqSelectError: an unknown model or mode, a bad length, or bad overrides.
    """
    models = _parse_list(models)
    lengths = sorted({int(n) for n in _parse_list(lengths)})
    modes = _parse_list(modes)
    overrides = overrides or {}
    if not models:
        raise SeqSelectError("no models given")
    if not lengths or lengths[0] < 1:
        raise SeqSelectError(f"lengths must be positive integers, got {lengths}")
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise SeqSelectError(f"modes must be among {', '.join(MODES)}, got {', '.join(bad) or 'none'}")
    unknown = sorted(set(overrides) - set(models))
    if unknown:
        raise SeqSelectError(f"overrides given for model(s) not in the run: {', '.join(unknown)}")
    device = resolve_device(device)
    cells = [(m, mode, n) for m in models for mode in modes for n in lengths]
    results = run_cells(
        cells, batch=batch, params=params, repeats=repeats, warmup=warmup, device=device,
        threads=threads, timeout_s=timeout_s, d_input=d_input, d_output=d_output,
        overrides=overrides, causal=causal, progress=progress, memory_check=memory_check,
        memory_limit_mb=memory_limit_mb, count_flops=count_flops,
    )
    settings = dict(models=models, lengths=lengths, batch=batch, params=params, modes=modes,
                    repeats=repeats, warmup=warmup, timeout_s=timeout_s, d_input=d_input,
                    d_output=d_output, causal=causal, overrides=overrides,
                    memory_check=memory_check)
    return BenchReport(environment=environment(device, threads), results=results,
                       exponents=compute_exponents(results), settings=settings)


def run_cells(
    cells: Sequence[tuple[str, str, int]],
    *,
    batch: int,
    params: int | None,
    repeats: int,
    warmup: int,
    device: str,
    threads: int | None = None,
    timeout_s: float = 300.0,
    d_input: int = 1,
    d_output: int = 2,
    overrides: dict[str, dict] | None = None,
    causal: bool = False,
    progress: bool | Callable[[dict], None] = False,
    memory_check: bool = True,
    memory_limit_mb: float | None = None,
    count_flops: bool = True,
    on_row: Callable[[dict], None] | None = None,
) -> list[dict[str, Any]]:
    """Run the given ``(model, mode, length)`` cells in order (one configuration for all)
    and return their rows, with the guide's view (``relative_pct``) filled in.

    Order cells by length within each (model, mode) so that the memory estimate can
    extrapolate from the lengths already measured. ``on_row`` is called with each row as
    soon as its cell ends (e.g. to save it).
    """
    overrides = overrides or {}
    device = resolve_device(device)
    lengths_by_model: dict[str, list[int]] = {}
    for m, _mode, n in cells:
        lengths_by_model.setdefault(m, []).append(n)
    plans = {
        m: _plan_model(m, params, overrides.get(m, {}), ns, d_input, d_output, causal)
        for m, ns in lengths_by_model.items()
    }
    results: list[dict[str, Any]] = []
    with _Progress(progress, len(cells)) as bar:
        for m, mode, n in cells:
            bar.describe(f"{m} {mode} L={n}")
            row = _run_one(plans[m], mode, n, results, batch=batch, params=params,
                           repeats=repeats, warmup=warmup, device=device, threads=threads,
                           timeout_s=timeout_s, d_input=d_input, d_output=d_output,
                           causal=causal, memory_check=memory_check,
                           memory_limit_mb=memory_limit_mb, count_flops=count_flops)
            results.append(row)
            log.info("cell %s %s L=%d: %s", m, mode, n, row["status"])
            bar.advance(row)
            if on_row is not None:
                on_row(row)
    add_relative(results)
    return results


def _run_one(plan: _ModelPlan, mode: str, length: int, done: list[dict], *, batch: int,
             memory_check: bool, **kw: Any) -> dict[str, Any]:
    base = {
        "model": plan.name, "length": length, "batch": batch, "params": plan.params,
        "mode": mode, "time_ms": None, "peak_mb": None, "flops": None,
        "d_model": plan.d_model, "device": kw["device"],
    }
    if plan.error is not None:
        return {**base, "status": "error", "error": plan.error}
    if mode == "stream" and not plan.card.streaming:
        return {**base, "status": "unsupported",
                "error": f"{plan.name} has no streaming step() (its card says streaming=False)"}
    max_len = plan.overrides.get("max_len", plan.card.max_len)  # the instance's, not the card's
    if max_len is not None and length > max_len:
        return {**base, "status": "unsupported",
                "error": f"{plan.name} takes at most max_len={max_len} steps"}
    same = [r for r in done if r["model"] == plan.name and r["mode"] == mode]
    estimate = _estimate(plan, same, batch, length, mode)
    free = memory.free_memory_mb(kw["device"])
    if memory_check and free is not None and estimate > FREE_MEMORY_SHARE * free:
        return {**base, "status": "skipped", "estimate_mb": round(estimate, 3),
                "error": f"estimated {estimate:,.0f} MB exceeds the free memory ({free:,.0f} MB)"}
    row = measure_cell(plan.name, length, mode, batch=batch, overrides=plan.overrides, **kw)
    # The child's values win, except where it produced none (a failed cell keeps the plan's).
    row = {**base, **{k: v for k, v in row.items() if v is not None and k != "target_params"}}
    row["estimate_mb"] = round(estimate, 3)
    for key in ("time_ms", "peak_mb"):
        if row.get(key) is not None:
            row[key] = round(row[key], 3)
    return row


class _Progress:
    """A Rich progress bar on stderr (True), a per-row callback (callable), or nothing."""

    def __init__(self, progress: bool | Callable[[dict], None], total: int):
        self.callback = progress if callable(progress) else None
        self.bar = None
        if progress is True:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(), console=Console(stderr=True), transient=True,
            )
            self.task = self.bar.add_task("bench", total=total)

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def describe(self, text: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, description=text)

    def advance(self, row: dict) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)
        if self.callback is not None:
            self.callback(row)


__all__ = [
    "CSV_COLUMNS",
    "MODES",
    "ROW_KEYS",
    "STATUSES",
    "BenchReport",
    "add_relative",
    "compute_exponents",
    "environment",
    "measure_cell",
    "resolve_device",
    "run_bench",
    "run_cells",
]
