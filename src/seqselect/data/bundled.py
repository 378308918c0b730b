"""Real datasets that ship inside the aeon package, loaded offline.

* ``ucr:NAME`` (alias ``uea:NAME``): every UCR/UEA classification problem whose
  ``NAME_TRAIN.ts`` / ``NAME_TEST.ts`` lie in ``aeon/datasets/data/`` (GunPoint,
  ItalyPowerDemand, JapaneseVowels, BasicMotions, ArrowHead, ACSF1, OSULeaf,
  PickupGestureWiimoteZ, UnitTest: aeon's cut-down Chinatown, 20 train / 22 test
  sequences of 24 steps, two classes, ...). Found by scanning that folder, read with
  aeon's own ``load_from_ts_file`` from the local path, so nothing is downloaded. The official
  train/test split is kept; validation is carved from training. Unequal-length problems
  (JapaneseVowels, PickupGestureWiimoteZ) become padding plus a mask.
* ``tser:NAME``: the extrinsic-regression problems aeon ships the same way (Covid3Month,
  CardanoSentiment): a whole series -> one number.
* ``forecast:NAME?horizon=H&window=W&season=M``: aeon's bundled forecasting series
  (Airline, Lynx, ShampooSales, PBS, Solar, Uschange) cut into sliding windows: the input is W
  steps, the target the next H values. Windows are split in time order (train, then
  validation, then test, the latest), and H-1 windows are dropped at each boundary so no
  target value of one split is a target of another. Values are standardised with the
  training span's statistics, then each window is offset by its last value
  (``offset=last``, the default; ``offset=none`` keeps levels). Each series has a season
  length m by its sampling (Airline, ShampooSales, PBS monthly: 12; Solar half-hourly:
  48, a day; Uschange quarterly: 4; Lynx annual: 1, its ~10-year cycle is not a calendar
  season), written to the metadata as ``season_length`` (``season=`` overrides it); MASE
  and the seasonal naive baseline use it. Without ``window=``, the series' listed window
  is widened to m + 1 steps when it is shorter and the series is long enough (Solar: 48
  -> 49, ShampooSales: 12 -> 13), so that both see a whole season
  (:func:`seqselect.data.windows.seasonal_window`).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seqselect.data.splits import RawDataset, natural_sort
from seqselect.data.types import DatasetSplits
from seqselect.data.validate import Where
from seqselect.data.windows import make_windows, seasonal_window, window_counts
from seqselect.errors import DataError

log = logging.getLogger(__name__)

#: A listing's ``kind`` -> the dataset task it serves.
KIND_TASK: dict[str, str] = {
    "classification": "classify",
    "regression": "regress",
    "forecasting": "forecast",
}


def aeon_data_dir() -> Path:
    import aeon.datasets

    return Path(aeon.datasets.__file__).parent / "data"


def _ts_header(path: Path) -> dict[str, str]:
    """The ``@key value`` lines of a .ts file, keys lower-cased."""
    header: dict[str, str] = {}
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.lower().startswith("@data"):
                break
            if line.startswith("@"):
                key, _, value = line[1:].partition(" ")
                header.setdefault(key.lower(), value.strip())
    return header


@dataclass(frozen=True)
class ArchiveProblem:
    name: str
    kind: str  # "classification" | "regression"
    train: Path
    test: Path


@functools.lru_cache(maxsize=1)
def archive_problems() -> dict[str, ArchiveProblem]:
    """Every ``NAME_TRAIN.ts`` + ``NAME_TEST.ts`` pair in aeon's data folder, by name."""
    found: dict[str, ArchiveProblem] = {}
    root = aeon_data_dir()
    if not root.is_dir():
        log.warning("aeon's data folder %s is missing: no bundled datasets", root)
        return found
    for train in sorted(root.glob("*/*_TRAIN.ts")):
        name = train.name[: -len("_TRAIN.ts")]
        test = train.with_name(f"{name}_TEST.ts")
        if not test.exists():  # e.g. UnitTestTimeStamps: a reader fixture, no test half
            continue
        header = _ts_header(train)
        if header.get("classlabel", "").lower().startswith("true"):
            kind = "classification"
        elif header.get("targetlabel", "").lower().startswith("true"):
            kind = "regression"
        else:
            continue
        found[name] = ArchiveProblem(name, kind, train, test)
    return found


def _find_archive_problem(name: str, kind: str, scheme: str) -> ArchiveProblem:
    problems = {k: v for k, v in archive_problems().items() if v.kind == kind}
    by_lower = {k.lower(): v for k, v in problems.items()}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    import difflib

    close = difflib.get_close_matches(name, list(problems), n=2, cutoff=0.5)
    hint = f" Did you mean {scheme}:{close[0]}?" if close else ""
    raise DataError(
        f"unknown {kind} dataset {scheme}:{name}.{hint} aeon ships: "
        f"{', '.join(f'{scheme}:{k}' for k in problems)} (see `seqselect datasets`)"
    )


