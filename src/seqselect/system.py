"""The machine: which device to run on, how much memory is free, and a description of
the environment that every timing is stored with.

One ``resolve_device`` and one ``describe_environment`` serve the trainer, the bench and
the bake-off, so a stored bench cell and a stored trial describe the machine alike.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

from seqselect.errors import SeqSelectError
from seqselect.version import __version__

MB = 1024 * 1024


#: The numba threading layer seqselect asks for (see :func:`keep_numba_off_torch_openmp`).
NUMBA_LAYER = "workqueue"


def keep_numba_off_torch_openmp() -> None:
    """Ask numba (aeon's MiniRocket, librosa) for its own thread pool, not OpenMP's.

    Why: numba's default ``omp`` layer loads ``libgomp.so.1``; torch already holds a
    library of that name, so the two share one OpenMP runtime, and after one MiniRocket
    fit every later torch training step ran about 30% slower, for the rest of the process
    (OSULeaf, cnn1d, 2 threads: 1,137 steps in a 16 s trial without the baseline before
    it, 804 with it; with the ``workqueue`` layer the slowdown is gone and MiniRocket is
    as fast). A user's own ``NUMBA_THREADING_LAYER`` is kept. It works until numba first
    runs a parallel function, so :mod:`seqselect` calls it on import.
    """
    if os.environ.get("NUMBA_THREADING_LAYER"):
        return
    os.environ["NUMBA_THREADING_LAYER"] = NUMBA_LAYER  # numba not loaded yet: read on import
    numba = sys.modules.get("numba")
    if numba is not None:  # already loaded: the layer is chosen at the first parallel launch
        numba.config.THREADING_LAYER = NUMBA_LAYER


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"auto"`` (or None) picks CUDA, then MPS, then CPU; a named device must be usable.

    Raises:
        SeqSelectError: a device this machine does not have, or a string torch cannot read.
    """
    if device is None or str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:  # torch: an unknown device string
        raise SeqSelectError(f"--device {device!r}: {exc}; use auto, cpu or cuda[:N]") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise SeqSelectError(
            f"device {str(device)!r} requested but CUDA is not available here; use --device cpu"
        )
    if resolved.type not in ("cpu", "cuda", "mps"):
        raise SeqSelectError(f"device must be auto, cpu or cuda[:N], got {str(device)!r}")
    return resolved


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def process_age_s(stat: str, uptime: str, ticks_per_s: int) -> float:
    """Seconds since the process started, from its ``/proc/<pid>/stat`` line (field 22,
    ``starttime``, is in clock ticks since boot) and ``/proc/uptime`` (seconds since boot).

    Raises:
        ValueError, IndexError: text that is not in those files' formats.
    """
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": field 3 onwards
    started = int(fields[22 - 3]) / ticks_per_s
    return max(0.0, float(uptime.split()[0]) - started)


def process_start_reading() -> float:
    """The ``time.perf_counter()`` reading at which this process started, so a budget
    can count the interpreter's start-up and imports (about 3 s with torch on a 2-core
    machine); where ``/proc`` is not there, the reading now."""
    now = time.perf_counter()
    try:
        age = process_age_s(
            Path("/proc/self/stat").read_text(), Path("/proc/uptime").read_text(),
            os.sysconf("SC_CLK_TCK"),
        )
    except (OSError, ValueError, IndexError, AttributeError):
        return now
    return now - age


def _cpu_times() -> tuple[float, float] | None:
    """(busy, total) jiffies of all CPUs from ``/proc/stat`` (None where it is absent)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    values = [float(v) for v in fields[:8]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def busy_cores(interval: float = 0.5) -> float | None:
    """How many cores other work keeps busy now: CPU time spent over ``interval`` seconds
    of wall time, in cores (Linux ``/proc/stat``; None elsewhere).

    Why not the 1-minute load average: it lags by a minute, so a bake-off started right
    after another read its predecessor's load as "busy" (every other dataset of a
    benchmark ran single-threaded)."""
    first = _cpu_times()
    if first is None:
        return None
    time.sleep(interval)
    second = _cpu_times()
    if second is None or second[1] <= first[1]:
        return None
    cores = os.cpu_count() or 1
    return cores * (second[0] - first[0]) / (second[1] - first[1])


def cpu_model() -> str:
    """The CPU's marketing name from ``/proc/cpuinfo`` (or what ``platform`` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _meminfo_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def free_memory_mb(device: str | torch.device = "cpu") -> float | None:
    """Memory new work can use: ``MemAvailable`` on CPU, free device memory on CUDA."""
    if str(device).startswith("cuda"):
        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return free / MB
    return _meminfo_mb("MemAvailable")


def total_memory_mb() -> float | None:
    """The machine's RAM (``MemTotal``), MB."""
    return _meminfo_mb("MemTotal")


def describe_environment(
    device: str | torch.device = "cpu", threads: int | None = None
) -> dict[str, Any]:
    """What the numbers depend on: versions, CPU, cores, threads, memory, device, load.

    No host name and no user name: the dict is stored with results and shown in reports.
    """
    import numpy

    device = str(device)
    env: dict[str, Any] = {
        "seqselect": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cores": usable_cores(),
        "threads": threads or torch.get_num_threads(),
        "device": device,
        "memory_total_mb": total_memory_mb(),
        "memory_available_mb": free_memory_mb("cpu"),
        "load_average": [round(x, 2) for x in os.getloadavg()]
        if hasattr(os, "getloadavg")
        else None,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(torch.device(device))
        env.update(gpu=props.name, gpu_memory_mb=props.total_memory / MB, cuda=torch.version.cuda)
    for module in ("onnxruntime", "ray"):
        if module in sys.modules:
            env[module] = getattr(sys.modules[module], "__version__", "?")
    return env
