"""User tables: CSV / TSV / Parquet in wide, long or series form, validated before use.

Forms:

* **wide** (default for classify/regress): one row per sequence; ``target`` names the
  label column; every other column is a step, in file order. A row may end early: empty
  cells at the *end* of a row are padding (that sequence is shorter). An empty cell with a
  value after it, or a word such as ``NaN``/``NA``, is a missing value.
* **long** (``id_col`` and ``time_col`` given): one row per (sequence, step); rows are
  grouped by ``id_col`` and ordered by ``time_col`` (numbers or dates); every other
  column except the target is a channel. The target must be constant within a sequence.
* **series** (task ``forecast``): rows are time steps (ordered by ``time_col`` if given,
  else file order), numeric columns are channels; ``target`` (optional) picks the column
  to forecast; ``file.csv?horizon=12&window=36`` sets the windows.

A column named ``split`` holding only ``train``/``val``/``validation``/``test`` gives a
fixed split (rows in the long form: constant per sequence).

Files are only read, never written.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import numpy as np

from seqselect.data.splits import RawDataset
from seqselect.data.validate import (
    Where,
    check_readable,
    file_kind,
    impute_sequence,
    missing_error,
    parse_numeric_cells,
)
from seqselect.data.windows import season_from_times
from seqselect.errors import DataError

_SPLIT_VALUES = {
    "train": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
}


def read_table(path: Path) -> tuple[Any, Where]:
    """The file as a DataFrame of cell texts ("" = empty cell), plus how to name its rows."""
    import pandas as pd

    check_readable(path)
    kind = file_kind(path)
    where = Where(str(path), kind)
    if kind == "csv":
        sep = "\t" if path.name.lower().endswith(".tsv") else ","
        try:
            df = pd.read_csv(
                path,
                sep=sep,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
            )
        except pd.errors.EmptyDataError:
            raise DataError(f"{path}: the file has no header and no rows") from None
        except pd.errors.ParserError as exc:
            raise DataError(f"{path}: cannot be read as CSV: {str(exc).strip()}") from None
        except UnicodeDecodeError:
            raise DataError(f"{path}: is not a UTF-8 text CSV file (binary data?)") from None
        # Trailing blank lines are not rows; blank lines inside the file are (reported).
        blank = (df == "").all(axis=1).to_numpy()
        last = len(df) - int(np.argmax(~blank[::-1])) if (~blank).any() else 0
        df = df.iloc[:last]
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except (OSError, ValueError, pa.ArrowException) as exc:  # a corrupt or foreign file
            raise DataError(f"{path}: cannot be read as Parquet: {exc}") from None
        columns = {}
        for name in table.column_names:
            col = table.column(name)
            if str(col.type).startswith(("list", "large_list", "struct", "map")):
                raise DataError(
                    f"{path}: column {name!r} holds {col.type} values; expected one number or "
                    "label per cell (wide or long form)"
                )
            null = col.is_null().to_numpy(zero_copy_only=False)
            text = col.to_pandas().astype(str).to_numpy(dtype=object)
            text[null] = ""
            columns[name] = text
        df = pd.DataFrame(columns, columns=table.column_names)
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise DataError(f"{path}: has a header ({', '.join(df.columns[:8])}) but no data rows")
    return df, where


def require_column(df, column: str, where: Where, role: str) -> None:
    if column in df.columns:
        return
    close = difflib.get_close_matches(column, list(df.columns), n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    cols = ", ".join(repr(c) for c in list(df.columns)[:12])
    more = ", ..." if len(df.columns) > 12 else ""
    headerless = ""
    if all(_is_number(c) for c in df.columns):
        headerless = (
            " (the first row looks like data: the file needs a header row naming the columns)"
        )
    raise DataError(
        f"{where.file}: no {role} column {column!r}.{hint} Columns: {cols}{more}{headerless}"
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _split_column(df, where: Where) -> str | None:
    """The column named ``split`` (any case), validated, or None."""
    for col in df.columns:
        if col.lower() == "split":
            values = df[col].str.strip().str.lower()
            bad = ~values.isin(list(_SPLIT_VALUES))
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(
                    f"{where.file}: {where.row(i)}, column {col!r}: {df[col].iloc[i]!r} is not a "
                    f"split name{where.convention}; a 'split' column must hold only train, val "
                    "or test"
                )
            return col
    return None


def _infer_task(labels: np.ndarray) -> str:
    """Non-numeric labels, or few distinct integers: classify; otherwise regress."""
    try:
        numbers = np.array([float(v) for v in labels])
    except ValueError:
        return "classify"
    if np.all(numbers == np.round(numbers)) and len(np.unique(numbers)) <= 20:
        return "classify"
    return "regress"


def _parse_targets(
    df, target: str, task: str | None, where: Where, rows: np.ndarray | None = None
) -> tuple[str, np.ndarray, bool]:
    """Parse the target column: ``(task, values, inferred)``; labels as text for classify."""
    text = df[target].to_numpy(dtype=str)
    stripped = np.char.strip(text)
    index = np.arange(len(text)) if rows is None else rows
    empty = stripped == ""
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise DataError(
            f"{where.file}: {where.row(int(index[i]))}, target column {target!r} is empty"
            f"{where.convention}; every sequence needs a target (missing targets are never imputed)"
        )
    inferred = task is None
    if task is None:
        task = _infer_task(stripped)
    if task == "classify":
        return task, stripped.astype(object), inferred
    values, _, missing = parse_numeric_cells(stripped[:, None], [target], where, index)
    if missing.any():
        i = int(np.flatnonzero(missing[:, 0])[0])
        raise DataError(
            f"{where.file}: {where.row(int(index[i]))}, target column {target!r} is "
            f"{str(stripped[i])!r}, a missing value{where.convention}; "
            "every sequence needs a numeric target"
        )
    return task, values[:, 0], inferred


def load_wide(
    df, where: Where, *, name: str, target: str, task: str | None, impute: str | None
) -> RawDataset:
    split_col = _split_column(df, where)
    steps = [c for c in df.columns if c not in (target, split_col)]
    if not steps:
        raise DataError(f"{where.file}: no step columns besides the target {target!r}")
    task, y, inferred = _parse_targets(df, target, task, where)
    values, empty, missing = parse_numeric_cells(df[steps].to_numpy(dtype=str), steps, where)
    filled = ~empty
    has_any = filled.any(axis=1)
    if not has_any.all():
        i = int(np.flatnonzero(~has_any)[0])
        raise DataError(
            f"{where.file}: {where.row(i)} has no values in any step column{where.convention}; "
            "remove the row or fill it"
        )
    lengths = len(steps) - np.argmax(filled[:, ::-1], axis=1)  # up to the last filled cell
    inside = np.arange(len(steps))[None, :] < lengths[:, None]
    gaps = missing & inside
    n_gaps = int(gaps.sum())
    if n_gaps and impute is None:
        r, k = np.argwhere(gaps)[0]
        what = "empty" if empty[r, k] else f"{str(df[steps[k]].iloc[r]).strip()!r}, a missing value"
        raise missing_error(where, int(r), steps[k], n_gaps, what)
    seqs = [
        impute_sequence(values[i, : lengths[i], None], impute)
        if gaps[i].any()
        else values[i, : lengths[i], None]
        for i in range(len(df))
    ]  # each (L_i, 1)
    split = None
    if split_col is not None:
        split = df[split_col].str.strip().str.lower().map(_SPLIT_VALUES).to_numpy()
    return RawDataset(
        name=name, source=name, task=task, seqs=seqs, y=y, split=split, rows=np.arange(len(df)),
        where=where, target_name=target,
        metadata={
            "form": "wide",
            "task_inferred": inferred,
            "imputed_cells": n_gaps if impute else 0,
            "impute": impute,
            "n_step_columns": len(steps),
        },
    )


def _parse_times(df, time_col: str, where: Where) -> np.ndarray:
    import pandas as pd

    text = np.char.strip(df[time_col].to_numpy(dtype=str))
    empty = text == ""
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise DataError(
            f"{where.file}: {where.row(i)}, time column {time_col!r} is empty{where.convention}"
        )
    numbers = pd.to_numeric(pd.Series(text), errors="coerce").to_numpy(dtype=np.float64)
    if not np.isnan(numbers).any():
        return numbers
    dates = pd.to_datetime(pd.Series(text), errors="coerce", format="mixed")
    bad = dates.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{where.file}: {where.row(i)}, time column {time_col!r}: {str(text[i])!r} "
            "is neither a "
            f"number nor a date{where.convention}"
        )
    return dates.to_numpy().astype("datetime64[ns]").astype(np.int64).astype(np.float64)


def _group_rows(df, ids: np.ndarray, times: np.ndarray, where: Where, *, time_col: str) -> list:
    """Row indices of each sequence, ordered by time; sequences in order of first appearance.

    Raises :class:`DataError` when an (id, time) pair appears twice.
    """
    import pandas as pd

    codes, _ = pd.factorize(ids)
    order = np.lexsort((times, codes))
    codes_o, times_o = codes[order], times[order]
    dup = (codes_o[1:] == codes_o[:-1]) & (times_o[1:] == times_o[:-1])
    if dup.any():
        k = int(np.flatnonzero(dup)[0])
        a, b = sorted((int(order[k]), int(order[k + 1])))
        raise DataError(
            f"{where.file}: {where.row(a)} and {where.row(b)} both give id {str(ids[a])!r} at time "
            f"{df[time_col].iloc[a]!r}{where.convention}; each (id, time) pair must appear once"
        )
    bounds = np.flatnonzero(np.diff(codes_o)) + 1
    return np.split(order, bounds)


def _require_constant(
    text: np.ndarray, groups: list, ids: np.ndarray, col: str, where: Where
) -> None:
    """Column ``col`` (cell texts ``text``) must hold one value per sequence."""
    for g in groups:
        first = text[g[0]]
        differ = np.flatnonzero(text[g] != first)
        if len(differ):
            j = int(g[differ[0]])
            raise DataError(
                f"{where.file}: sequence {str(ids[g[0]])!r} has {col!r} = {str(first)!r} at "
                f"{where.row(int(g[0]))} but {str(text[j])!r} at {where.row(j)}"
                f"{where.convention}; "
                f"{col!r} must be the same on every row of a sequence"
            )


def load_long(
    df,
    where: Where,
    *,
    name: str,
    target: str,
    id_col: str,
    time_col: str,
    task: str | None,
    impute: str | None,
) -> RawDataset:
    require_column(df, id_col, where, "id")
    require_column(df, time_col, where, "time")
    split_col = _split_column(df, where)
    channels = [c for c in df.columns if c not in (target, id_col, time_col, split_col)]
    if not channels:
        raise DataError(
            f"{where.file}: no value columns besides id {id_col!r}, time {time_col!r} and "
            f"target {target!r}"
        )
    ids = np.char.strip(df[id_col].to_numpy(dtype=str))
    if (ids == "").any():
        i = int(np.flatnonzero(ids == "")[0])
        raise DataError(
            f"{where.file}: {where.row(i)}, id column {id_col!r} is empty{where.convention}"
        )
    times = _parse_times(df, time_col, where)
    values, _, missing = parse_numeric_cells(df[channels].to_numpy(dtype=str), channels, where)
    groups = _group_rows(df, ids, times, where, time_col=time_col)
    target_text = np.char.strip(df[target].to_numpy(dtype=str))
    split_text = df[split_col].str.strip().str.lower().to_numpy(dtype=str) if split_col else None
    for col, text in ((target, target_text), (split_col, split_text)):
        if text is not None:
            _require_constant(text, groups, ids, col, where)
    heads = np.array([g[0] for g in groups])
    task, y, inferred = _parse_targets(df.iloc[heads], target, task, where, rows=heads)
    n_missing = int(missing.sum())
    if n_missing and impute is None:
        r, k = np.argwhere(missing)[0]
        raise missing_error(where, int(r), channels[k], n_missing)
    seqs = [impute_sequence(values[g], impute) if missing[g].any() else values[g] for g in groups]
    split = None
    if split_text is not None:
        split = np.array([_SPLIT_VALUES[split_text[h]] for h in heads])
    return RawDataset(
        name=name, source=name, task=task, seqs=seqs, y=y, split=split, rows=heads, where=where,
        target_name=target,
        metadata={
            "form": "long",
            "task_inferred": inferred,
            "channels": channels,
            "imputed_cells": n_missing if impute else 0,
            "impute": impute,
        },
    )


def load_series(
    df, where: Where, *, target: str | None, time_col: str | None, impute: str | None
) -> tuple[np.ndarray, list[str], list[int], dict[str, Any]]:
    """Series form for forecasting: ``(values (T, C), columns, target indices, metadata)``.

    The metadata's ``season_length`` is inferred from the time column's typical step when
    it holds dates (:func:`season_from_times`), else 1; the loader's ``season=`` option
    overrides it.
    """
    season = 1
    if time_col is not None:
        require_column(df, time_col, where, "time")
        times = _parse_times(df, time_col, where)
        order = np.argsort(times, kind="stable")
        df = df.iloc[order]
        rows = order
        if _holds_dates(df[time_col]):
            season = season_from_times(times[order])
    else:
        rows = np.arange(len(df))
    columns = [c for c in df.columns if c != time_col]
    if target is not None:
        require_column(df, target, where, "target")
    values, _, missing = parse_numeric_cells(df[columns].to_numpy(dtype=str), columns, where, rows)
    if missing.any():
        if impute is None:
            r, k = np.argwhere(missing)[0]
            raise missing_error(where, int(rows[r]), columns[k], int(missing.sum()))
        values = impute_sequence(values, impute)
    targets = [columns.index(target)] if target is not None else list(range(len(columns)))
    return (
        values,
        columns,
        targets,
        {
            "form": "series", "impute": impute,
            "imputed_cells": int(missing.sum()) if impute else 0, "season_length": season,
        },
    )


def _holds_dates(column) -> bool:
    """Does a time column hold dates (not plain numbers, which carry no calendar)?"""
    import pandas as pd

    text = column.astype(str).str.strip()
    return bool(pd.to_numeric(text, errors="coerce").isna().any())
