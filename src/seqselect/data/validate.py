"""Checks that run before any training, each failing with one :class:`DataError` message.

A message names the file, the row and the column, says what was found and what is
expected, and how to fix it. Row numbers follow what a user sees:

* CSV: the spreadsheet row, i.e. the line of the file (the header is row 1, so the first
  data row is row 2);
* Parquet: the data row counted from 1 (the header is not a row);
* NPZ: the 0-based index into the array, written as ``X[17]``.

Nothing here writes to the user's file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqselect.errors import DataError

#: Cell texts read as "missing" (besides the empty cell), case-insensitive.
MISSING_TOKENS = frozenset({"nan", "na", "n/a", "null", "none", "?", "-", "#n/a"})
IMPUTE_METHODS = ("zero", "ffill", "mean")
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".parquet", ".pq")
FILE_SUFFIXES = (*TABLE_SUFFIXES, ".npz")


def file_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith(".npz"):
        return "npz"
    if name.endswith((".csv", ".tsv", ".txt", ".csv.gz")):
        return "csv"
    raise DataError(
        f"{path}: unsupported file type {path.suffix or '(no extension)'!r}; "
        "use .csv, .tsv, .parquet or .npz"
    )


def check_readable(path: Path) -> None:
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a .csv, .parquet or .npz file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty (0 bytes)")


@dataclass(frozen=True)
class Where:
    """How to name a row of one file in messages."""

    file: str
    kind: str  # "csv" | "parquet" | "npz" | "bundled"

    def row(self, index: int) -> str:
        """Name data row ``index`` (0-based position among the data rows)."""
        if self.kind == "csv":
            return f"row {index + 2}"
        if self.kind == "parquet":
            return f"row {index + 1}"
        return f"index {index}"

    @property
    def convention(self) -> str:
        if self.kind == "csv":
            return " (rows as in a spreadsheet: the header is row 1)"
        if self.kind == "parquet":
            return " (data rows counted from 1)"
        return ""


def check_impute(impute: str | None) -> None:
    if impute is not None and impute not in IMPUTE_METHODS:
        raise DataError(
            f"unknown impute method {impute!r}; choose one of {', '.join(IMPUTE_METHODS)}"
        )


def _more(count: int, what: str) -> str:
    return f" ({count - 1} more {what} in the file)" if count > 1 else ""


def parse_numeric_cells(
    cells: np.ndarray, columns: Sequence[str], where: Where, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse a 2-D array of cell texts to float64.

    Args:
        cells: ``(R, K)`` str array (empty string = empty cell).
        columns: the K column names, for messages.
        where: the file, for messages.
        rows: the data-row index of each of the R rows (default ``arange(R)``).

    Returns:
        ``values (R, K)`` float64 with NaN where missing, ``empty (R, K)`` bool (the cell
        was empty), ``missing (R, K)`` bool (empty or a missing-value word like NaN).

    Raises:
        DataError: a non-numeric value or an infinity, naming the first one and the count.
    """
    if rows is None:
        rows = np.arange(cells.shape[0])
    stripped = np.char.strip(cells.astype(str))
    empty = stripped == ""
    missing_word = np.isin(np.char.lower(stripped), list(MISSING_TOKENS))
    flat = stripped.ravel()
    import pandas as pd

    parsed = pd.to_numeric(
        pd.Series(flat, dtype=object).where(~(empty | missing_word).ravel()), errors="coerce"
    )
    values = parsed.to_numpy(dtype=np.float64).reshape(cells.shape)
    bad = np.isnan(values) & ~empty & ~missing_word
    if bad.any():
        r, k = np.argwhere(bad)[0]
        raise DataError(
            f"{where.file}: {where.row(int(rows[r]))}, column {str(columns[k])!r}: "
            f"{str(stripped[r, k])!r} "
            f"is not a number{where.convention}; every step/value column must hold numbers"
            f"{_more(int(bad.sum()), 'non-numeric cells')}"
        )
    inf = np.isinf(values)
    if inf.any():
        r, k = np.argwhere(inf)[0]
        raise DataError(
            f"{where.file}: {where.row(int(rows[r]))}, column {str(columns[k])!r}: "
            f"{str(stripped[r, k])!r} "
            f"is infinite{where.convention}; expected finite numbers"
            f"{_more(int(inf.sum()), 'infinite cells')}"
        )
    return values, empty, empty | missing_word


