"""Real datasets that ship inside the aeon package, loaded offline.

* ``ucr:NAME`` (alias ``uea:NAME``): every UCR/UEA classification problem whose
  ``NAME_TRAIN.ts`` / ``NAME_TEST.ts`` lie in ``aeon/datasets/data/`` (GunPoint,
  ItalyPowerDemand, JapaneseVowels, BasicMotions, ArrowHead, ACSF1, OSULeaf,
  PickupGestureWiimoteZ, ...). Found by scanning that folder, read with aeon's own
  ``load_from_ts_file`` from the local path, so nothing is downloaded. The official
  train/test split is kept; validation is carved from training. Unequal-length problems
  (JapaneseVowels, PickupGestureWiimoteZ) become padding plus a mask.
* ``tser:NAME``: the extrinsic-regression problems aeon ships the same way (Covid3Month,
  CardanoSentiment): a whole series -> one number.
* ``forecast:NAME?horizon=H&window=W``: aeon's bundled forecasting series (Airline,
  Lynx, ShampooSales, PBS, Solar, Uschange) cut into sliding windows: the input is W
  steps, the target the next H values. Windows are split in time order (train, then
  validation, then test, the latest), and H-1 windows are dropped at each boundary so no
  target value of one split is a target of another. Values are standardised with the
  training span's statistics, then each window is offset by its last value
  (``offset=last``, the default; ``offset=none`` keeps levels).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqselect.data.splits import RawDataset, natural_sort
from seqselect.data.types import DatasetSplits, SequenceData
from seqselect.data.validate import Where, split_counts
from seqselect.errors import DataError

log = logging.getLogger(__name__)

#: Test fixtures inside aeon's data folder, not archive problems.
_NOT_ARCHIVE = ("UnitTest",)


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
        if not test.exists() or name.startswith(_NOT_ARCHIVE):
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


def _lookup(name: str, kind: str, scheme: str) -> ArchiveProblem:
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
    problem = _lookup(name, kind, scheme)
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
    task = "classify" if kind == "classification" else "regress"
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


FORECAST_SERIES: dict[str, ForecastSeries] = {
    s.name: s
    for s in (
        ForecastSeries("Airline", "Airline/Airline.csv", ("Passengers",), 12, 36,
                       "monthly international airline passengers, 1949-1960"),
        ForecastSeries("Lynx", "Lynx/Lynx.csv", ("0",), 10, 30,
                       "annual Canadian lynx trappings, 1821-1934"),
        ForecastSeries("ShampooSales", "ShampooSales/ShampooSales.csv", ("Sales",), 3, 12,
                       "monthly shampoo sales over three years"),
        ForecastSeries("PBS", "PBS_dataset/PBS_dataset.csv", ("Scripts",), 12, 36,
                       "monthly Australian PBS prescriptions, 1991-2008"),
        ForecastSeries("Solar", "solar/solar.csv", ("solar_gen",), 12, 48,
                       "half-hourly UK solar generation (6 days)"),
        ForecastSeries("Uschange", "Uschange/Uschange.csv",
                       ("Consumption", "Income", "Production", "Savings", "Unemployment"), 4, 16,
                       "quarterly US consumption/income/production/savings/unemployment changes"),
    )
}


@functools.cache
def _read_forecast(name: str) -> tuple[np.ndarray, tuple[str, ...]]:
    import pandas as pd

    spec = FORECAST_SERIES[name]
    df = pd.read_csv(aeon_data_dir() / spec.file)
    return df[list(spec.columns)].to_numpy(dtype=np.float64), spec.columns


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


def window_counts(
    n_points: int, window: int, horizon: int, val_fraction: float, test_fraction: float
) -> tuple[int, int, int, int]:
    """``(n_windows, n_train, n_val, n_test)`` for :func:`make_windows` (train may be <= 0)."""
    n_windows = n_points - window - horizon + 1
    n_val, n_test = split_counts(max(n_windows, 1), val_fraction, test_fraction)
    gap = horizon - 1
    n_gaps = (1 if n_val else 0) + (1 if n_test else 0)
    n_train = n_windows - n_val - n_test - gap * n_gaps
    return n_windows, n_train, n_val, n_test


def make_windows(
    series: np.ndarray,
    *,
    name: str,
    source: str,
    columns: tuple[str, ...] | list[str],
    target_columns: list[int],
    window: int,
    horizon: int,
    val_fraction: float,
    test_fraction: float,
    normalize: bool = True,
    offset: str = "last",
    metadata: dict[str, Any] | None = None,
) -> DatasetSplits:
    """Cut ``series: (T, C)`` into forecasting windows split in time order.

    Window s: ``x = series[s : s+W]`` (all C channels), ``y = series[s+W : s+W+H, targets]``
    flattened time-major to ``(H * K,)``. Test windows are the latest, validation windows
    come before them, and ``H - 1`` windows are left out at each boundary so that no
    target step is shared between splits. Standardisation (when ``normalize``) uses the
    mean and standard deviation of the steps the training windows cover.

    ``offset="last"`` then subtracts each window's last input value (per channel) from its
    inputs and targets, as NLinear does (Zeng et al. 2023, "Are Transformers Effective for
    Time Series Forecasting?"): a trend no longer takes the test windows outside the
    range seen in training, and predicting 0 is the naive last-value forecast. Add
    ``x[:, -1]`` (of the target channels) back to a prediction to undo it.
    ``offset="none"`` keeps the standardised values.
    """
    if offset not in ("last", "none"):
        raise DataError(f"{name}: offset must be 'last' or 'none', got {offset!r}")
    if window < 1 or horizon < 1:
        raise DataError(f"{name}: window and horizon must be >= 1, got window={window}, horizon={horizon}")
    t_len = len(series)
    n_windows, n_train, n_val, n_test = window_counts(t_len, window, horizon, val_fraction, test_fraction)
    if n_train < 1:
        need = window + horizon
        while window_counts(need, window, horizon, val_fraction, test_fraction)[1] < 1:
            need += 1
        raise DataError(
            f"{name}: a series of {t_len} steps is too short for window={window} and "
            f"horizon={horizon} with a validation and test split (needs at least {need} steps); "
            "use a smaller window or horizon"
        )
    gap = horizon - 1
    starts = np.arange(n_windows)
    test_s = starts[n_windows - n_test :] if n_test else starts[:0]
    val_end = n_windows - n_test - (gap if n_test else 0)
    val_s = starts[val_end - n_val : val_end] if n_val else starts[:0]
    train_s = starts[:n_train]
    values = series.astype(np.float64)
    meta = dict(metadata or {})
    if normalize:
        covered = values[: int(train_s[-1]) + window + horizon]
        mean = covered.mean(axis=0)
        std = covered.std(axis=0)
        std = np.where(std > 1e-12, std, 1.0)
        values = (values - mean) / std
        meta["normalization"] = {"x_mean": mean.tolist(), "x_std": std.tolist()}
        meta["target_normalization"] = {
            "y_mean": np.tile(mean[target_columns], horizon).tolist(),
            "y_std": np.tile(std[target_columns], horizon).tolist(),
        }

    def cut(idx: np.ndarray) -> SequenceData:
        x = np.stack([values[s : s + window] for s in idx]) if len(idx) else np.zeros((0, window, values.shape[1]))
        y = (
            np.stack([values[s + window : s + window + horizon][:, target_columns].reshape(-1) for s in idx])
            if len(idx)
            else np.zeros((0, horizon * len(target_columns)))
        )
        if offset == "last" and len(idx):
            last = x[:, -1:, :]  # (N, 1, C)
            y = y - np.tile(last[:, 0, target_columns], horizon)
            x = x - last
        return SequenceData(
            torch.as_tensor(x, dtype=torch.float32),
            torch.ones(len(idx), window, dtype=torch.bool),
            torch.as_tensor(y, dtype=torch.float32),
        )

    meta.update(
        {
            "horizon": horizon,
            "window": window,
            "series_length": t_len,
            "columns": list(columns),
            "target_columns": [columns[i] for i in target_columns],
            "split": "time-ordered windows",
            "boundary_gap_windows": gap,
            "offset": offset,
            "data_type": meta.get("data_type", "time-series"),
        }
    )
    return DatasetSplits(
        name=name,
        task="forecast",
        model_task="regress",
        train=cut(train_s),
        val=cut(val_s),
        test=cut(test_s),
        d_input=int(values.shape[1]),
        vocab_size=None,
        d_output=horizon * len(target_columns),
        class_names=None,
        source=source,
        metadata=meta,
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
    horizon, window = spec.horizon, spec.window
    offset = params.pop("offset", "last") if params else "last"
    for key, value in params.items():
        if key not in ("horizon", "window"):
            raise DataError(f"forecast:{spec.name} takes horizon=, window= and offset=, not {key!r}")
        try:
            number = int(value)
        except ValueError:
            raise DataError(f"forecast:{spec.name}: {key}={value!r} is not an integer") from None
        if key == "horizon":
            horizon = number
        else:
            window = number
    series, columns = _read_forecast(spec.name)
    if target is None:
        targets = list(range(len(columns)))
    else:
        if target not in columns:
            raise DataError(
                f"forecast:{spec.name} has no column {target!r}; columns: {', '.join(columns)}"
            )
        targets = [columns.index(target)]
    query = f"horizon={horizon}&window={window}" + ("" if offset == "last" else f"&offset={offset}")
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
        "classes": len(set(map(str, y_tr)) | set(map(str, y_te))) if problem.kind == "classification" else None,
        "n_train": len(seqs_tr),
        "n_test": len(seqs_te),
        "equal_length": min(lengths) == max(lengths),
    }


def describe_forecast(spec: ForecastSeries, val_fraction: float = 0.15, test_fraction: float = 0.2) -> dict[str, Any]:
    series, columns = _read_forecast(spec.name)
    _, n_train, n_val, n_test = window_counts(len(series), spec.window, spec.horizon, val_fraction, test_fraction)
    return {
        "name": f"forecast:{spec.name}",
        "kind": "forecasting",
        "length": spec.window,
        "min_length": spec.window,
        "channels": len(columns),
        "classes": None,
        "n_train": n_train,
        "n_test": n_test,
        "series_length": len(series),
        "horizon": spec.horizon,
        "description": spec.summary,
        "example": f"forecast:{spec.name}?horizon={spec.horizon}&window={spec.window}",
    }
