"""User files: CSV / TSV / Parquet tables (:mod:`seqselect.data.tables`) and NPZ archives
(:mod:`seqselect.data.npz`), dispatched by suffix and validated before use.

Files are only read, never written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seqselect.data.npz import load_npz
from seqselect.data.panel import load_panel
from seqselect.data.tables import load_long, load_series, load_wide, read_table, require_column
from seqselect.data.validate import (
    FILE_SUFFIXES,
    TABLE_SUFFIXES,
    check_impute,
    check_readable,
    file_kind,
)
from seqselect.errors import DataError

__all__ = [
    "FILE_SUFFIXES",
    "TABLE_SUFFIXES",
    "check_readable",
    "file_kind",
    "load_file",
    "load_long",
    "load_npz",
    "load_series",
    "load_wide",
    "read_table",
]


def load_file(
    path: Path,
    *,
    task: str | None,
    target: str | None,
    id_col: str | None,
    time_col: str | None,
    impute: str | None,
) -> tuple[str, Any]:
    """Read and validate a user file.

    Returns ``("raw", RawDataset)`` for classify/regress, or for forecasting (windowed by
    the caller) ``("series", (values, columns, targets, metadata))`` for one series and
    ``("panel", ({id: values}, columns, targets, metadata))`` for many (``id_col``).
    """
    check_impute(impute)
    name = str(path)
    kind = file_kind(path)
    if kind == "npz":
        if task == "forecast":
            raise DataError(f"{path}: forecasting reads a CSV/Parquet series, not NPZ")
        if target is not None or id_col is not None or time_col is not None:
            raise DataError(
                f"{path}: --target/--id/--time apply to CSV/Parquet; an NPZ holds X and y"
            )
        return "raw", load_npz(path, name=name, task=task, impute=impute)
    df, where = read_table(path)
    if task == "forecast":
        if id_col is not None:  # many series, one row per (series, step)
            return "panel", load_panel(
                df, where, target=target, id_col=id_col, time_col=time_col, impute=impute
            )
        return "series", load_series(df, where, target=target, time_col=time_col, impute=impute)
    if target is None:
        cols = ", ".join(repr(c) for c in list(df.columns)[:12])
        raise DataError(
            f"{path}: name the target column with --target (target= in Python); "
            f"columns: {cols}"
        )
    require_column(df, target, where, "target")
    if (id_col is None) != (time_col is None):
        raise DataError(
            f"{path}: the long form needs both --id and --time (one row per sequence and step); "
            "give both, or neither for the wide form (one row per sequence)"
        )
    if id_col is not None:
        return "raw", load_long(
            df, where, name=name, target=target, id_col=id_col, time_col=time_col, task=task,
            impute=impute,
        )
    return "raw", load_wide(df, where, name=name, target=target, task=task, impute=impute)