def missing_error(
    where: Where, row: int, column: str, count: int, what: str = "a missing value"
) -> DataError:
    return DataError(
        f"{where.file}: {where.row(row)}, column {column!r} is {what}{where.convention}; "
        f"fill it in, or pass --impute zero|ffill|mean (impute='...' in Python) to fill "
        f"missing values{_more(count, 'missing values')}"
    )


def impute_sequence(seq: np.ndarray, how: str) -> np.ndarray:
    """Fill NaNs in one sequence ``(L, C)`` along time, channel by channel.

    ``zero``: 0. ``ffill``: the previous value (leading gaps take the first value).
    ``mean``: the mean of the sequence's real values in that channel. A channel with no
    value at all becomes 0. Uses only this sequence, so no information crosses splits.
    """
    out = seq.astype(np.float64, copy=True)
    for c in range(out.shape[1]):
        col = out[:, c]
        gaps = np.isnan(col)
        if not gaps.any():
            continue
        if gaps.all() or how == "zero":
            col[gaps] = 0.0
        elif how == "mean":
            col[gaps] = float(np.nanmean(col))
        else:  # ffill, then back-fill the leading gap
            idx = np.where(~gaps, np.arange(len(col)), -1)
            np.maximum.accumulate(idx, out=idx)
            first = int(np.argmax(~gaps))
            idx[idx < 0] = first
            out[:, c] = col[idx]
    return out


def check_target_labels(labels: np.ndarray, where: Where, column: str) -> None:
    """A classification target needs two classes."""
    classes = np.unique(labels)
    if len(classes) < 2:
        only = classes[0] if len(classes) else "(none)"
        raise DataError(
            f"{where.file}: the target column {column!r} has a single class ({only!r}, all "
            f"{len(labels)} rows); classification needs at least two classes "
            "(for a numeric target use --task regress)"
        )


def check_unseen_labels(
    train_labels: np.ndarray,
    other: np.ndarray,
    split: str,
    name: str,
    rows: np.ndarray | None = None,
    where: Where | None = None,
) -> None:
    """Every label of the validation/test split must occur in training."""
    seen = set(train_labels.tolist())
    unseen = [i for i, lab in enumerate(other.tolist()) if lab not in seen]
    if unseen:
        i = unseen[0]
        at = f" ({where.row(int(rows[i]))})" if where is not None and rows is not None else ""
        labels = sorted({str(other[j]) for j in unseen})
        raise DataError(
            f"{name}: label {other[i]!r} appears in the {split} split{at} but never in training "
            f"(unseen labels: {', '.join(labels[:10])}); a model cannot predict a class it "
            "never saw - move some of those rows into training or drop them"
        )


def split_counts(n: int, val_fraction: float, test_fraction: float) -> tuple[int, int]:
    """Validation and test sizes: rounded fractions, at least 1 each when the fraction > 0."""
    for name, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 <= f < 1 or math.isnan(f):
            raise DataError(f"{name} must be in [0, 1), got {f}")
    if val_fraction + test_fraction >= 1:
        raise DataError(
            f"val_fraction + test_fraction must be below 1, got {val_fraction} + {test_fraction}"
        )
    n_val = max(1, round(n * val_fraction)) if val_fraction > 0 else 0
    n_test = max(1, round(n * test_fraction)) if test_fraction > 0 else 0
    return n_val, n_test


def too_few_error(
    name: str, n: int, needed: int, val_fraction: float, test_fraction: float, why: str
) -> DataError:
    return DataError(
        f"{name}: {n} sequences are too few for a train/validation/test split with "
        f"val_fraction={val_fraction} and test_fraction={test_fraction} ({why}); "
        f"provide at least {needed} sequences"
    )
