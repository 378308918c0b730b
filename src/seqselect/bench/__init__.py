"""The measurement harness: speed, latency, memory, FLOPs and scaling across lengths.

    from seqselect.bench import run_bench
    report = run_bench(["lstm", "tcn", "transformer"], [256, 1024], modes=("train", "infer"))
    report.results      # one row per (model, length, mode) cell
    report.exponents    # {"tcn": {"train": {"time": 1.0, "memory": 1.0, "flops": 1.0}}}
    report.to_json("bench.json"); report.to_csv("bench.csv"); report.plot("plots/")

Each cell runs in a fresh subprocess (``python -m seqselect.bench.cell``), so its peak
memory is its own and an out-of-memory or a time-out is a recorded result.
``verify_claims`` re-measures the guide's quantitative claims (``claims.json``).

The package itself is callable, so ``seqselect.bench(...)`` is ``run_bench(...)``, as
the issue spells it; ``seqselect.run_bench`` is the same function under its own name.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from seqselect.bench.fit import extrapolate, fit_exponent, local_exponent
from seqselect.bench.harness import (
    CSV_COLUMNS,
    MODES,
    ROW_KEYS,
    STATUSES,
    BenchReport,
    compute_exponents,
    measure_cell,
    run_bench,
)
from seqselect.bench.memory import estimate_memory_mb, free_memory_mb

__all__ = [
    "CSV_COLUMNS",
    "MODES",
    "ROW_KEYS",
    "STATUSES",
    "BenchReport",
    "compute_exponents",
    "estimate_memory_mb",
    "extrapolate",
    "fit_exponent",
    "free_memory_mb",
    "local_exponent",
    "measure_cell",
    "run_bench",
]


class _CallableModule(types.ModuleType):
    """``seqselect.bench(...)`` runs :func:`run_bench`. Assigning a module's ``__class__``
    is the documented way to customise a module (Python reference, "Customizing module
    attribute access"); attribute access is unchanged."""

    def __call__(self, *args: Any, **kwargs: Any) -> BenchReport:
        return run_bench(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
