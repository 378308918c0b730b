"""Forecasting a long-form file of many series: one row per (series, time step).

``seqselect bakeoff sales.csv --task forecast --id store --time date`` reads a panel:
each id's rows, ordered by the time column (file order without one), are one series
``(T_i, C)`` of the value columns. Every series is cut into windows the way a single
series is (:mod:`seqselect.data.windows`): its own latest windows are its test windows,
the ones before them (``H - 1`` windows apart) its validation windows, the rest its
training windows, so no window crosses two series and no split sees another split's
targets. The three splits hold the windows of all series, series by series.

Standardisation uses one per-channel mean and std, pooled over the steps the training
windows of all series cover (never a validation or test target): the exported model
forecasts any series of the panel, and a new one, with the same statistics. With
``offset="last"`` (the default) each window is moved to its own last value, so series
of different levels share one model. MASE scales each window by its own in-sample
seasonal naive error, so series of different scales weigh alike.

A series too short for one training window is left out with a warning that names it
and is counted in the metadata (``series_left_out``); when none is long enough the
load fails, naming the longest.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from seqselect.data.tables import _group_rows, _holds_dates, _parse_times
from seqselect.data.types import DatasetSplits, SequenceData
from seqselect.data.validate import (
    Where,
    impute_sequence,
    missing_error,
    parse_numeric_cells,
)
from seqselect.data.windows import (
    OFFSETS,
    _season,
    cut_windows,
    season_from_times,
    span_scales,
    window_starts,
)
from seqselect.errors import DataError
from seqselect.vocabulary import model_task_for

__all__ = ["load_panel", "make_panel_windows"]

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


def load_panel(
    df, where: Where, *, target: str | None, id_col: str, time_col: str | None,
    impute: str | None,
) -> tuple[dict[str, np.ndarray], list[str], list[int], dict[str, Any]]:
    """``({id: values (T_i, C)}, columns, target indices, metadata)`` of a long-form table.

    Raises :class:`DataError` naming the row for an empty id, a repeated (id, time)
    pair, a bad time or a non-numeric or (without ``impute``) missing value.
    """
    for col, role in ((id_col, "id"), (time_col, "time"), (target, "target")):
        if col is not None and col not in df.columns:
            names = ", ".join(repr(c) for c in list(df.columns)[:12])
            raise DataError(f"{where.file}: no {role} column {col!r}; columns: {names}")
    ids = np.char.strip(df[id_col].to_numpy(dtype=str))
    if (ids == "").any():
        i = int(np.flatnonzero(ids == "")[0])
        raise DataError(
            f"{where.file}: {where.row(i)}, id column {id_col!r} is empty{where.convention}"
        )
    season = 1
    if time_col is not None:
        times = _parse_times(df, time_col, where)
        groups = _group_rows(df, ids, times, where, time_col=time_col)
        if _holds_dates(df[time_col]):
            season = season_from_times(times[groups[0]])
    else:  # file order within each id; ids in order of first appearance
        import pandas as pd

        codes, _ = pd.factorize(ids)
        order = np.argsort(codes, kind="stable")
        groups = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)
    columns = [c for c in df.columns if c not in (id_col, time_col)]
    values, _, missing = parse_numeric_cells(df[columns].to_numpy(dtype=str), columns, where)
    if missing.any() and impute is None:
        r, k = np.argwhere(missing)[0]
        raise missing_error(where, int(r), columns[k], int(missing.sum()))
    series = {}
    for rows in groups:  # each series imputed from its own values only
        part = values[rows]
        series[str(ids[rows[0]])] = impute_sequence(part, impute) if impute else part
    targets = [columns.index(target)] if target is not None else list(range(len(columns)))
    meta = {
        "form": "panel", "impute": impute, "imputed_cells": int(missing.sum()) if impute else 0,
        "season_length": season, "id_column": id_col, "n_series": len(series),
    }
    return series, columns, targets, meta


def make_panel_windows(
    series: dict[str, np.ndarray], *, name: str, source: str, columns: list[str],
    target_columns: list[int], window: int, horizon: int, val_fraction: float,
    test_fraction: float, normalize: bool = True, offset: str = "last",
    season_length: int | None = None, metadata: dict[str, Any] | None = None,
) -> DatasetSplits:
    """Every series of ``series`` (id -> ``(T_i, C)``) cut into time-ordered windows; the
    splits hold all series' windows (see the module docstring)."""
    if offset not in OFFSETS:
        raise DataError(f"{name}: offset must be 'last' or 'none', got {offset!r}")
    if window < 1 or horizon < 1:
        raise DataError(
            f"{name}: window and horizon must be >= 1, got window={window}, horizon={horizon}"
        )
    starts = _series_starts(series, name, window, horizon, val_fraction, test_fraction)
    values = {key: series[key].astype(np.float64) for key in starts}
    meta = dict(metadata or {})
    if normalize:
        values, scales = _pooled_standardize(values, starts, target_columns, window, horizon)
        meta.update(scales)
    cut = {"window": window, "horizon": horizon, "target_columns": target_columns,
           "offset": offset}
    parts = {split: [] for split in SPLITS}
    for key, per_split in starts.items():
        for split, split_starts in zip(SPLITS, per_split, strict=True):
            parts[split].append(cut_windows(values[key], split_starts, **cut))
    data = {split: _concat([p[0] for p in pieces]) for split, pieces in parts.items()}
    meta.update(
        horizon=horizon, window=window, columns=list(columns),
        series_length=max(len(v) for v in values.values()),
        target_columns=[columns[i] for i in target_columns],
        split="time-ordered windows within each series", boundary_gap_windows=horizon - 1,
        offset=offset, data_type=meta.get("data_type", "time-series"),
        series_left_out=len(series) - len(starts),
        window_offsets={
            split: np.concatenate([p[1] for p in pieces]).tolist()
            for split, pieces in parts.items()
        },
        window_series={split: _series_of(starts, i) for i, split in enumerate(SPLITS)},
    )
    meta["season_length"] = _season(name, season_length, meta.get("season_length"))
    return DatasetSplits(
        name=name, task="forecast", model_task=model_task_for("forecast"),
        train=data["train"], val=data["val"], test=data["test"],
        d_input=len(columns), vocab_size=None, d_output=horizon * len(target_columns),
        class_names=None, source=source, metadata=meta,
    )


