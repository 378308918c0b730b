"""User NPZ archives of arrays, validated before use; never unpickled.

* ``X`` ``(N, L)`` or ``(N, L, C)``, ``y`` ``(N,)`` (or ``(N, O)`` for several regression
  targets), optional ``lengths`` ``(N,)``;
* or ``X_train``/``y_train``/``X_test``/``y_test`` (and optionally ``X_val``/``y_val``,
  ``lengths_*``) for a fixed split.

Integer 2-D ``X`` is read as token ids. Without ``lengths``, trailing all-NaN steps are
padding. Object arrays are refused: loading them needs pickle, which can run code.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from seqselect.data.splits import RawDataset
from seqselect.data.validate import Where, check_readable, impute_sequence
from seqselect.errors import DataError


def _find_array(z, key: str) -> str | None:
    """The name ``key`` has in the archive (as written, lower- or upper-case), or None."""
    keys = set(z.files)
    return next((k for k in (key, key.lower(), key.upper()) if k in keys), None)


def _read_part(z, suffix: str, where: Where) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(X, y, lengths or None)`` of one part (``""``, ``"_train"``, ...), shapes checked."""
    x_key, y_key, l_key = f"X{suffix}", f"y{suffix}", f"lengths{suffix}"
    for key in (x_key, y_key):
        if _find_array(z, key) is None:
            raise DataError(
                f"{where.file}: no array {key!r}; arrays in the file: "
                f"{', '.join(sorted(z.files))}. "
                "Expected X and y (and optionally lengths), or X_train, y_train, X_test, y_test"
            )
    try:
        x = z[_find_array(z, x_key)]
        y = z[_find_array(z, y_key)]
        lengths = z[l_key] if l_key in z.files else None
    except ValueError as exc:  # object arrays need pickle, which we never allow
        raise DataError(
            f"{where.file}: {exc}; seqselect never unpickles data (it could run code): save "
            "numeric or string arrays"
        ) from None
    if x.ndim not in (2, 3) or len(x) == 0:
        raise DataError(
            f"{where.file}: {x_key} has shape {x.shape}; expected (N, L) or (N, L, C) with N >= 1"
        )
    if y.ndim not in (1, 2) or len(y) != len(x):
        raise DataError(
            f"{where.file}: {y_key} has shape {y.shape} but {x_key} has {len(x)} sequences; "
            f"expected {y_key} of shape ({len(x)},)"
        )
    return x, y, lengths


def _real_lengths(
    values: np.ndarray, lengths: np.ndarray | None, tokens: bool, where: Where, suffix: str
) -> np.ndarray:
    """Steps of each sequence ``(N,)``: ``lengths`` checked, else up to the last step that is
    not all NaN (all steps for tokens). ``values``: ``(N, L)`` tokens or ``(N, L, C)``."""
    x_key, l_key = f"X{suffix}", f"lengths{suffix}"
    n, length = values.shape[:2]
    if lengths is not None:
        lengths = np.asarray(lengths)
        if lengths.shape != (n,) or lengths.dtype.kind not in "iu":
            raise DataError(
                f"{where.file}: {l_key} must be ({n},) integers, "
                f"got {lengths.shape} {lengths.dtype}"
            )
        bad = (lengths < 1) | (lengths > length)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{where.file}: {l_key}[{i}] = {lengths[i]}; "
                f"expected 1..{length} (the steps in {x_key})"
            )
        return lengths
    if tokens:
        return np.full(n, length)
    real = ~np.isnan(values).all(axis=2)  # (N, L); trailing all-NaN steps are padding
    empty = ~real.any(axis=1)
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise DataError(f"{where.file}: {x_key}[{i}] is all NaN; every sequence needs values")
    return length - np.argmax(real[:, ::-1], axis=1)


def _checked_sequence(
    seq: np.ndarray, i: int, where: Where, x_key: str, impute: str | None
) -> tuple[np.ndarray, int]:
    """Sequence ``i``, ``(L_i, C)`` float: infinities refused, NaN imputed or refused.

    Returns the sequence and how many cells were missing.
    """
    if np.isinf(seq).any():
        t, c = np.argwhere(np.isinf(seq))[0]
        raise DataError(
            f"{where.file}: {x_key}[{i}, {t}, {c}] is infinite (sequence {i}, step {t}, "
            f"channel {c}; 0-based); expected finite numbers"
        )
    nan = np.isnan(seq)
    if not nan.any():
        return seq, 0
    if impute is None:
        t, c = np.argwhere(nan)[0]
        raise DataError(
            f"{where.file}: {x_key}[{i}, {t}, {c}] is NaN (sequence {i}, step {t}, "
            f"channel {c}; 0-based) inside the sequence; fill it, give lengths, or pass "
            "--impute zero|ffill|mean"
        )
    return impute_sequence(seq, impute), int(nan.sum())


