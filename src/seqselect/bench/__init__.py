"""The measurement harness: speed, latency, memory, FLOPs and scaling across lengths.

    from seqselect.bench import run_bench
    report = run_bench(["lstm", "tcn", "transformer"], [256, 1024], modes=("train", "infer"))
    report.results      # one BenchCell per (model, length, mode) cell
    report.exponents    # {"tcn": {"train": {"time": 1.0, "memory": 1.0, "flops": 1.0}}}
    report.to_json("bench.json"); report.to_csv("bench.csv"); report.plot("plots/")

Each cell runs in a fresh subprocess (``python -m seqselect.bench.cell``, or forked from a
fork server), so its peak memory is its own and an out-of-memory or a time-out is a
recorded result. ``seqselect.bench.verify.verify_claims`` re-measures the guide's
quantitative claims (``claims.json``).
"""

from __future__ import annotations

from seqselect.bench.fit import extrapolate, fit_exponent, local_exponent
from seqselect.bench.harness import measure_cell, run_bench, run_cells
from seqselect.bench.memory import estimate_memory_mb
from seqselect.bench.records import CSV_COLUMNS, MODES, ROW_KEYS, STATUSES, BenchCell
from seqselect.bench.report import BenchReport, add_relative, compute_exponents
from seqselect.bench.settings import BenchSettings
from seqselect.system import free_memory_mb

__all__ = [
    "CSV_COLUMNS",
    "MODES",
    "ROW_KEYS",
    "STATUSES",
    "BenchCell",
    "BenchReport",
    "BenchSettings",
    "add_relative",
    "compute_exponents",
    "estimate_memory_mb",
    "extrapolate",
    "fit_exponent",
    "free_memory_mb",
    "local_exponent",
    "measure_cell",
    "run_bench",
    "run_cells",
]
