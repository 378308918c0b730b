"""Measured evidence for the advisor: how each model ranked in stored ``seqselect study``
runs on datasets like the user's (``seqselect recommend --measured STORE``).

A stored dataset (:mod:`seqselect.study.store`) is *similar* when, for each
characteristic the user's data has: the data type is the same, the typical length is
within a factor :data:`LENGTH_FACTOR` and the number of training examples within a factor
:data:`SIZE_FACTOR`. Each model's evidence is its mean rank over the similar datasets it
was measured on (1 = best there) and how many datasets that is; the guide's rules are
shown beside it, not changed by it.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqselect.errors import SeqSelectError

__all__ = [
    "LENGTH_FACTOR", "SIZE_FACTOR", "Evidence", "ModelEvidence", "is_results_store",
    "measured_evidence", "similar",
]

LENGTH_FACTOR = 4.0
SIZE_FACTOR = 4.0
_SQLITE_MAGIC = b"SQLite format 3\x00"


def is_results_store(path: str | Path) -> bool:
    """Whether ``path`` is an SQLite file (a results store), not a bench JSON."""
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == _SQLITE_MAGIC
    except OSError:
        return False


def _within(a: float | None, b: float | None, factor: float) -> bool:
    if a is None or b is None or a <= 0 or b <= 0:
        return True  # unknown on either side: not a reason to leave the dataset out
    return abs(math.log(a / b)) <= math.log(factor)


def similar(stored: dict[str, Any], query: dict[str, Any]) -> bool:
    """``stored`` (a study row's characteristics) against the user's ``query``
    (``seq_len``, ``data_type``, ``n_examples``; None: any)."""
    kind = query.get("data_type")
    if kind is not None and stored.get("data_type") not in (None, kind):
        return False
    return (_within(stored.get("length"), query.get("seq_len"), LENGTH_FACTOR)
            and _within(stored.get("n_train"), query.get("n_examples"), SIZE_FACTOR))


@dataclass(frozen=True)
class ModelEvidence:
    model: str
    mean_rank: float
    n_datasets: int
    firsts: int  # similar datasets where it ranked first (ties included)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Evidence:
    store: str
    n_stored: int  # datasets in the store's studies
    datasets: list[str]  # the similar ones
    models: list[ModelEvidence]  # by mean rank
    criteria: dict[str, Any] = field(default_factory=dict)

    @property
    def n_datasets(self) -> int:
        return len(self.datasets)

    def sentence(self) -> str:
        if not self.n_stored:
            return f"{self.store} holds no study: run `seqselect study` to measure some."
        if not self.datasets:
            return (f"none of the {self.n_stored} dataset(s) studied in {self.store} is "
                    "similar to this data: no measured evidence.")
        return (f"measured evidence rests on {self.n_datasets} of {self.n_stored} stored "
                f"dataset(s) similar to this data (same type, length within x{LENGTH_FACTOR:g},"
                f" training examples within x{SIZE_FACTOR:g}).")

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store, "n_stored": self.n_stored, "n_datasets": self.n_datasets,
            "datasets": self.datasets, "models": [m.to_dict() for m in self.models],
            "criteria": self.criteria, "sentence": self.sentence(),
        }


def measured_evidence(store: str | Path, query: dict[str, Any]) -> Evidence:
    """Each model's ranks on the stored study datasets similar to ``query``."""
    from seqselect.study.store import StudyStore

    path = Path(store)
    if not is_results_store(path):
        raise SeqSelectError(f"--measured {path}: not a results store (SQLite) or bench JSON")
    try:
        rows = StudyStore(path).rows()
    except sqlite3.DatabaseError as exc:
        raise SeqSelectError(f"--measured {path}: cannot read it ({exc})") from None
    latest = {r.dataset: r for r in rows}  # a dataset studied twice: its latest study
    close = [r for r in latest.values() if similar(r.characteristics, query)]
    ranks: dict[str, list[float]] = {}
    for row in close:
        for model, rank in row.ranks.items():
            ranks.setdefault(model, []).append(float(rank))
    models = sorted(
        (ModelEvidence(m, sum(v) / len(v), len(v), sum(1 for r in v if r <= 1.0 + 1e-9))
         for m, v in ranks.items()),
        key=lambda e: (e.mean_rank, -e.n_datasets, e.model),
    )
    criteria = {k: query.get(k) for k in ("data_type", "seq_len", "n_examples")}
    return Evidence(str(path), len(latest), [r.dataset for r in close], models, criteria)
