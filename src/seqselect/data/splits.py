"""From loaded arrays to :class:`DatasetSplits`: label encoding, seeded splits, padding,
standardisation with training statistics only.

Splits:

* a dataset with an official split (UCR/UEA, an NPZ with ``X_train``/``X_test``, a file
  with a ``split`` column) keeps it; validation is carved out of training;
* otherwise a seeded split: stratified by class for classification (every class keeps at
  least one training example), a random one for regression. Forecasting windows are split
  in time order instead (see ``bundled.make_windows``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from seqselect.data.types import DatasetSplits, SequenceData, pad_sequences
from seqselect.data.validate import (
    Where,
    check_target_labels,
    check_unseen_labels,
    split_counts,
    too_few_error,
)
from seqselect.errors import DataError
from seqselect.vocabulary import model_task_for

log = logging.getLogger(__name__)


def natural_sort(labels) -> list:
    """Numbers by value ('2' < '10'), otherwise as text."""
    labels = list(labels)
    try:
        return sorted(labels, key=lambda s: float(s))
    except (TypeError, ValueError):
        return sorted(labels, key=str)


def seeded_split(
    n: int,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    labels: np.ndarray | None,
    name: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices ``(train, val, test)``, sorted.

    With ``labels`` the split is stratified: each class is shuffled, its last example is
    kept for training, and the rest are interleaved by their relative rank so validation
    and test draw classes in proportion. Raises :class:`DataError` when a split would be
    empty.
    """
    n_val, n_test = split_counts(n, val_fraction, test_fraction)
    rng = np.random.default_rng(seed)
    if labels is None:
        order = rng.permutation(n)
        reserved = 1
    else:
        classes = np.unique(labels)
        keys = np.full(n, np.inf)
        for c in classes:
            idx = rng.permutation(np.flatnonzero(labels == c))
            rest = idx[:-1]  # idx[-1] stays in training (key inf)
            keys[rest] = (np.arange(len(rest)) + rng.random(len(rest))) / len(idx)
        order = np.argsort(keys, kind="stable")
        reserved = len(classes)
    if n_val + n_test > n - reserved:
        why = "every split needs at least one sequence"
        if labels is not None:
            why += " and every class one in training"
        need = n + 1
        while sum(split_counts(need, val_fraction, test_fraction)) > need - reserved:
            need += 1
        raise too_few_error(name, n, need, val_fraction, test_fraction, why)
    test = np.sort(order[:n_test])
    val = np.sort(order[n_test : n_test + n_val])
    train = np.sort(order[n_test + n_val :])
    return train, val, test


