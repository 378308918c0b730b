"""Per-series z-normalisation: a known answer, and padding left alone."""

from __future__ import annotations

import math

import torch

from seqselect.data.splits import znormalize_series
from seqselect.data.types import SequenceData


def test_znormalize_series_known_answer_with_padding_and_a_constant_channel():
    # one series of 4 real steps (channel 0: 1 2 3 4, channel 1 constant) and one of 2
    x = torch.tensor([
        [[1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [4.0, 5.0]],
        [[10.0, -1.0], [20.0, 1.0], [0.0, 0.0], [0.0, 0.0]],
    ])
    mask = torch.tensor([[True] * 4, [True, True, False, False]])
    out = znormalize_series(SequenceData(x, mask, torch.tensor([0, 1])))
    sd = math.sqrt(1.25)  # population std of 1 2 3 4
    expected = torch.tensor([
        [[-1.5 / sd, 0.0], [-0.5 / sd, 0.0], [0.5 / sd, 0.0], [1.5 / sd, 0.0]],
        [[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]],
    ])
    assert torch.allclose(out.x, expected, atol=1e-6)
    assert torch.equal(out.mask, mask) and torch.equal(out.y, torch.tensor([0, 1]))


def test_znormalize_series_ignores_offset_and_scale():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 7, 2, generator=g)
    mask = torch.ones(3, 7, dtype=torch.bool)
    base = znormalize_series(SequenceData(x, mask, torch.zeros(3))).x
    moved = znormalize_series(SequenceData(3.0 * x - 4.0, mask, torch.zeros(3))).x
    assert torch.allclose(moved, base, atol=1e-5)