def _series_starts(series, name, window, horizon, val_fraction, test_fraction) -> dict:
    """``{id: (train, val, test) window starts}`` of every series with a training window;
    the others are warned about (a DataError when none has one)."""
    starts, short = {}, []
    for key, values in series.items():
        per_split = window_starts(len(values), window, horizon, val_fraction, test_fraction)
        if len(per_split[0]):
            starts[key] = per_split
        else:
            short.append(key)
    if not starts:
        longest = max(series, key=lambda k: len(series[k]))
        raise DataError(
            f"{name}: no series is long enough for window={window} and horizon={horizon} "
            f"with a validation and test split (the longest, {longest!r}, has "
            f"{len(series[longest])} steps); use a smaller window or horizon"
        )
    if short:
        log.warning(
            "%s: %d of %d series are too short for one training window (window %d, horizon "
            "%d) and are left out: %s", name, len(short), len(series), window, horizon,
            ", ".join(repr(k) for k in short[:5]) + (" ..." if len(short) > 5 else ""),
        )
    return starts


def _pooled_standardize(values, starts, target_columns, window, horizon):
    """Standardise every series by one per-channel mean and std over the steps all the
    series' training windows cover; return the series and the metadata's scales."""
    spans = [v[: int(starts[key][0][-1]) + window + horizon] for key, v in values.items()]
    pooled = np.concatenate(spans)  # (sum of covered steps, C)
    mean, std, scales = span_scales(pooled, target_columns, horizon)
    return {key: (v - mean) / std for key, v in values.items()}, scales


def _concat(parts: list[SequenceData]) -> SequenceData:
    """One split's windows of every series, series by series."""
    return SequenceData(
        torch.cat([p.x for p in parts]), torch.cat([p.mask for p in parts]),
        torch.cat([p.y for p in parts]),
    )


def _series_of(starts: dict, split: int) -> list[str]:
    """The series id of each window of one split, in the split's order."""
    return [key for key, per_split in starts.items() for _ in per_split[split]]