def _read_ts(path: Path) -> tuple[list[np.ndarray], np.ndarray]:
    """Sequences ``(L_i, C)`` float64 and raw targets, via aeon's reader."""
    from aeon.datasets import load_from_ts_file

    X, y = load_from_ts_file(str(path))
    if isinstance(X, np.ndarray):
        seqs = [np.ascontiguousarray(s.T) for s in X]  # (C, L) -> (L, C)
    else:
        seqs = [np.ascontiguousarray(np.asarray(s).T) for s in X]
    return seqs, np.asarray(y)


def _trim_trailing_nan(seq: np.ndarray) -> np.ndarray:
    """Some archive files pad short series with trailing NaN: treat those as padding."""
    real = ~np.isnan(seq).all(axis=1)
    if real.all():
        return seq
    last = int(np.flatnonzero(real)[-1]) + 1 if real.any() else 0
    return seq[:last]


def load_archive(name: str, kind: str, scheme: str) -> RawDataset:
    """A UCR/UEA (classification) or TSER (regression) problem with its official split."""
    problem = _find_archive_problem(name, kind, scheme)
    seqs_tr, y_tr = _read_ts(problem.train)
    seqs_te, y_te = _read_ts(problem.test)
    seqs = [_trim_trailing_nan(s) for s in seqs_tr + seqs_te]
    for i, s in enumerate(seqs):
        if len(s) == 0 or np.isnan(s).any():
            split, j = ("train", i) if i < len(seqs_tr) else ("test", i - len(seqs_tr))
            raise DataError(
                f"{scheme}:{problem.name}: {split} series {j} has missing values; "
                "this loader does not impute bundled data"
            )
    y = np.concatenate([y_tr, y_te])
    split = np.array(["train"] * len(seqs_tr) + ["test"] * len(seqs_te))
    task = KIND_TASK[kind]
    class_names = None
    if task == "classify":
        y = np.array([str(v) for v in y], dtype=object)
        class_names = [str(c) for c in natural_sort(set(y.tolist()))]
    else:
        y = y.astype(np.float64)
    lengths = [len(s) for s in seqs]
    return RawDataset(
        name=f"{scheme}:{problem.name}",
        source=f"{scheme}:{problem.name}",
        task=task,
        seqs=seqs,
        y=y,
        split=split,
        where=Where(f"{scheme}:{problem.name}", "bundled"),
        class_names=class_names,
        metadata={
            "archive": "UCR/UEA" if task == "classify" else "TSER (Monash)",
            "files": [str(problem.train), str(problem.test)],
            "equal_length": min(lengths) == max(lengths),
            "data_type": "time-series",
        },
    )


# ---- forecasting ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ForecastSeries:
    name: str
    file: str  # relative to aeon's data folder
    columns: tuple[str, ...]  # value columns, in order
    horizon: int  # default forecast horizon
    window: int  # default input window
    summary: str
    season: int = 1  # steps per seasonal cycle of the sampling (1 = none)


FORECAST_SERIES: dict[str, ForecastSeries] = {
    s.name: s
    for s in (
        ForecastSeries(
            "Airline",
            "Airline/Airline.csv",
            ("Passengers",),
            12,
            36,
            "monthly international airline passengers, 1949-1960",
            12,
        ),
        ForecastSeries(
            "Lynx", "Lynx/Lynx.csv", ("0",), 10, 30, "annual Canadian lynx trappings, 1821-1934"
        ),
        ForecastSeries(
            "ShampooSales",
            "ShampooSales/ShampooSales.csv",
            ("Sales",),
            3,
            12,
            "monthly shampoo sales over three years",
            12,
        ),
        ForecastSeries(
            "PBS",
            "PBS_dataset/PBS_dataset.csv",
            ("Scripts",),
            12,
            36,
            "monthly Australian PBS prescriptions, 1991-2008",
            12,
        ),
        ForecastSeries(
            "Solar",
            "solar/solar.csv",
            ("solar_gen",),
            12,
            48,
            "half-hourly UK solar generation (6 days)",
            48,
        ),
        ForecastSeries(
            "Uschange",
            "Uschange/Uschange.csv",
            ("Consumption", "Income", "Production", "Savings", "Unemployment"),
            4,
            16,
            "quarterly US consumption/income/production/savings/unemployment changes",
            4,
        ),
    )
}


@functools.cache
def _read_forecast(name: str) -> tuple[np.ndarray, tuple[str, ...]]:
    import pandas as pd

    spec = FORECAST_SERIES[name]
    df = pd.read_csv(aeon_data_dir() / spec.file)
    return df[list(spec.columns)].to_numpy(dtype=np.float64), spec.columns


