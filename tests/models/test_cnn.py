"""cnn1d: the FCN stack's shape, and padding invariance in training mode too (the zoo's
contract tests cover evaluation mode, causality and step == forward)."""

from __future__ import annotations

import pytest
import torch

from seqselect.models import create_model
from seqselect.models.cnn import CNNConfig


def test_fcn_kernels_and_receptive_field():
    assert CNNConfig().kernels() == [8, 5, 3]
    assert CNNConfig(n_layers=5).kernels() == [8, 5, 3, 3, 3]
    assert CNNConfig(kernel_size=2, n_layers=2).kernels() == [2, 2]
    model = create_model("cnn1d", d_input=2, d_output=3, d_model=8)
    assert model.backbone.receptive_field == 1 + 7 + 4 + 2
    with pytest.raises(ValueError, match="kernel_size"):
        CNNConfig(kernel_size=0)


def test_padding_is_invisible_in_training_mode_batch_statistics():
    torch.manual_seed(0)
    model = create_model("cnn1d", d_input=2, d_output=3, d_model=8).double().train()
    x = torch.randn(2, 10, 2, dtype=torch.float64)
    mask = torch.ones(2, 10, dtype=torch.bool)
    mask[1, 6:] = False
    noisy = x.clone()
    noisy[1, 6:] = 1e3  # whatever padding holds
    assert torch.allclose(model(x, mask), model(noisy, mask), atol=1e-9)
    # and the same as the batch with the second sequence cut to its real length, then padded
    # with zeros: only real steps count, wherever they sit
    short = torch.cat([x[1:, :6], torch.zeros(1, 4, 2, dtype=torch.float64)], dim=1)
    assert torch.allclose(model(x, mask), model(torch.cat([x[:1], short]), mask), atol=1e-9)
