"""Memory: a process's peak resident set, and the estimate made before a cell.

Free and total memory of the machine are :mod:`seqselect.system`'s.

Peak memory on CPU is the growth of the process's peak RSS (``VmHWM`` in
``/proc/self/status``) above a baseline taken once the model and data exist. Linux lets a
process reset its own high-water mark (``echo 5 > /proc/self/clear_refs``, Linux >= 4.0),
so what came before the baseline (imports, the width search) cannot leak into the peak.
Without ``/proc`` (macOS) the fallback is ``getrusage``'s ``ru_maxrss``, which cannot be
reset: the peak is then only an upper bound.

RSS counts what the C library keeps, not only what is live: glibc keeps freed blocks up
to 32 MB in its heap and moves its mmap threshold as blocks are freed, so the same step's
peak depended on tensor sizes (a TCN step measured 928 MB at L=1000 and 1197 MB at
L=2000; live memory is 589 and 1136 MB). A cell therefore measures its peak in its first
run under :func:`exact_allocator` (RSS follows live memory), then switches to
:func:`timing_allocator` (glibc's own largest thresholds) for the timed runs.
"""

from __future__ import annotations

import ctypes
import resource
import sys
from pathlib import Path

from seqselect.system import MB

_STATUS = Path("/proc/self/status")


def _status_kb(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def current_rss_mb() -> float:
    """Resident set size now (MB); the peak so far where /proc is missing."""
    kb = _status_kb("VmRSS")
    return kb / 1024 if kb is not None else peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (MB)."""
    kb = _status_kb("VmHWM")
    if kb is not None:
        return kb / 1024
    scale = 1 if sys.platform == "darwin" else 1024  # macOS reports bytes, Linux KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / MB


# glibc's mallopt() parameters (malloc.h) and the size from which blocks get their own mmap.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
EXACT_MMAP_THRESHOLD = 128 * 1024
GLIBC_MMAP_THRESHOLD_MAX = 32 * MB  # DEFAULT_MMAP_THRESHOLD_MAX on 64-bit glibc


def exact_allocator() -> bool:
    """Make RSS follow live memory from now on (glibc only; False elsewhere).

    Every block over 128 KiB gets its own mmap and is unmapped when freed, free heap
    memory over 128 KiB is returned to the system, and what the heap holds now is returned.
    Costs page faults on every large allocation: for memory runs, not timed ones.
    """
    return _mallopt(EXACT_MMAP_THRESHOLD, EXACT_MMAP_THRESHOLD, trim_now=True)


def timing_allocator() -> bool:
    """glibc's thresholds at their ceiling (mmap from 32 MB, trim above 64 MB): where its
    default dynamic threshold settles once large blocks have been freed."""
    return _mallopt(GLIBC_MMAP_THRESHOLD_MAX, 2 * GLIBC_MMAP_THRESHOLD_MAX)


def _mallopt(mmap_threshold: int, trim_threshold: int, trim_now: bool = False) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        ok = (libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
              and libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold))
        if trim_now:
            libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return False
    return bool(ok)


def reset_peak_rss() -> bool:
    """Reset the peak RSS to the current RSS; False where the OS does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def virtual_size_mb() -> float | None:
    """Virtual address space in use (MB), the base for an ``RLIMIT_AS`` memory limit."""
    kb = _status_kb("VmSize")
    return kb / 1024 if kb is not None else None


def limit_memory(extra_mb: float) -> None:
    """Let this process allocate at most ``extra_mb`` more address space.

    Used to make an out-of-memory cell deterministic (tests, ``memory_limit_mb``): an
    allocation past the limit fails with a Python ``MemoryError`` / torch
    ``RuntimeError`` instead of waking the kernel's OOM killer.
    """
    base = virtual_size_mb()
    if base is None:
        base = peak_rss_mb()
    limit = int((base + extra_mb) * MB)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _length_power(complexity: str) -> int:
    """2 for ``O(L^2)``-style strings, else 1 (``O(L)``, ``O(L log L)``)."""
    text = complexity.replace(" ", "").replace("²", "^2")
    return 2 if "L^2" in text or "L*L" in text else 1


def estimate_memory_mb(
    *,
    params: int,
    d_model: int,
    n_layers: int,
    n_heads: int,
    batch: int,
    length: int,
    mode: str,
    memory_complexity: str = "O(L)",
) -> float:
    """A rough estimate (MB) of a cell's peak memory growth above its baseline.

    * train: gradients and Adam's two moments (3 x params x 4 bytes), and stored
      activations, taken as 24 floats per step, layer and channel (a Transformer block
      with a 4x feed-forward stores about 20);
    * infer: transient activations of one layer (8 floats per step and channel);
    * stream: the state, at most a key/value cache of ``2 x L x D`` per layer;
    * plus, when the card's memory is O(L^2), one score matrix ``B x H x L^2`` floats
      (what a naive attention materialises; fused kernels need far less, which the
      harness learns from measurements once it has two lengths).
    """
    bytes_ = 4.0
    steps = batch * length
    if mode == "train":
        total = 3 * params * bytes_ + 24 * steps * d_model * n_layers * bytes_
    elif mode == "infer":
        total = 8 * steps * d_model * bytes_
    else:
        total = 2 * steps * d_model * n_layers * bytes_
    if mode != "stream" and _length_power(memory_complexity) == 2:
        total += batch * max(1, n_heads) * length * length * bytes_
    return total / MB
