"""Conv-Transformer: strided subsampling to a quarter of the frames, masks that follow."""

from __future__ import annotations

import math

import pytest
import torch

from seqselect.models import create_model
from seqselect.models.conv_transformer import StridedSubsampling


@pytest.mark.parametrize("frames", [1, 2, 7, 8, 51])
def test_subsampling_keeps_ceil_of_a_quarter(frames):
    sub = StridedSubsampling(5, 8, n=2)
    h, _ = sub(torch.randn(2, frames, 5), None)
    half = math.ceil(frames / 2)
    assert h.shape == (2, math.ceil(half / 2), 8)


def test_subsampled_frames_of_a_padded_sequence_equal_its_own():
    torch.manual_seed(0)
    sub = StridedSubsampling(3, 8, n=2).double()
    x = torch.randn(1, 20, 3, dtype=torch.float64)
    mask = torch.arange(20)[None, :] < 13
    padded, sub_mask = sub(x.masked_fill(~mask[..., None], 0.0), mask)
    alone, _ = sub(x[:, :13], None)
    assert int(sub_mask.sum()) == alone.shape[1] == 4  # ceil(ceil(13/2)/2)
    torch.testing.assert_close(padded[:, :4], alone)


def test_the_encoder_runs_on_a_quarter_of_the_frames():
    torch.manual_seed(0)
    model = create_model("conv_transformer", d_input=1, d_output=3, d_model=16).eval()
    assert model.hop == 160 * 4
    x = torch.randn(2, 16_000, 1)
    assert model.forward_features(x).shape == (2, -(-(16_000 // 160 + 1) // 4), 16)
    per_step = create_model("conv_transformer", d_input=1, d_output=3, d_model=16,
                            task="per_step", n_subsample=0)
    assert per_step(x[:, :800]).shape == (2, 800, 3)


def test_heads_must_divide_the_width():
    with pytest.raises(ValueError, match="divisible"):
        create_model("conv_transformer", d_input=1, d_output=2, d_model=18, n_heads=4)
