"""The results store: one SQLite file (standard library) holding runs, trials, metrics and
benchmark cells.

Tables::

    runs(name UNIQUE, dataset, args, profile, advisor, environment, summary, created, finished)
    runs(..., protocol, test_targets)                       -- the run's Protocol, test y
    trials(run, model, seed, role, kind, fold, status, metrics, val_metrics, train_s,
           latency_ms, batch_latency_ms, step_latency_ms, peak_mb, params, history,
           predictions, val_losses, error, weights, started, finished,
           UNIQUE(run, model, seed, role))
    metrics(run, model, seed, role, split, name, value)    -- one row per number, for SQL

A trial is keyed by ``(run, model, seed, role)`` (``role``: "trial", "fold", "refit";
``kind``: "network" or "baseline"). A database written before roles existed is migrated
when opened: its trials become role "trial", kind "network" (see :func:`_migrate`).
    bench_cells(run, model, length, mode, batch, status, ms, peak_mb, params, extra, created)

The database runs in WAL mode and every write is its own transaction, so a bake-off
killed at any moment (even with SIGKILL) keeps every trial it had finished; re-running the
same ``--run`` skips them (see :meth:`ResultsStore.finished_trials`).

JSON columns hold text written by :func:`json.dumps`; nothing is ever unpickled.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from seqselect.bakeoff.records import Protocol, ScalingCell, Trial
from seqselect.errors import SeqSelectError

__all__ = ["DEFAULT_STORE", "FINISHED", "ResultsStore"]

DEFAULT_STORE = "seqselect-runs/runs.db"
#: Trial statuses that count as done: a resumed run does not repeat them. A "failed"
#: trial (an exception, e.g. out of memory) and a "running" one (the process died) are
#: tried again.
FINISHED = ("ok", "diverged")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    dataset TEXT NOT NULL,
    args TEXT NOT NULL DEFAULT '{}',
    profile TEXT NOT NULL DEFAULT '{}',
    advisor TEXT NOT NULL DEFAULT '{}',
    environment TEXT NOT NULL DEFAULT '{}',
    summary TEXT,
    created TEXT NOT NULL,
    finished TEXT,
    protocol TEXT,
    test_targets TEXT
);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY,
    run TEXT NOT NULL REFERENCES runs(name),
    model TEXT NOT NULL,
    seed INTEGER NOT NULL,
    role TEXT NOT NULL DEFAULT 'trial',
    kind TEXT NOT NULL DEFAULT 'network',
    fold INTEGER,
    status TEXT NOT NULL,
    metrics TEXT NOT NULL DEFAULT '{}',
    val_metrics TEXT NOT NULL DEFAULT '{}',
    train_s REAL,
    latency_ms REAL,
    batch_latency_ms REAL,
    step_latency_ms REAL,
    peak_mb REAL,
    params INTEGER,
    history TEXT NOT NULL DEFAULT '[]',
    predictions TEXT,
    val_losses TEXT,
    extra TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    weights TEXT,
    started TEXT,
    finished TEXT,
    UNIQUE (run, model, seed, role)
);
CREATE TABLE IF NOT EXISTS metrics (
    id INTEGER PRIMARY KEY,
    run TEXT NOT NULL,
    model TEXT NOT NULL,
    seed INTEGER NOT NULL,
    role TEXT NOT NULL DEFAULT 'trial',
    split TEXT NOT NULL,
    name TEXT NOT NULL,
    value REAL,
    UNIQUE (run, model, seed, role, split, name)
);
CREATE TABLE IF NOT EXISTS bench_cells (
    id INTEGER PRIMARY KEY,
    run TEXT NOT NULL,
    model TEXT NOT NULL,
    length INTEGER,
    mode TEXT,
    batch INTEGER,
    status TEXT NOT NULL,
    ms REAL,
    peak_mb REAL,
    params INTEGER,
    extra TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trials_run ON trials(run);
CREATE INDEX IF NOT EXISTS bench_run ON bench_cells(run);
"""

