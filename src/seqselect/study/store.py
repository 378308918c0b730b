"""A study's rows in the bake-off's results store (the same SQLite file): one row per
(study, dataset) with the bake-off run it came from, the dataset's characteristics (from
its profile), each model's score and its rank there. ``seqselect recommend --measured``
reads them back (:mod:`seqselect.advisor.measured`).

Table::

    study_datasets(study, dataset, run, task, metric, higher, characteristics, scores,
                   ranks, created, UNIQUE(study, dataset))
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DatasetRow", "StudyStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS study_datasets (
    id INTEGER PRIMARY KEY,
    study TEXT NOT NULL,
    dataset TEXT NOT NULL,
    run TEXT NOT NULL,
    task TEXT,
    metric TEXT NOT NULL,
    higher INTEGER NOT NULL,
    characteristics TEXT NOT NULL DEFAULT '{}',
    scores TEXT NOT NULL DEFAULT '{}',
    ranks TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    UNIQUE (study, dataset)
);
"""


@dataclass(frozen=True)
class DatasetRow:
    """One dataset of a study: each model's test score (mean over seeds) and rank (1 best,
    ties averaged) there, and the characteristics the advisor compares on."""

    study: str
    dataset: str
    run: str
    task: str | None
    metric: str
    higher: bool
    characteristics: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    ranks: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class StudyStore:
    """The ``study_datasets`` table of the store at ``path`` (created when missing)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30.0)
        try:
            with con:
                con.executescript(_SCHEMA)
        finally:
            con.close()

    def put(self, row: DatasetRow) -> None:
        con = sqlite3.connect(self.path, timeout=30.0)
        try:
            with con:
                con.execute(
                    "INSERT OR REPLACE INTO study_datasets (study, dataset, run, task, metric, "
                    "higher, characteristics, scores, ranks, created) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (row.study, row.dataset, row.run, row.task, row.metric, int(row.higher),
                     json.dumps(row.characteristics, default=str), json.dumps(row.scores),
                     json.dumps(row.ranks), time.strftime("%Y-%m-%dT%H:%M:%S")),
                )
        finally:
            con.close()

    def rows(self, study: str | None = None) -> list[DatasetRow]:
        """The stored datasets (of one study, or of every study), in insertion order."""
        con = sqlite3.connect(self.path, timeout=30.0)
        con.row_factory = sqlite3.Row
        try:
            query = "SELECT * FROM study_datasets"
            found = (con.execute(query + " WHERE study = ? ORDER BY id", (study,))
                     if study is not None else con.execute(query + " ORDER BY id"))
            return [
                DatasetRow(
                    study=r["study"], dataset=r["dataset"], run=r["run"], task=r["task"],
                    metric=r["metric"], higher=bool(r["higher"]),
                    characteristics=json.loads(r["characteristics"]),
                    scores=json.loads(r["scores"]), ranks=json.loads(r["ranks"]),
                )
                for r in found.fetchall()
            ]
        finally:
            con.close()
