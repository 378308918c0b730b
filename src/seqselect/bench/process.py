"""Start one cell in a fresh process and turn whatever happens to it into a row part.

``forkserver``: a server process imports torch, seqselect and torch._dynamo (which every
optimizer and the FLOP counter import on first use) once; each cell is a fresh process
forked from it, which saves the 3-7 s of imports a cell would otherwise pay.
``subprocess``: ``python -m seqselect.bench.cell`` per cell (the fallback where fork is
unavailable). Set SEQSELECT_BENCH_START to choose.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from seqselect.bench.cell import MARKER, PARTIAL_MARKER
from seqselect.errors import SeqSelectError

START_METHODS = ("forkserver", "subprocess")
_PRELOAD = ["seqselect.bench.cell", "seqselect.models.zoo", "torch._dynamo"]
_SIGKILL = 9
# The forkserver context, made on first use (its server starts with the first cell).
_forkserver_ctx = None

# What comes back from a child: (result, exit code, output tail, last progress); exit
# code None means the time-out passed.
ChildOutcome = tuple[dict | None, int | None, str, dict | None]


def child_env(threads: int | None) -> dict[str, str]:
    """The child's environment: this seqselect importable, OpenMP sized like torch."""
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2])  # the folder holding seqselect/
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def start_method() -> str:
    """``forkserver`` where available (or asked for), else ``subprocess``."""
    method = os.environ.get("SEQSELECT_BENCH_START", "auto")
    if method == "auto":
        available = multiprocessing.get_all_start_methods()
        return "forkserver" if "forkserver" in available else "subprocess"
    if method not in START_METHODS:
        raise SeqSelectError(
            f"SEQSELECT_BENCH_START must be forkserver or subprocess, got {method!r}"
        )
    return method


def _forkserver_context():
    global _forkserver_ctx
    if _forkserver_ctx is None:
        _forkserver_ctx = multiprocessing.get_context("forkserver")
        _forkserver_ctx.set_forkserver_preload(_PRELOAD)
    return _forkserver_ctx


def run_child(args: dict[str, Any], timeout_s: float, threads: int | None) -> dict[str, Any]:
    """Run one cell in a fresh process and turn whatever happens into a row part.

    A cell that times out or is killed after at least one complete run keeps what those
    runs measured: ``peak_mb`` (every run allocates alike, so it is the cell's peak) and
    ``partial`` (runs done, their times); ``time_ms`` stays None.
    """
    start = time.perf_counter()
    if start_method() == "forkserver":
        result, returncode, tail, partial = run_forked(args, timeout_s)
    else:
        result, returncode, tail, partial = run_subprocess(args, timeout_s, threads)
    wall = round(time.perf_counter() - start, 2)
    if result is not None:
        result["wall_s"] = wall
        if "phases_s" in result:  # process start-up (and imports, for subprocess)
            result["phases_s"]["startup"] = round(wall - result["phases_s"]["total"], 3)
        return result
    row = failure_row(returncode, tail, timeout_s)
    row["wall_s"] = wall
    if partial and partial.get("runs_done"):
        row["peak_mb"] = partial["peak_mb"]
        row["partial"] = {k: partial[k] for k in ("runs_done", "run_ms")}
        row["error"] += (f" (after {partial['runs_done']} complete run(s), peak "
                         f"{partial['peak_mb']:.0f} MB)")
    return row


def failure_row(returncode: int | None, tail: str, timeout_s: float) -> dict[str, Any]:
    """``status`` and ``error`` of a child that sent no result."""
    if returncode is None:
        return {"status": "timeout", "error": f"no result within the {timeout_s:g} s time-out"}
    if returncode == -_SIGKILL:
        return {"status": "oom",
                "error": "killed by SIGKILL (most likely the kernel's out-of-memory killer)"}
    if returncode < 0:
        return {"status": "error", "error": f"killed by signal {-returncode}"}
    status = "oom" if "MemoryError" in tail or "out of memory" in tail.lower() else "error"
    return {"status": status, "error": f"exit code {returncode}: {tail or 'no output'}"}


def _receive(receive, deadline: float) -> tuple[dict | None, dict | None, bool]:
    """(result, last progress, timed out) from a forked child's pipe."""
    result = partial = None
    try:
        while result is None:
            if not receive.poll(max(0.0, deadline - time.monotonic())):
                return None, partial, True
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
    return result, partial, False


_FORK_HINT = (
    "the cell's process failed before it could run (traceback on stderr). If you call "
    "run_bench from a script, guard the call with `if __name__ == '__main__':` (the fork "
    "server imports your script, as in any multiprocessing code), or set "
    "SEQSELECT_BENCH_START=subprocess"
)


def run_forked(args: dict[str, Any], timeout_s: float) -> ChildOutcome:
    """One cell forked from the fork server, its result read from a pipe."""
    from seqselect.bench.cell import child_main

    ctx = _forkserver_context()
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=child_main, args=(args, send), daemon=True)
    deadline = time.monotonic() + timeout_s
    proc.start()
    send.close()  # the child holds the only sending end: its death reads as EOF here
    result, partial, timed_out = _receive(receive, deadline)
    if timed_out:
        proc.kill()
    proc.join(timeout=30)
    if proc.is_alive():
        proc.kill()
        proc.join()
    if timed_out:
        return None, None, "", partial
    failed_early = result is None and proc.exitcode is not None and proc.exitcode > 0
    hint = _FORK_HINT if failed_early else ""
    return result, proc.exitcode if result is None else 0, hint, partial


def parse_output(stdout: str | bytes | None) -> tuple[dict | None, dict | None]:
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


def run_subprocess(args: dict[str, Any], timeout_s: float, threads: int | None) -> ChildOutcome:
    """One cell as ``python -m seqselect.bench.cell '<json>'``, its result read from stdout."""
    cmd = [sys.executable, "-m", "seqselect.bench.cell", json.dumps(args)]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout_s, env=child_env(threads)
        )
    except subprocess.TimeoutExpired as exc:
        return None, None, "", parse_output(exc.stdout)[1]
    result, partial = parse_output(proc.stdout)
    tail = "" if result else (proc.stderr or proc.stdout).strip()[-1500:]
    return result, proc.returncode, tail, partial


__all__ = ["START_METHODS", "child_env", "parse_output", "run_child", "start_method"]