def _npz_part(
    z, suffix: str, where: Where, impute: str | None
) -> tuple[list[np.ndarray], np.ndarray, bool, int]:
    """``(sequences, y, tokens, missing cells)`` of one part of the archive."""
    x_key = f"X{suffix}"
    x, y, lengths = _read_part(z, suffix, where)
    tokens = x.ndim == 2 and x.dtype.kind in "iu"
    if not tokens and x.dtype.kind not in "iufb":
        raise DataError(f"{where.file}: {x_key} has dtype {x.dtype}; expected numbers")
    if tokens and (x < 0).any():
        idx = tuple(int(v) for v in np.argwhere(x < 0)[0])
        raise DataError(
            f"{where.file}: {x_key}[{idx[0]}, {idx[1]}] = {x[idx]} is a negative token id; "
            "ids must be >= 0"
        )
    # (N, L) token ids, or (N, L, C) float64
    values = x if tokens else (x[..., None] if x.ndim == 2 else x).astype(np.float64)
    lengths = _real_lengths(values, lengths, tokens, where, suffix)
    seqs, n_missing = [], 0
    for i in range(len(x)):
        if tokens:
            seqs.append(values[i, : lengths[i]].astype(np.int64))
            continue
        seq, missing = _checked_sequence(values[i, : lengths[i]], i, where, x_key, impute)
        seqs.append(seq)
        n_missing += missing
    y_key = f"y{suffix}"
    if y.dtype.kind == "f" and np.isnan(y).any():
        i = int(np.argwhere(np.isnan(y))[0][0])
        raise DataError(f"{where.file}: {y_key}[{i}] is NaN; every sequence needs a target")
    return seqs, y, tokens, n_missing


def load_npz(path: Path, *, name: str, task: str | None, impute: str | None) -> RawDataset:
    check_readable(path)
    where = Where(str(path), "npz")
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # not an NPZ archive
        raise DataError(f"{path}: cannot be read as NPZ: {exc}") from None
    if not hasattr(z, "files"):
        raise DataError(f"{path}: holds a single array, not an NPZ archive of X and y")
    with z:
        keys = set(z.files)
        if "X_train" in keys or "x_train" in keys:
            parts = [("_train", "train"), ("_val", "val"), ("_test", "test")]
            seqs, ys, split, tokens, n_missing = [], [], [], False, 0
            for suffix, label in parts:
                if f"X{suffix}" not in keys and f"x{suffix}" not in keys:
                    if label == "val":
                        continue
                    raise DataError(
                        f"{path}: has X_train but no X{suffix}; "
                        "give X_train, y_train, X_test, y_test"
                    )
                s, y, tokens, m = _npz_part(z, suffix, where, impute)
                seqs += s
                ys.append(y)
                split += [label] * len(s)
                n_missing += m
            y = np.concatenate(ys)
            split = np.array(split)
        else:
            seqs, y, tokens, n_missing = _npz_part(z, "", where, impute)
            split = None
    inferred = task is None
    if task is None:
        task = "classify" if (y.dtype.kind in "iuUSb" and y.ndim == 1) else "regress"
    if task == "classify":
        if y.ndim != 1:
            raise DataError(
                f"{path}: y has shape {y.shape}; classification needs one label per sequence"
            )
        if y.dtype.kind == "f" and not np.all(y == np.round(y)):
            raise DataError(
                f"{path}: y holds non-integer floats; use task='regress' or integer labels"
            )
        y = np.array([str(int(v)) if y.dtype.kind == "f" else str(v) for v in y], dtype=object)
    elif y.dtype.kind not in "iuf":
        raise DataError(f"{path}: y has dtype {y.dtype}; regression needs numbers")
    return RawDataset(
        name=name, source=name, task=task, seqs=seqs, y=y, tokens=tokens, split=split, where=where,
        target_name="y",
        metadata={
            "form": "npz",
            "task_inferred": inferred,
            "impute": impute,
            "imputed_cells": n_missing if impute else 0,
        },
    )