_TRIAL_COLUMNS = (
    "kind",
    "fold",
    "status",
    "train_s",
    "latency_ms",
    "batch_latency_ms",
    "step_latency_ms",
    "peak_mb",
    "params",
    "error",
    "weights",
    "started",
    "finished",
)
_TRIAL_JSON = ("metrics", "val_metrics", "history", "predictions", "val_losses", "extra")
#: The trial and metric columns an older database (before roles) has, copied on migration.
_V1_TRIAL_COLUMNS = (
    "run, model, seed, status, metrics, train_s, latency_ms, batch_latency_ms, "
    "step_latency_ms, peak_mb, params, history, extra, error, weights, started, finished"
)
_V1_METRIC_COLUMNS = "run, model, seed, split, name, value"


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in con.execute(f"PRAGMA table_info({table})")}


def _migrate(con: sqlite3.Connection) -> None:
    """Bring a database written before trial roles up to today's schema, in place.

    SQLite cannot change a UNIQUE constraint, so the old ``trials`` and ``metrics`` tables
    are renamed, recreated and copied (old trials: role "trial", kind "network"); ``runs``
    gains its ``protocol`` and ``test_targets`` columns, and ``trials`` its ``val_losses``
    (NULL for trials stored before it). A current database is untouched.
    """
    trials = _columns(con, "trials")
    if trials and "role" not in trials:
        con.execute("ALTER TABLE trials RENAME TO trials_v1")
        con.execute("ALTER TABLE metrics RENAME TO metrics_v1")
        con.execute("DROP INDEX IF EXISTS trials_run")
        con.executescript(_SCHEMA)
        con.execute(
            f"INSERT INTO trials ({_V1_TRIAL_COLUMNS}) SELECT {_V1_TRIAL_COLUMNS} "
            "FROM trials_v1 ORDER BY id"
        )
        con.execute(
            f"INSERT INTO metrics ({_V1_METRIC_COLUMNS}) SELECT {_V1_METRIC_COLUMNS} "
            "FROM metrics_v1 ORDER BY id"
        )
        con.execute("DROP TABLE trials_v1")
        con.execute("DROP TABLE metrics_v1")
    runs = _columns(con, "runs")
    for column in ("protocol", "test_targets"):
        if runs and column not in runs:
            con.execute(f"ALTER TABLE runs ADD COLUMN {column} TEXT")
    trials = _columns(con, "trials")
    if trials and "val_losses" not in trials:
        con.execute("ALTER TABLE trials ADD COLUMN val_losses TEXT")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _loads(text: str | None, default: Any) -> Any:
    if text is None or text == "":
        return default
    return json.loads(text)


def _dumps(value: Any) -> str:
    # allow_nan: diverged losses are NaN; SQLite text keeps them as the JSON NaN token.
    return json.dumps(value, default=str)


