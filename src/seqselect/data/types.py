"""The containers every loader returns: :class:`SequenceData` and :class:`DatasetSplits`.

Symbols: N sequences, L length (the longest in the set; shorter ones are right-padded),
C channels, O outputs.

* ``x``: ``(N, L, C)`` float32 for real-valued data, or ``(N, L)`` long for tokens.
* ``mask``: ``(N, L)`` bool, right-padded, True = real step. Padded steps hold zeros
  (token id 0), never NaN.
* ``y``: ``(N,)`` long for classification; ``(N, O)`` float32 for regression and
  forecasting; ``(N, L)`` long (class per step, ``-100`` = not scored) or ``(N, L, O)``
  float32 for per-step tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

#: Per-step class targets equal to this are not scored (PyTorch's cross-entropy default).
IGNORE_INDEX = -100


@dataclass
class SequenceData:
    """One split: inputs, mask, targets (see the module docstring for shapes)."""

    x: Tensor
    mask: Tensor
    y: Tensor

    def __post_init__(self) -> None:
        n = self.x.shape[0]
        if self.mask.shape != self.x.shape[:2]:
            raise ValueError(
                f"mask {tuple(self.mask.shape)} does not match x {tuple(self.x.shape)}"
            )
        if self.y.shape[0] != n:
            raise ValueError(f"y has {self.y.shape[0]} rows, x has {n}")

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def lengths(self) -> Tensor:
        """Real length of each sequence, ``(N,)`` long."""
        return self.mask.sum(dim=1)

    def subset(self, index) -> SequenceData:
        """Rows ``index`` (a tensor/array of ints or bools), trimmed to their longest length."""
        index = torch.as_tensor(index)
        x, mask, y = self.x[index], self.mask[index], self.y[index]
        if len(mask) and mask.shape[1]:
            keep = int(mask.sum(dim=1).max())
            x, mask = x[:, :keep], mask[:, :keep]
            if y.dim() >= 2 and y.shape[1] == self.mask.shape[1] and self.is_per_step:
                y = y[:, :keep]
        return SequenceData(x, mask, y)

    @property
    def is_per_step(self) -> bool:
        """Targets given at every step (``y`` shaped like the mask, plus outputs)."""
        return self.y.dim() >= 2 and tuple(self.y.shape[:2]) == tuple(self.mask.shape)


@dataclass
class DatasetSplits:
    """A dataset ready to train on: train / validation / test splits plus what models need.

    ``model_task`` is the ``task=`` for ``create_model``; ``d_input`` / ``vocab_size`` (one
    of them is set) and ``d_output`` are its other arguments.
    """

    name: str
    task: str  # "classify" | "regress" | "forecast"
    model_task: str  # "classify" | "regress" | "per_step"
    train: SequenceData
    val: SequenceData
    test: SequenceData
    d_output: int
    d_input: int | None = None
    vocab_size: int | None = None
    class_names: list[str] | None = None
    source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_classes(self) -> int | None:
        return len(self.class_names) if self.class_names is not None else None

    def model_kwargs(self) -> dict[str, Any]:
        """The ``create_model`` keyword arguments this dataset needs (with
        ``data_sample_rate`` for audio, so spectrogram front-ends match the clips' rate)."""
        rate = (self.metadata.get("audio") or {}).get("sample_rate")
        return {
            "d_input": self.d_input,
            "vocab_size": self.vocab_size,
            "d_output": self.d_output,
            "task": self.model_task,
            **({"data_sample_rate": int(rate)} if rate else {}),
        }

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "task": self.task,
            "model_task": self.model_task,
            "n_train": len(self.train),
            "n_val": len(self.val),
            "n_test": len(self.test),
            "d_input": self.d_input,
            "vocab_size": self.vocab_size,
            "d_output": self.d_output,
            "n_classes": self.n_classes,
        }


def pad_sequences(
    seqs: list[np.ndarray], *, tokens: bool = False, pad_value: float = 0.0
) -> tuple[Tensor, Tensor]:
    """Right-pad a list of ``(L_i, C)`` float (or ``(L_i,)`` int) arrays.

    Returns ``x: (N, L_max, C)`` float32 (or ``(N, L_max)`` long) and ``mask: (N, L_max)``.
    """
    n = len(seqs)
    length = max((len(s) for s in seqs), default=0)
    mask = torch.zeros(n, length, dtype=torch.bool)
    if tokens:
        x = torch.zeros(n, length, dtype=torch.long)
    else:
        channels = seqs[0].shape[1] if n else 1
        x = torch.full((n, length, channels), pad_value, dtype=torch.float32)
    for i, s in enumerate(seqs):
        k = len(s)
        x[i, :k] = torch.from_numpy(np.array(s))  # a copy: inputs may be read-only
        mask[i, :k] = True
    return x, mask
