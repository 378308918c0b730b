"""What a dataset looks like, in the terms the advisor uses: :func:`profile_dataset`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from seqselect.data.types import DatasetSplits

DATA_TYPES = ("time-series", "text", "audio", "other")


@dataclass
class DataProfile:
    """Summary statistics of a loaded dataset (all splits together unless stated)."""

    name: str
    task: str
    n_sequences: int
    n_train: int
    n_val: int
    n_test: int
    length: dict[str, float]  # min, median, p95, max of real lengths
    n_channels: int | None  # None for tokens
    value_type: str  # "float" | "tokens"
    data_type: str  # "time-series" | "text" | "audio" | "other"
    n_classes: int | None
    class_balance: dict[str, float] | None  # label -> fraction, over all splits
    multivariate: bool
    model_task: str = ""
    d_output: int = 0
    vocab_size: int | None = None
    variable_length: bool = False
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def infer_data_type(value_type: str, n_channels: int | None, max_length: int) -> str:
    """A guess when the source does not say: tokens are text; one very long real channel
    (>= 8,000 steps, e.g. a second of 8 kHz sound) is audio; real values are time series."""
    if value_type == "tokens":
        return "text"
    if n_channels == 1 and max_length >= 8000:
        return "audio"
    return "time-series"


def profile_dataset(splits: DatasetSplits) -> DataProfile:
    """Profile a :class:`DatasetSplits` (lengths, channels, classes and balance)."""
    parts = [splits.train, splits.val, splits.test]
    lengths = torch.cat([p.lengths for p in parts]).numpy()
    tokens = splits.vocab_size is not None
    n_channels = None if tokens else int(splits.d_input or 0)
    max_len = int(lengths.max()) if len(lengths) else 0
    balance = None
    if splits.class_names is not None:
        ys = [p.y for p in parts]
        if splits.train.is_per_step:
            flat = torch.cat([y.reshape(-1) for y in ys])
            flat = flat[flat >= 0]
        else:
            flat = torch.cat(ys)
        counts = torch.bincount(flat, minlength=len(splits.class_names)).numpy()
        total = max(int(counts.sum()), 1)
        balance = {
            name: round(float(c) / total, 4)
            for name, c in zip(splits.class_names, counts, strict=True)
        }
    data_type = splits.metadata.get("data_type") or infer_data_type(
        "tokens" if tokens else "float", n_channels, max_len
    )
    return DataProfile(
        name=splits.name,
        task=splits.task,
        n_sequences=sum(len(p) for p in parts),
        n_train=len(splits.train),
        n_val=len(splits.val),
        n_test=len(splits.test),
        length={
            "min": int(lengths.min()) if len(lengths) else 0,
            "median": float(np.median(lengths)) if len(lengths) else 0.0,
            "p95": float(np.percentile(lengths, 95)) if len(lengths) else 0.0,
            "max": max_len,
        },
        n_channels=n_channels,
        value_type="tokens" if tokens else "float",
        data_type=data_type,
        n_classes=len(splits.class_names) if splits.class_names is not None else None,
        class_balance=balance,
        multivariate=bool(n_channels and n_channels > 1),
        model_task=splits.model_task,
        d_output=splits.d_output,
        vocab_size=splits.vocab_size,
        variable_length=bool(len(lengths) and lengths.min() != lengths.max()),
        source=splits.source,
        extra={
            k: v
            for k, v in splits.metadata.items()
            if k
            in (
                "split",
                "form",
                "horizon",
                "window",
                "impute",
                "imputed_cells",
                "task_inferred",
                "warnings",
            )
        },
    )
