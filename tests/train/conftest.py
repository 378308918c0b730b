"""Shared pieces of the trainer tests: one torch thread, a tiny model and a toy dataset.

One torch thread per test process: pytest-xdist runs two workers, and oversubscribed
intra-op threads make tiny models tens of times slower on a busy machine.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from seqselect.data import DatasetSplits, SequenceData


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class TinyNet(nn.Module):
    """Mean-pool then MLP: (B, L, C) -> (B, O), or per step (B, L, O)."""

    def __init__(
        self, channels: int, outputs: int, per_step: bool = False, vocab: int | None = None
    ):
        super().__init__()
        self.embed = nn.Embedding(vocab, channels) if vocab else None
        self.net = nn.Sequential(nn.Linear(channels, 32), nn.Tanh(), nn.Linear(32, outputs))
        self.per_step = per_step

    def forward(self, x, mask=None):
        h = self.embed(x) if self.embed is not None else x  # (B, L, C)
        if self.per_step:
            return self.net(h)
        if mask is not None:
            weights = mask.unsqueeze(-1).float()  # (B, L, 1)
            h = (h * weights).sum(1) / weights.sum(1)
        else:
            h = h.mean(1)
        return self.net(h)


def make_toy_splits(n: int = 64, length: int = 6, classes: int = 3, seed: int = 0) -> DatasetSplits:
    """Three well-separated classes of 2-channel sequences; every 4th one half padded.

    Train is the first 40 sequences, validation the next 10, test the rest.
    """
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    x = torch.randn(n, length, 2, generator=generator) * 0.1 + y[:, None, None].float()
    mask = torch.ones(n, length, dtype=torch.bool)
    mask[::4, length // 2 :] = False
    x[~mask] = 0

    def part(rows: slice) -> SequenceData:
        return SequenceData(x[rows], mask[rows], y[rows])

    return DatasetSplits(
        name="toy", task="classify", model_task="classify", train=part(slice(0, 40)),
        val=part(slice(40, 50)), test=part(slice(50, n)), d_input=2, d_output=classes,
        class_names=[str(i) for i in range(classes)],
    )


@pytest.fixture
def tiny() -> type[TinyNet]:
    """The tiny model class (a fixture, since test modules are not importable packages)."""
    return TinyNet


@pytest.fixture
def toy_splits() -> Callable[..., DatasetSplits]:
    """``make_toy_splits``: call it with ``n``, ``length``, ``classes``, ``seed``."""
    return make_toy_splits
