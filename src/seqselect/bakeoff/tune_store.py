"""The hyper-parameter searches' table in the bake-off's results store (the same SQLite
file as :class:`~seqselect.bakeoff.store.ResultsStore`).

Optuna's own RDB storage cannot share the file: its schema has a ``trials`` table, which
the results store already has. So each finished configuration is one row here, written
in its own transaction as it ends, and a resumed search replays the rows into a fresh
Optuna study (:func:`seqselect.bakeoff.tune.replay`): a run killed with SIGKILL keeps
every finished configuration and repeats none.

Table::

    tune_configs(run, model, number, state, params, value, intermediate, config,
                 wall_s, extra, finished, UNIQUE(run, model, number))

``state`` is Optuna's: ``COMPLETE``, ``PRUNED`` or ``FAIL``; ``intermediate`` the
validation score per validation point (``{step: score}``), ``config`` the model's full
config as built (the parameter-matched width for the searched depth).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ConfigRow", "TuneStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tune_configs (
    id INTEGER PRIMARY KEY,
    run TEXT NOT NULL,
    model TEXT NOT NULL,
    number INTEGER NOT NULL,
    state TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    value REAL,
    intermediate TEXT NOT NULL DEFAULT '{}',
    config TEXT NOT NULL DEFAULT '{}',
    wall_s REAL,
    extra TEXT NOT NULL DEFAULT '{}',
    finished TEXT NOT NULL,
    UNIQUE (run, model, number)
);
CREATE INDEX IF NOT EXISTS tune_run ON tune_configs(run);
"""


@dataclass(frozen=True)
class ConfigRow:
    """One finished configuration of a candidate's search."""

    model: str
    number: int  # the Optuna trial number within the candidate's study
    state: str  # COMPLETE | PRUNED | FAIL
    params: dict[str, Any]
    value: float | None  # the validation score (the task's metric); None when it failed
    intermediate: dict[int, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    wall_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "number": self.number, "state": self.state,
            "params": self.params, "value": self.value,
            "intermediate": {str(k): v for k, v in self.intermediate.items()},
            "config": self.config, "wall_s": self.wall_s, "extra": self.extra,
        }


class TuneStore:
    """The ``tune_configs`` table of the store at ``path`` (created when missing)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with self._connect() as con:
            con.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30.0)
        con.row_factory = sqlite3.Row
        return con

    def add(self, run: str, row: ConfigRow) -> None:
        """Commit one finished configuration (its own transaction)."""
        con = self._connect()
        try:
            with con:
                con.execute(
                    "INSERT OR REPLACE INTO tune_configs (run, model, number, state, params, "
                    "value, intermediate, config, wall_s, extra, finished) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run, row.model, row.number, row.state, json.dumps(row.params),
                        row.value, json.dumps({str(k): v for k, v in row.intermediate.items()}),
                        json.dumps(row.config, default=str), row.wall_s,
                        json.dumps(row.extra, default=str), time.strftime("%Y-%m-%dT%H:%M:%S"),
                    ),
                )
        finally:
            con.close()

    def rows(self, run: str, model: str | None = None) -> list[ConfigRow]:
        """The finished configurations of ``run`` (one model's, or all), by number."""
        query = "SELECT * FROM tune_configs WHERE run = ?"
        args: tuple = (run,)
        if model is not None:
            query += " AND model = ?"
            args = (run, model)
        con = self._connect()
        try:
            found = con.execute(query + " ORDER BY model, number", args).fetchall()
        finally:
            con.close()
        return [
            ConfigRow(
                model=r["model"], number=r["number"], state=r["state"],
                params=json.loads(r["params"]), value=r["value"],
                intermediate={int(k): v for k, v in json.loads(r["intermediate"]).items()},
                config=json.loads(r["config"]), wall_s=r["wall_s"] or 0.0,
                extra=json.loads(r["extra"]),
            )
            for r in found
        ]