def carve_validation(
    n_train: int, val_fraction: float, seed: int, labels: np.ndarray | None, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Split an official training set into (train, val) indices."""
    if val_fraction <= 0:
        return np.arange(n_train), np.array([], dtype=np.int64)
    train, val, _ = seeded_split(
        n_train, val_fraction, 0.0, seed, labels, f"{name} (training split)"
    )
    return train, val


def label_typos(labels: np.ndarray, column: str) -> list[str]:
    """Class labels that look like typos of each other: equal ignoring case and spaces
    ('Yes' / 'yes '), or a rare label (< 5% and < 5 rows) within one edit of a common one."""
    import difflib
    from collections import Counter

    counts = Counter(labels.tolist())
    out = []
    folded: dict[str, list[str]] = {}
    for lab in counts:
        folded.setdefault(" ".join(str(lab).lower().split()), []).append(str(lab))
    for group in folded.values():
        if len(group) > 1:
            out.append(
                f"labels {', '.join(repr(g) for g in sorted(group))} in {column!r} differ only "
                "in case or spacing; they are different classes - a typo?"
            )
    total = sum(counts.values())
    common = [lab for lab, c in counts.items() if c >= 5]
    for lab, c in counts.items():
        if c < 5 and c / total < 0.05 and not str(lab).replace(".", "").isdigit():
            close = difflib.get_close_matches(
                str(lab), [str(x) for x in common if x != lab], n=1, cutoff=0.6
            )
            if close:
                out.append(
                    f"label {str(lab)!r} in {column!r} has only {c} row(s) "
                    f"and looks like {close[0]!r} - a typo?"
                )
    return out


@dataclass
class RawDataset:
    """What a loader produces before splitting: one entry per sequence.

    ``seqs``: list of ``(L_i, C)`` float arrays, or ``(L_i,)`` int arrays for tokens.
    ``y``: labels (any type; classification) or ``(N, O)`` floats (regression).
    ``split``: optional ``"train" | "val" | "test"`` per sequence (an official split).
    ``rows``: each sequence's data-row index in the user's file, for messages.
    """

    name: str
    source: str
    task: str
    seqs: list[np.ndarray]
    y: np.ndarray
    tokens: bool = False
    split: np.ndarray | None = None
    rows: np.ndarray | None = None
    where: Where | None = None
    target_name: str = "target"
    class_names: list[str] | None = None
    vocab_size: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def _standardize(arrays: dict[str, SequenceData], d_input: int) -> dict[str, Any]:
    """Per-channel z-score with training statistics over real steps; padding stays 0."""
    train = arrays["train"]
    real = train.x[train.mask]  # (steps, C)
    mean = real.mean(dim=0)
    std = real.std(dim=0, unbiased=False)
    std = torch.where(std > 1e-12, std, torch.ones_like(std))
    for part in arrays.values():
        part.x.sub_(mean).div_(std).mul_(part.mask.unsqueeze(-1))
    return {"x_mean": mean.tolist(), "x_std": std.tolist()}


def _standardize_targets(arrays: dict[str, SequenceData]) -> dict[str, Any]:
    y = arrays["train"].y
    mean = y.mean(dim=0)
    std = y.std(dim=0, unbiased=False)
    std = torch.where(std > 1e-12, std, torch.ones_like(std))
    for part in arrays.values():
        part.y.sub_(mean).div_(std)
    return {"y_mean": mean.tolist(), "y_std": std.tolist()}


def _encode_targets(
    raw: RawDataset, where: Where, meta: dict[str, Any]
) -> tuple[np.ndarray | None, Tensor, list[str] | None]:
    """``(labels, y, class_names)``: class indices ``(N,)`` long for classification (labels
    as text, typo warnings added to ``meta``), else ``(N, O)`` float32 targets."""
    if raw.task != "classify":
        y_all = torch.as_tensor(np.asarray(raw.y, dtype=np.float32))
        return None, (y_all.unsqueeze(1) if y_all.dim() == 1 else y_all), None
    labels = np.asarray([str(v) for v in raw.y], dtype=object)
    check_target_labels(labels, where, raw.target_name)
    names = raw.class_names or [str(c) for c in natural_sort(set(labels.tolist()))]
    names = names + sorted(set(labels.tolist()) - set(names))
    index = {c: i for i, c in enumerate(names)}
    y_all = torch.tensor([index[v] for v in labels.tolist()], dtype=torch.long)
    warnings = label_typos(labels, raw.target_name)
    if warnings:
        meta["warnings"] = [*meta.get("warnings", []), *warnings]
        for warning in warnings:
            log.warning("%s: %s", raw.name, warning)
    return labels, y_all, names


def _normalize(
    parts: dict[str, SequenceData],
    meta: dict[str, Any],
    raw: RawDataset,
    d_input: int | None,
    *,
    normalize: bool,
    per_series: bool,
) -> dict[str, SequenceData]:
    """Per-series z-normalisation (optional), then standardisation with training statistics
    (inputs and regression targets); records what was done in ``meta``."""
    if per_series and not raw.tokens:
        parts = {part: znormalize_series(data) for part, data in parts.items()}
        meta["per_series_normalization"] = True
    if normalize and not raw.tokens:
        meta["normalization"] = _standardize(parts, d_input)
    if normalize and raw.task != "classify":
        meta["target_normalization"] = _standardize_targets(parts)
    return parts


def finalize(
    raw: RawDataset,
    *,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    normalize: bool = True,
    per_series: bool = False,
) -> DatasetSplits:
    """Encode labels, split, pad and (optionally) standardise ``raw``; ``per_series``: see
    :func:`znormalize_series` (off by default)."""
    n = len(raw.seqs)
    where = raw.where or Where(raw.name, "bundled")
    if n == 0:
        raise DataError(f"{raw.name}: no sequences found")
    classify = raw.task == "classify"
    meta = dict(raw.metadata)
    labels, y_all, names = _encode_targets(raw, where, meta)

    if raw.split is not None:
        split = np.asarray(raw.split)
        tr = np.flatnonzero(split == "train")
        va = np.flatnonzero(split == "val")
        te = np.flatnonzero(split == "test")
        if len(tr) == 0 or len(te) == 0:
            raise DataError(
                f"{raw.name}: the given split has {len(tr)} training and {len(te)} test "
                "sequences; both need at least one"
            )
        if len(va) == 0 and val_fraction > 0:
            sub_tr, sub_va = carve_validation(
                len(tr), val_fraction, seed, labels[tr] if classify else None, raw.name
            )
            tr, va = tr[sub_tr], tr[sub_va]
        if classify:
            for part, idx in (("validation", va), ("test", te)):
                check_unseen_labels(
                    labels[tr],
                    labels[idx],
                    part,
                    raw.name,
                    raw.rows[idx] if raw.rows is not None else None,
                    raw.where,
                )
        meta["split"] = "official"
    else:
        tr, va, te = seeded_split(n, val_fraction, test_fraction, seed, labels, raw.name)
        meta["split"] = "stratified" if classify else "random"
    meta["split_seed"] = seed

    x_all, mask_all = pad_sequences(raw.seqs, tokens=raw.tokens)
    parts = {}
    for part, idx in (("train", tr), ("val", va), ("test", te)):
        index = torch.as_tensor(idx, dtype=torch.long)
        parts[part] = SequenceData(x_all[index], mask_all[index], y_all[index]).subset(
            torch.arange(len(index))
        )
    d_input = None if raw.tokens else int(x_all.shape[-1])
    parts = _normalize(parts, meta, raw, d_input, normalize=normalize, per_series=per_series)
    vocab = raw.vocab_size
    if raw.tokens and vocab is None:
        vocab = int(x_all.max()) + 1 if x_all.numel() else 1
    return DatasetSplits(
        name=raw.name,
        task=raw.task,
        model_task=model_task_for(raw.task),
        train=parts["train"],
        val=parts["val"],
        test=parts["test"],
        d_input=d_input,
        vocab_size=vocab if raw.tokens else None,
        d_output=len(names) if classify else int(y_all.shape[1]),
        class_names=names,
        source=raw.source,
        metadata=meta,
    )


def znormalize_series(data: SequenceData, eps: float = 1e-8) -> SequenceData:
    """Each series and channel minus its mean over real steps, over its standard deviation
    (population; a constant channel becomes 0); padding stays 0.

    ``finalize(per_series=True)`` applies it before the training-statistics standardisation.
    Off by default: UCR/UEA series come z-normalised already, and on multichannel
    JapaneseVowels it cost 17 points of test accuracy (ACSF1: 7; issue 13's recipe
    measurements); a caller whose series differ only in offset and scale can turn it on.

    ``data.x: (N, L, C)`` float -> the same shape.
    """
    weights = data.mask.unsqueeze(-1).to(data.x.dtype)  # (N, L, 1)
    count = weights.sum(dim=1, keepdim=True).clamp(min=1)  # (N, 1, 1)
    mean = (data.x * weights).sum(dim=1, keepdim=True) / count  # (N, 1, C)
    var = (((data.x - mean) ** 2) * weights).sum(dim=1, keepdim=True) / count
    std = var.sqrt()
    scaled = torch.where(std > eps, (data.x - mean) / std.clamp(min=eps), torch.zeros_like(data.x))
    return SequenceData(scaled * weights, data.mask, data.y)


def split_tensors(
    result: dict[str, Any],
    *,
    name: str,
    source: str,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    metadata: dict[str, Any],
) -> DatasetSplits:
    """Split a generated task (tensors ``x``, ``mask``, ``y``) with a seeded random split.

    Synthetic samples are i.i.d., so a plain random split is exact; classification
    targets are stratified like any other.
    """
    x, mask, y = result["x"], result["mask"], result["y"]
    n = len(x)
    labels = y.numpy() if result["model_task"] == "classify" else None
    tr, va, te = seeded_split(n, val_fraction, test_fraction, seed, labels, name)
    parts = {
        p: SequenceData(x, mask, y).subset(torch.as_tensor(i, dtype=torch.long))
        for p, i in (("train", tr), ("val", va), ("test", te))
    }
    return DatasetSplits(
        name=name,
        task=result["task"],
        model_task=result["model_task"],
        train=parts["train"],
        val=parts["val"],
        test=parts["test"],
        d_input=result.get("d_input"),
        vocab_size=result.get("vocab_size"),
        d_output=result["d_output"],
        class_names=result.get("class_names"),
        source=source,
        metadata={**result.get("metadata", {}), **metadata, "split": "random", "split_seed": seed},
    )
