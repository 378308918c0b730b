"""Predict with an exported model: read a user file the way training read it, apply the
training normalisation stored in config.json, write one prediction per sequence.

Input forms (as for training, see :mod:`seqselect.data.files`):

* wide CSV/Parquet: one row per sequence -> one prediction per input row; the target
  column (``--target``, default the one trained on) is used only when present, to report
  accuracy / error alongside;
* long CSV/Parquet (``--id``/``--time``): one prediction per sequence id;
* NPZ: ``X`` ``(N, L)`` / ``(N, L, C)`` (``y`` optional, ``lengths`` optional).

Classification writes the class name and one probability column per class; regression
writes the value in the target's own units (the training standardisation undone).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqselect.bakeoff.export import load_model
from seqselect.errors import DataError, SeqSelectError

log = logging.getLogger(__name__)

__all__ = ["predict_file", "read_inputs"]

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
        raise SeqSelectError(
            "predict for forecasting models is not supported yet; use the model from Python"
        )
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
    import pandas as pd

    from seqselect.data.types import pad_sequences

    model, config = load_model(model_dir)
    data = read_inputs(path, config, target=target, id_col=id_col, time_col=time_col, impute=impute)
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
    df = pd.DataFrame(frame)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() in (".parquet", ".pq"):
        df.to_parquet(out, index=False)
    else:
        df.to_csv(out, index=False)
    return summary
