"""Predict with an exported model: read a user file the way training read it, apply the
training normalisation stored in config.json, write one prediction per sequence.

Input forms (as for training, see :mod:`seqselect.data.files`):

* wide CSV/Parquet: one row per sequence -> one prediction per input row; the target
  column (``--target``, default the one trained on) is used only when present, to report
  accuracy / error alongside;
* long CSV/Parquet (``--id``/``--time``): one prediction per sequence id;
* NPZ: ``X`` ``(N, L)`` / ``(N, L, C)`` (``y`` optional, ``lengths`` optional);
* raw text or audio for a model exported with its input pipeline (a tokenizer, audio
  settings): tables of texts, folders of ``.txt`` or audio files
  (:mod:`seqselect.bakeoff.predict_raw`).

Classification writes the class name and one probability column per class; regression
writes the value in the target's own units (the training standardisation undone).

Forecasting models (:func:`forecast_next`) read series instead: a CSV/Parquet file in
series form (rows = time steps, ordered by ``--time`` when given; ``--id`` makes it long
form, one series per id) or a bundled ``forecast:NAME``. Each series' last W steps (W =
the model's window) are standardised and offset as in training, and the next H values of
each target column are written back in the series' own units: one row per series and
step, ``series`` (the file's stem, or the ``--id`` column and its ids), ``step`` (1..H)
and one column per target.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqselect.bakeoff.export import load_model
from seqselect.bakeoff.predict_raw import is_raw_model, read_raw_inputs
from seqselect.data.windows import ForecastLayout
from seqselect.errors import DataError, SeqSelectError

log = logging.getLogger(__name__)

__all__ = ["forecast_next", "predict_file", "read_inputs", "read_series"]

_DUMMY = "__seqselect_no_target__"


def read_inputs(
    path: str | Path,
    config: dict[str, Any],
    *,
    target: str | None = None,
    id_col: str | None = None,
    time_col: str | None = None,
    impute: str | None = None,
) -> dict[str, Any]:
    """The sequences of ``path``: ``{"seqs", "keys", "key_name", "y", "tokens"}``."""
    from seqselect.data.files import check_readable, file_kind, load_long, load_wide, read_table

    path = Path(path)
    check_readable(path)
    kind = file_kind(path)
    task = config.get("task", "classify")
    if task == "forecast":
        raise SeqSelectError("a forecasting model reads series: use read_series")
    raw_task = "classify" if task == "classify" else "regress"
    if kind == "npz":
        return _read_npz(path)
    df, where = read_table(path)
    target = target or config.get("target")
    inp = config.get("input") or {}
    id_col = id_col or inp.get("id_col")
    time_col = time_col or inp.get("time_col")
    has_target = bool(target) and target in df.columns
    if not has_target:
        df = df.copy()
        # A placeholder label so the training loaders (and their validation) read the rows.
        df[_DUMMY] = "0"
    tcol = target if has_target else _DUMMY
    if id_col and time_col:
        raw = load_long(
            df, where, name=str(path), target=tcol, id_col=id_col, time_col=time_col,
            task=raw_task, impute=impute,
        )
        ids = df[id_col].to_numpy(dtype=str)
        keys = [str(ids[r]).strip() for r in raw.rows]
        key_name = id_col
    else:
        for col in ("split",):
            if col in df.columns:
                df = df.drop(columns=[col])
        raw = load_wide(df, where, name=str(path), target=tcol, task=raw_task, impute=impute)
        keys = [int(r) for r in raw.rows]
        key_name = "row"
    expected = config.get("spec", {}).get("d_input")
    if raw.seqs and expected is not None and raw.seqs[0].shape[-1] != expected:
        raise DataError(
            f"{path}: {raw.seqs[0].shape[-1]} value channel(s) per step, "
            f"but the model was trained on {expected}"
        )
    return {
        "seqs": raw.seqs,
        "keys": keys,
        "key_name": key_name,
        "y": raw.y if has_target else None,
        "target": target if has_target else None,
        "tokens": False,
    }


def _read_npz(path: Path) -> dict[str, Any]:
    try:
        z = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise DataError(f"{path}: cannot be read as NPZ without unpickling: {exc}") from None
    if "X" not in z.files:
        raise DataError(
            f"{path}: expected an array named X (N, L) or (N, L, C); found {', '.join(z.files)}"
        )
    x = z["X"]
    tokens = x.ndim == 2 and np.issubdtype(x.dtype, np.integer)
    if x.ndim == 2 and not tokens:
        x = x[:, :, None]
    if x.ndim not in (2, 3):
        raise DataError(f"{path}: X must be (N, L) or (N, L, C), got shape {x.shape}")
    lengths = z["lengths"].astype(int) if "lengths" in z.files else None
    seqs = []
    for i in range(len(x)):
        s = x[i]
        if lengths is not None:
            s = s[: lengths[i]]
        elif not tokens:
            real = ~np.isnan(s).all(axis=-1)
            s = s[: (len(real) - int(np.argmax(real[::-1]))) if real.any() else 0]
        if len(s) == 0:
            raise DataError(f"{path}: sequence {i} has no real steps")
        if not tokens and not np.isfinite(s).all():
            raise DataError(f"{path}: sequence {i} holds NaN or inf inside its length")
        seqs.append(s.astype(np.int64 if tokens else np.float32))
    y = z["y"] if "y" in z.files else None
    return {
        "seqs": seqs,
        "keys": list(range(len(seqs))),
        "key_name": "row",
        "y": y,
        "target": "y" if y is not None else None,
        "tokens": tokens,
    }


def predict_file(
    model_dir: str | Path,
    path: str | Path,
    out: str | Path,
    *,
    target: str | None = None,
    id_col: str | None = None,
    time_col: str | None = None,
    impute: str | None = None,
    batch_size: int = 256,
) -> dict[str, Any]:
    """Predict every sequence of ``path`` with the model in ``model_dir``; write ``out``
    (.csv or .parquet). Returns a summary: rows written, and accuracy / mse when the input
    held the target."""
    from seqselect.data.types import pad_sequences

    model, config = load_model(model_dir)
    if config.get("task") == "forecast":
        return _predict_forecast_file(
            model, config, path, out, id_col=id_col, time_col=time_col, impute=impute
        )
    if is_raw_model(config):  # raw text or audio, through the pipeline saved with the model
        data = read_raw_inputs(path, model_dir, config, target=target)
    else:
        data = read_inputs(
            path, config, target=target, id_col=id_col, time_col=time_col, impute=impute
        )
    x, mask = pad_sequences(data["seqs"], tokens=data["tokens"])
    norm = (config.get("input") or {}).get("normalization")
    if norm and not data["tokens"]:
        mean = torch.tensor(norm["x_mean"], dtype=torch.float32)
        std = torch.tensor(norm["x_std"], dtype=torch.float32)
        x = (x - mean) / std * mask.unsqueeze(-1)
    outputs = []
    with torch.inference_mode():
        for i in range(0, len(x), batch_size):
            xb, mb = x[i : i + batch_size], mask[i : i + batch_size]
            keep = int(mb.sum(dim=1).max())
            xb, mb = xb[:, :keep], mb[:, :keep]
            outputs.append(model(xb, None if bool(mb.all()) else mb).float())
    logits = torch.cat(outputs).numpy() if outputs else np.zeros((0, config["spec"]["d_output"]))
    frame: dict[str, Any] = {data["key_name"]: data["keys"]}
    summary: dict[str, Any] = {"rows": len(logits), "model": config.get("model"), "out": str(out)}
    task = config.get("task", "classify")
    if task == "classify":
        names = config.get("class_names") or [str(i) for i in range(logits.shape[1])]
        probs = torch.softmax(torch.from_numpy(logits), dim=-1).numpy()
        pred = [names[i] for i in probs.argmax(axis=1)]
        frame["prediction"] = pred
        for j, name in enumerate(names):
            frame[f"p_{name}"] = probs[:, j]
        if data["y"] is not None:
            truth = [str(v).strip() for v in data["y"]]
            frame["target"] = truth
            summary["accuracy"] = float(np.mean([p == t for p, t in zip(pred, truth, strict=True)]))
    else:
        tnorm = (config.get("input") or {}).get("target_normalization")
        values = logits
        if tnorm:
            y_std = np.asarray(tnorm["y_std"], dtype=np.float32)
            values = values * y_std + np.asarray(tnorm["y_mean"], dtype=np.float32)
        if values.shape[1] == 1:
            frame["prediction"] = values[:, 0]
        else:
            for j in range(values.shape[1]):
                frame[f"prediction_{j}"] = values[:, j]
        if data["y"] is not None:
            truth = np.asarray(data["y"], dtype=np.float32).reshape(len(values), -1)
            if truth.shape[1] == 1:
                frame["target"] = truth[:, 0]
            summary["mse"] = float(np.mean((values - truth) ** 2))
    _write_frame(frame, out)
    return summary


def _write_frame(frame: dict[str, Any], out: str | Path) -> None:
    """Write columns ``frame`` to ``out`` (.parquet/.pq, else CSV)."""
    import pandas as pd

    df = pd.DataFrame(frame)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() in (".parquet", ".pq"):
        df.to_parquet(out, index=False)
    else:
        df.to_csv(out, index=False)


# ---- forecasting ---------------------------------------------------------------------------
def read_series(
    path: str | Path,
    config: dict[str, Any],
    *,
    id_col: str | None = None,
    time_col: str | None = None,
    impute: str | None = None,
) -> tuple[dict[str, np.ndarray], list[str], str]:
    """The series of ``path`` for a forecasting model: ``(series, columns, key_name)``.

    ``series``: key -> ``(T, C)`` float64 values in the columns the model was trained on
    (``config["input"]["columns"]``, else every column but ``--time``/``--id``); one series
    named by the file's stem without ``--id``, one per id with it; ``forecast:NAME`` reads
    the bundled series. ``key_name`` is the ``--id`` column, else ``"series"``.
    """
    from seqselect.data.files import check_readable, file_kind, read_table
    from seqselect.data.tables import load_series

    text = str(path)
    if text.lower().startswith("forecast:"):
        from seqselect.data import bundled

        name = text.split(":", 1)[1].split("?", 1)[0]
        values, columns = bundled.forecast_values(name)
        return {bundled.resolve_forecast(name).name: values}, list(columns), "series"
    path = Path(path)
    check_readable(path)
    if file_kind(path) == "npz":
        raise DataError(f"{path}: a forecasting model reads a CSV/Parquet series, not NPZ")
    df, where = read_table(path)
    wanted = (config.get("input") or {}).get("columns")
    if wanted:
        missing = [c for c in wanted if c not in df.columns]
        if missing:
            raise DataError(
                f"{path}: no column {missing[0]!r}; the model was trained on the columns "
                f"{', '.join(map(str, wanted))}"
            )
        df = df[[c for c in df.columns if c in wanted or c in (time_col, id_col)]]
    groups = [(path.stem, df)] if id_col is None else _series_by_id(df, id_col, path)
    series: dict[str, np.ndarray] = {}
    columns: list[str] = []
    for key, part in groups:
        values, columns, _, _ = load_series(
            part, where, target=None, time_col=time_col, impute=impute
        )
        order = [columns.index(c) for c in wanted] if wanted else list(range(len(columns)))
        series[key] = np.asarray(values, dtype=np.float64)[:, order]
        columns = list(wanted) if wanted else columns
    return series, columns, id_col or "series"


def _series_by_id(df, id_col: str, path: Path) -> list[tuple[str, Any]]:
    if id_col not in df.columns:
        raise DataError(f"{path}: no id column {id_col!r}")
    ids = df[id_col].astype(str).str.strip()
    return [(key, df[ids == key].drop(columns=[id_col])) for key in dict.fromkeys(ids)]


def forecast_layout_for(config: dict[str, Any], columns: list[str]) -> tuple[ForecastLayout, int]:
    """``(layout, window)`` of an exported forecasting model reading ``columns``."""
    inp = dict(config.get("input") or {})
    spec = config.get("spec") or {}
    if not inp.get("window"):
        raise SeqSelectError(
            "the exported forecasting model does not say its input window (config.json "
            "input.window); re-export it with this version"
        )
    inp.setdefault("columns", columns)
    if not inp.get("target_columns") and config.get("target") in columns:
        inp["target_columns"] = [config["target"]]
    d_input = int(spec.get("d_input") or len(columns))
    if len(inp["columns"]) != d_input:
        raise DataError(
            f"the series has {len(inp['columns'])} value column(s) "
            f"({', '.join(map(str, inp['columns']))}); the model was trained on {d_input}"
        )
    layout = ForecastLayout.from_metadata(inp, d_input=d_input, d_output=int(spec["d_output"]))
    return layout, int(inp["window"])


@torch.inference_mode()
def forecast_next(
    model: torch.nn.Module,
    config: dict[str, Any],
    series: dict[str, np.ndarray],
    columns: list[str],
) -> dict[str, np.ndarray]:
    """The next H values of every series: key -> ``(H, K)`` in the series' own units.

    Each series ``(T, C)`` (C = ``columns``) gives its last W steps as the input window,
    standardised with the training statistics and offset by its last value as in
    training. Raises :class:`DataError` naming a series shorter than W.
    """
    layout, window = forecast_layout_for(config, columns)
    norm = (config.get("input") or {}).get("normalization")
    windows, offsets = [], []
    for key, values in series.items():
        if len(values) < window:
            raise DataError(
                f"series {key!r} has {len(values)} steps; the model needs the last {window} "
                f"(its input window) to forecast"
            )
        x = values[-window:]  # (W, C)
        if norm:
            x = (x - np.asarray(norm["x_mean"])) / np.asarray(norm["x_std"])
        offset = x[-1].copy() if layout.offset != "none" else np.zeros(x.shape[1])
        windows.append(x - offset)
        offsets.append(offset)
    if not windows:
        return {}
    x = torch.as_tensor(np.stack(windows), dtype=torch.float32)  # (N, W, C)
    pred = model.eval()(x).float().numpy()  # (N, H * K)
    values = layout.to_original(pred, np.stack(offsets))
    k = len(layout.target_channels)
    return {key: values[i].reshape(layout.horizon, k) for i, key in enumerate(series)}


def _predict_forecast_file(model, config, path, out, *, id_col, time_col, impute):
    """:func:`predict_file` for a forecasting model: one row per series and step; the
    ``--id``/``--time`` columns default to those the model was trained with."""
    inp = config.get("input") or {}
    id_col, time_col = id_col or inp.get("id_col"), time_col or inp.get("time_col")
    series, columns, key_name = read_series(
        path, config, id_col=id_col, time_col=time_col, impute=impute
    )
    forecasts = forecast_next(model, config, series, columns)
    layout, _ = forecast_layout_for(config, columns)
    targets = [columns[c] for c in layout.target_channels]
    frame: dict[str, Any] = {key_name: [], "step": []}
    frame.update({str(t): [] for t in targets})
    for key, values in forecasts.items():  # (H, K)
        frame[key_name].extend([key] * layout.horizon)
        frame["step"].extend(range(1, layout.horizon + 1))
        for j, t in enumerate(targets):
            frame[str(t)].extend(values[:, j].tolist())
    _write_frame(frame, out)
    return {
        "rows": len(frame["step"]), "series": len(forecasts), "horizon": layout.horizon,
        "targets": [str(t) for t in targets], "model": config.get("model"), "out": str(out),
    }
