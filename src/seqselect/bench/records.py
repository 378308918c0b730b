"""The benchmark's records: one :class:`BenchCell` per measured (model, length, mode).

A cell crosses three boundaries (child process -> harness -> report/JSON/CSV -> verify and
the advisor) as this one typed record; its ``to_dict()`` is the JSON row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

MODES = ("train", "infer", "stream")
STATUSES = ("ok", "oom", "timeout", "error", "skipped", "unsupported")
# The documented keys of every row (null when not measured).
ROW_KEYS = ("model", "length", "batch", "params", "mode", "time_ms", "peak_mb", "flops", "status")
# Written in every row, null or not (the harness has always written these); every other
# key is written only when set.
ALWAYS_WRITTEN = frozenset((*ROW_KEYS, "d_model", "device", "relative_pct"))
CSV_COLUMNS = (
    *ROW_KEYS,
    "d_model",
    "relative_pct",
    "estimate_mb",
    "threads",
    "device",
    "rtf",
    "error",
)


@dataclass(frozen=True)
class BenchCell:
    """One benchmark cell's row.

    The fields in ``ALWAYS_WRITTEN`` are always written by :meth:`to_dict` (None as
    null); the others only when they are not None, so a row has the keys the harness has
    always written. Keys this record does not know (e.g. from a newer file) stay in ``extra``
    and are written back unchanged.
    """

    model: str | None
    length: int
    batch: int
    mode: str
    status: str
    params: int | None = None
    time_ms: float | None = None
    peak_mb: float | None = None  # MiB above the cell's baseline
    flops: int | None = None
    d_model: int | None = None
    device: str | None = None
    error: str | None = None
    times_ms: list[float] | None = None  # the timed repeats (train, infer)
    time_p90_ms: float | None = None  # stream: 90th percentile step latency
    steps: int | None = None  # stream: steps per pass
    passes: int | None = None  # stream: timed passes
    pid: int | None = None  # the child process that measured the cell
    load_avg: float | None = None  # 1-minute load average when the cell ended
    threads: int | None = None
    memory_method: str | None = None
    phases_s: dict[str, float] | None = None  # setup, measure, flops, total, startup
    baseline_mb: float | None = None
    wall_s: float | None = None
    partial: dict[str, Any] | None = None  # runs_done, run_ms of a cell cut short
    estimate_mb: float | None = None  # the estimate made before the cell ran
    relative_pct: float | None = None  # time as % of the baseline model's (LSTM = 100)
    target_params: int | None = None  # the parameter budget (measure_cell rows)
    impl: str | None = None  # bare-attention cells: naive or sdpa
    sample_rate: int | None = None  # stream: Hz of the audio the steps stand for
    rtf: float | None = None  # stream: real-time factor, processing time / audio duration
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        """The JSON row: ``ALWAYS_WRITTEN`` keys always, the others only when set."""
        row: dict[str, Any] = {}
        for f in _ORDER:
            value = getattr(self, f)
            if f in ALWAYS_WRITTEN or value is not None:
                row[f] = value
        row.update(self.extra)
        return row

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BenchCell:
        known = {k: v for k, v in data.items() if k in _FIELDS}
        extra = {k: v for k, v in data.items() if k not in _FIELDS and k != "extra"}
        return cls(**{"length": 0, "batch": 0, "mode": "", "status": "error", "model": None,
                      **known, "extra": extra})


# The order of a row's keys in JSON: the order rows have always had (the plan's keys,
# then the child's, then the harness's notes).
_ORDER = (
    "model", "length", "batch", "params", "mode", "time_ms", "peak_mb", "flops", "d_model",
    "device", "status", "error", "times_ms", "time_p90_ms", "steps", "passes", "pid",
    "load_avg", "threads", "memory_method", "phases_s", "baseline_mb", "wall_s", "partial",
    "estimate_mb", "relative_pct", "target_params", "impl", "sample_rate", "rtf",
)
_FIELDS = frozenset(f.name for f in fields(BenchCell)) - {"extra"}

def real_time_factor(step_ms: float, sample_rate: int, samples_per_step: int = 1) -> float:
    """Processing time over audio duration for a stream of steps of ``step_ms`` each.

    One step consumes ``samples_per_step`` samples (1 for a per-sample ``step()``, the hop
    for one that takes a frame), i.e. ``samples_per_step / sample_rate`` seconds of audio,
    so ``rtf = step_s * sample_rate / samples_per_step``; below 1 keeps up with real time.
    """
    if sample_rate <= 0 or samples_per_step <= 0:
        raise ValueError(f"sample_rate and samples_per_step must be positive, got "
                         f"{sample_rate} and {samples_per_step}")
    return step_ms / 1000.0 * sample_rate / samples_per_step


__all__ = ["ALWAYS_WRITTEN", "CSV_COLUMNS", "MODES", "ROW_KEYS", "STATUSES", "BenchCell",
           "real_time_factor"]