class ResultsStore:
    """A bake-off results database at ``path`` (created with its folder when missing).

    Each public method opens its own short transaction, so several processes (a bake-off
    and a ``seqselect report`` reading it) can share the file.
    """

    def __init__(self, path: str | Path = DEFAULT_STORE):
        self.path = Path(path)
        if self.path.exists() and self.path.is_dir():
            raise SeqSelectError(
                f"--store {self.path} is a folder; "
                f"give a file path such as {self.path / 'runs.db'}"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._connect() as con:
                con.execute("PRAGMA journal_mode=WAL")
                _migrate(con)
                con.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise SeqSelectError(
                f"--store {self.path} is not a seqselect results database: {exc}"
            ) from None

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30.0)
        con.row_factory = sqlite3.Row
        try:
            # synchronous=NORMAL in WAL mode is durable across a process kill (only a power
            # loss can drop the last commits), which is the failure the store guards against.
            con.execute("PRAGMA synchronous=NORMAL")
            with con:  # one transaction: commit on success, roll back on error
                yield con
        finally:
            con.close()

    @property
    def runs_dir(self) -> Path:
        """Folder beside the database for per-trial files (trained weights)."""
        return self.path.parent / (self.path.stem + "-files")

    # ---- runs -------------------------------------------------------------------------
    def get_run(self, name: str) -> dict[str, Any] | None:
        with self._connect() as con:
            row = con.execute("SELECT * FROM runs WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        out = dict(row)
        for key in ("args", "profile", "advisor", "environment"):
            out[key] = _loads(out[key], {})
        out["summary"] = _loads(out["summary"], None)
        out.pop("test_targets", None)  # large: read with protocol()
        out["protocol"] = _loads(out.get("protocol"), None)
        return out

    def list_runs(self) -> list[dict[str, Any]]:
        with self._connect() as con:
            rows = con.execute(
                "SELECT r.name, r.dataset, r.created, r.finished, "
                "(SELECT COUNT(*) FROM trials t "
                "WHERE t.run = r.name AND t.status IN ('ok', 'diverged')) AS done "
                "FROM runs r ORDER BY r.id"
            ).fetchall()
        return [dict(r) for r in rows]

    def create_run(
        self,
        name: str,
        *,
        dataset: str,
        args: dict[str, Any],
        profile: dict[str, Any],
        advisor: dict[str, Any],
        environment: dict[str, Any],
    ) -> None:
        """Insert the run, or refresh its profile/advisor/environment when it exists."""
        with self._connect() as con:
            con.execute(
                "INSERT INTO runs (name, dataset, args, profile, advisor, environment, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                "profile = excluded.profile, advisor = excluded.advisor, "
                "environment = excluded.environment, finished = NULL",
                (
                    name, dataset, _dumps(args), _dumps(profile), _dumps(advisor),
                    _dumps(environment), _now(),
                ),
            )

    def update_run_args(self, name: str, args: dict[str, Any]) -> None:
        """Replace a run's stored arguments (the budget fit changes its seeds)."""
        with self._connect() as con:
            con.execute("UPDATE runs SET args = ? WHERE name = ?", (_dumps(args), name))

    def finish_run(self, name: str, summary: dict[str, Any]) -> None:
        with self._connect() as con:
            con.execute(
                "UPDATE runs SET summary = ?, finished = ? WHERE name = ?",
                (_dumps(summary), _now(), name),
            )

    def save_protocol(self, run: str, protocol: Protocol, test_targets: list | None) -> None:
        """Store the run's protocol and its test targets (one per test example, in order:
        class ids or lists of values), for paired statistics on the same examples."""
        with self._connect() as con:
            con.execute(
                "UPDATE runs SET protocol = ?, test_targets = ? WHERE name = ?",
                (_dumps(protocol.to_dict()), _dumps(test_targets), run),
            )

    def protocol(self, run: str) -> tuple[Protocol | None, list | None]:
        """``(protocol, test_targets)`` of ``run``; ``(None, None)`` for a run stored
        before protocols were (or an unknown run)."""
        with self._connect() as con:
            row = con.execute(
                "SELECT protocol, test_targets FROM runs WHERE name = ?", (run,)
            ).fetchone()
        if row is None or row["protocol"] is None:
            return None, None
        return Protocol.from_dict(json.loads(row["protocol"])), _loads(row["test_targets"], None)

    # ---- trials -----------------------------------------------------------------------
    def start_trial(
        self, run: str, model: str, seed: int, role: str = "trial", kind: str = "network"
    ) -> None:
        """Mark (model, seed, role) running: a crash leaves it 'running', and a resume
        repeats it."""
        with self._connect() as con:
            con.execute(
                "INSERT INTO trials (run, model, seed, role, kind, status, started) "
                "VALUES (?, ?, ?, ?, ?, 'running', ?) "
                "ON CONFLICT(run, model, seed, role) DO UPDATE SET status = 'running', "
                "started = excluded.started, error = NULL, finished = NULL",
                (run, model, int(seed), role, kind, _now()),
            )

    def finish_trial(self, run: str, trial: Trial) -> None:
        """Record a finished trial and its metric rows in ONE transaction."""
        row = trial.to_dict()
        values = {c: row.get(c) for c in _TRIAL_COLUMNS}
        values["finished"] = values["finished"] or _now()
        values["started"] = values["started"] or values["finished"]
        for key in _TRIAL_JSON:
            values[key] = _dumps(getattr(trial, key))
        cols = list(values)
        with self._connect() as con:
            con.execute(
                f"INSERT INTO trials (run, model, seed, role, {', '.join(cols)}) "
                f"VALUES (?, ?, ?, ?, {', '.join('?' for _ in cols)}) "
                f"ON CONFLICT(run, model, seed, role) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in cols),
                (run, trial.model, int(trial.seed), trial.role, *values.values()),
            )
            self._replace_metric_rows(con, run, trial)

    @staticmethod
    def _replace_metric_rows(con: sqlite3.Connection, run: str, trial: Trial) -> None:
        """One ``metrics`` row per numeric test and validation metric of ``trial``."""
        key = (run, trial.model, int(trial.seed), trial.role)
        con.execute(
            "DELETE FROM metrics WHERE run = ? AND model = ? AND seed = ? AND role = ?", key
        )
        for split, metrics in (("test", trial.metrics), ("val", trial.val_metrics)):
            for name, value in metrics.items():
                if isinstance(value, (int, float)):
                    con.execute(
                        "INSERT INTO metrics (run, model, seed, role, split, name, value) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (*key, split, name, float(value)),
                    )

    def trials(self, run: str) -> list[Trial]:
        """Every trial of ``run`` (in insertion order)."""
        with self._connect() as con:
            rows = con.execute("SELECT * FROM trials WHERE run = ? ORDER BY id", (run,)).fetchall()
        out = []
        for row in rows:
            item = dict(row)
            item.pop("id", None)
            item["metrics"] = _loads(item["metrics"], {})
            item["val_metrics"] = _loads(item["val_metrics"], {})
            item["history"] = _loads(item["history"], [])
            item["predictions"] = _loads(item["predictions"], None)
            item["val_losses"] = _loads(item["val_losses"], None)
            item["extra"] = _loads(item["extra"], {})
            out.append(Trial.from_dict(item))
        return out

    def finished_trials(self, run: str) -> set[tuple[str, int, str]]:
        """Keys ``(model, seed, role)`` (:attr:`Trial.key`) of ``run``'s trials that a
        resume must not repeat."""
        statuses = ", ".join("?" for _ in FINISHED)
        with self._connect() as con:
            rows = con.execute(
                f"SELECT model, seed, role FROM trials WHERE run = ? AND status IN ({statuses})",
                (run, *FINISHED),
            ).fetchall()
        return {(r["model"], int(r["seed"]), r["role"]) for r in rows}

    def metric_rows(self, run: str) -> list[dict[str, Any]]:
        with self._connect() as con:
            rows = con.execute(
                "SELECT model, seed, role, split, name, value FROM metrics WHERE run = ? "
                "ORDER BY id",
                (run,),
            ).fetchall()
        return [dict(r) for r in rows]

    # ---- benchmark cells --------------------------------------------------------------
    def add_bench_cells(self, run: str, cells: list[ScalingCell]) -> None:
        """Store benchmark cells (model x length x mode) for the report's scaling plots."""
        with self._connect() as con:
            for cell in cells:
                con.execute(
                    "INSERT INTO bench_cells (run, model, length, mode, batch, status, ms, "
                    "peak_mb, params, extra, created) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run, cell.model, cell.length, cell.mode, cell.batch, cell.status,
                        cell.ms, cell.peak_mb, cell.params, _dumps(cell.extra), _now(),
                    ),
                )

    def bench_cells(self, run: str) -> list[ScalingCell]:
        with self._connect() as con:
            rows = con.execute(
                "SELECT * FROM bench_cells WHERE run = ? ORDER BY id", (run,)
            ).fetchall()
        return [
            ScalingCell.from_dict({**dict(row), "extra": _loads(row["extra"], {})}) for row in rows
        ]
