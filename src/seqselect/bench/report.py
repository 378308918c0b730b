"""What a run measured: the cells, their scaling exponents and the guide's relative view."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqselect.bench.fit import fit_exponent
from seqselect.bench.records import CSV_COLUMNS, BenchCell


def _nan_to_none(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def compute_exponents(results: Sequence[BenchCell]) -> dict[str, dict[str, dict]]:
    """``{model: {mode: {"time": k, "memory": k, "flops": k}}}`` from the ok cells
    (None where fewer than two lengths succeeded)."""
    out: dict[str, dict[str, dict]] = {}
    groups: dict[tuple[str, str], list[BenchCell]] = {}
    for cell in results:
        groups.setdefault((cell.model, cell.mode), []).append(cell)
    for (model, mode), cells in groups.items():
        ok = [c for c in cells if c.ok]
        lengths = [c.length for c in ok]
        out.setdefault(model, {})[mode] = {
            "time": _nan_to_none(fit_exponent(lengths, [c.time_ms for c in ok])),
            "memory": _nan_to_none(fit_exponent(lengths, [c.peak_mb for c in ok])),
            "flops": _nan_to_none(fit_exponent(lengths, [c.flops for c in ok])),
        }
    return out


def add_relative(results: Sequence[BenchCell], baseline: str = "lstm") -> list[BenchCell]:
    """The guide's view: the cells with ``relative_pct`` = time / baseline's time at the
    same length, mode and batch x 100 (LSTM = 100%), where the baseline is in the run and
    its cell succeeded (None elsewhere)."""
    base = {
        (c.length, c.mode, c.batch): c.time_ms for c in results if c.model == baseline and c.ok
    }
    out = []
    for c in results:
        ref = base.get((c.length, c.mode, c.batch))
        pct = round(100.0 * c.time_ms / ref, 1) if c.ok and ref else None
        out.append(dataclasses.replace(c, relative_pct=pct))
    return out


@dataclass
class BenchReport:
    """What a run measured: ``environment``, ``settings``, ``results`` (one cell each)
    and ``exponents`` (fitted log-log slopes per model and mode)."""

    environment: dict[str, Any]
    results: list[BenchCell]
    exponents: dict[str, dict[str, dict]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "settings": self.settings,
            "results": [c.to_dict() for c in self.results],
            "exponents": self.exponents,
        }

    def to_json(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchReport:
        results = [BenchCell.from_dict(r) for r in data.get("results", [])]
        return cls(
            environment=data.get("environment", {}),
            results=results,
            exponents=data.get("exponents") or compute_exponents(results),
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
            for cell in self.results:
                row = cell.to_dict()
                writer.writerow({k: "" if row.get(k) is None else row[k] for k in CSV_COLUMNS})
        return path

    def plot(self, directory: str | os.PathLike) -> list[Path]:
        """PNG plots (time vs L, memory vs L, both log-log with fitted slopes)."""
        from seqselect.bench.plots import plot_report

        return plot_report(self.results, self.exponents, Path(directory),
                           batch=self.settings.get("batch", "?"))

    def rows(self, *, model: str | None = None, mode: str | None = None) -> list[BenchCell]:
        return [
            c for c in self.results
            if (model is None or c.model == model) and (mode is None or c.mode == mode)
        ]


__all__ = ["BenchReport", "add_relative", "compute_exponents"]