def forecast_values(name: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """A bundled series' values ``(T, C)`` float64 and column names (any spelling of the
    name :func:`resolve_forecast` takes)."""
    return _read_forecast(resolve_forecast(name).name)


def available_forecast_series() -> dict[str, ForecastSeries]:
    """The forecasting series whose file is present in this aeon install."""
    root = aeon_data_dir()
    return {k: v for k, v in FORECAST_SERIES.items() if (root / v.file).exists()}


def resolve_forecast(name: str) -> ForecastSeries:
    series = available_forecast_series()
    by_lower = {k.lower(): v for k, v in series.items()}
    alias = {"pbs_dataset": "pbs"}
    key = alias.get(name.lower(), name.lower())
    if key not in by_lower:
        import difflib

        close = difflib.get_close_matches(name, list(series), n=1, cutoff=0.5)
        hint = f" Did you mean forecast:{close[0]}?" if close else ""
        raise DataError(
            f"unknown forecasting series forecast:{name}.{hint} Known: "
            f"{', '.join(f'forecast:{k}' for k in series)}"
        )
    return by_lower[key]


def default_window(
    spec: ForecastSeries, n_points: int, horizon: int, season: int,
    val_fraction: float, test_fraction: float,
) -> int:
    """The series' listed window, widened to hold a whole season plus one step when the
    series is long enough (:func:`~seqselect.data.windows.seasonal_window`)."""
    return seasonal_window(
        spec.window, season, n_points=n_points, horizon=horizon, val_fraction=val_fraction,
        test_fraction=test_fraction, name=f"forecast:{spec.name}",
    )


def load_forecast(
    name: str,
    params: dict[str, str],
    *,
    target: str | None,
    val_fraction: float,
    test_fraction: float,
    normalize: bool,
) -> DatasetSplits:
    spec = resolve_forecast(name)
    params = dict(params or {})
    offset = params.pop("offset", "last")
    numbers = {"horizon": spec.horizon, "window": spec.window, "season": spec.season}
    for key, value in params.items():
        if key not in numbers:
            raise DataError(
                f"forecast:{spec.name} takes horizon=, window=, season= and offset=, not {key!r}"
            )
        try:
            numbers[key] = int(value)
        except ValueError:
            raise DataError(f"forecast:{spec.name}: {key}={value!r} is not an integer") from None
    horizon, window, season = numbers["horizon"], numbers["window"], numbers["season"]
    series, columns = _read_forecast(spec.name)
    if "window" not in params:  # the user's window is kept as given
        window = default_window(spec, len(series), horizon, season, val_fraction, test_fraction)
    if target is None:
        targets = list(range(len(columns)))
    else:
        if target not in columns:
            raise DataError(
                f"forecast:{spec.name} has no column {target!r}; columns: {', '.join(columns)}"
            )
        targets = [columns.index(target)]
    query = f"horizon={horizon}&window={window}"
    query += ("" if season == spec.season else f"&season={season}")
    query += ("" if offset == "last" else f"&offset={offset}")
    return make_windows(
        series,
        name=f"forecast:{spec.name}",
        source=f"forecast:{spec.name}?{query}",
        columns=columns,
        target_columns=targets,
        window=window,
        horizon=horizon,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        normalize=normalize,
        offset=offset,
        season_length=season,
        metadata={"file": str(aeon_data_dir() / spec.file), "description": spec.summary},
    )


# ---- listing -------------------------------------------------------------------------------
@functools.cache
def describe_archive(name: str) -> dict[str, Any]:
    """Length, channels, classes and sizes of one archive problem (reads its files)."""
    problem = archive_problems()[name]
    seqs_tr, y_tr = _read_ts(problem.train)
    seqs_te, y_te = _read_ts(problem.test)
    lengths = [len(_trim_trailing_nan(s)) for s in seqs_tr + seqs_te]
    scheme = "ucr" if problem.kind == "classification" else "tser"
    return {
        "name": f"{scheme}:{name}",
        "kind": problem.kind,
        "length": max(lengths),
        "min_length": min(lengths),
        "channels": int(seqs_tr[0].shape[1]),
        "classes": len(set(map(str, y_tr)) | set(map(str, y_te)))
        if problem.kind == "classification"
        else None,
        "n_train": len(seqs_tr),
        "n_test": len(seqs_te),
        "equal_length": min(lengths) == max(lengths),
    }


def describe_forecast(
    spec: ForecastSeries, val_fraction: float = 0.15, test_fraction: float = 0.2
) -> dict[str, Any]:
    series, columns = _read_forecast(spec.name)
    window = default_window(
        spec, len(series), spec.horizon, spec.season, val_fraction, test_fraction
    )
    _, n_train, n_val, n_test = window_counts(
        len(series), window, spec.horizon, val_fraction, test_fraction
    )
    return {
        "name": f"forecast:{spec.name}",
        "kind": "forecasting",
        "length": window,
        "min_length": window,
        "channels": len(columns),
        "classes": None,
        "n_train": n_train,
        "n_test": n_test,
        "series_length": len(series),
        "horizon": spec.horizon,
        "season_length": spec.season,
        "description": spec.summary,
        "example": f"forecast:{spec.name}?horizon={spec.horizon}&window={window}",
    }
