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


def test_long_series_are_averaged_with_a_stride_fixed_by_the_first_training_batch():
    torch.manual_seed(0)
    model = create_model("cnn1d", d_input=2, d_output=3, d_model=8, pool_to=4).double()
    x = torch.randn(2, 13, 2, dtype=torch.float64)
    model.train()(x)  # 13 real steps / 4 -> stride 3
    assert int(model.backbone.stride) == 3
    model.train()(x[:, :5])  # fixed: a shorter batch does not change it
    assert int(model.backbone.stride) == 3
    model.eval()
    # padding (any values, any amount) changes no real output, also mid-window
    mask = torch.ones(2, 13, dtype=torch.bool)
    mask[1, 8:] = False
    padded = torch.cat([x, torch.full((2, 5, 2), 1e3, dtype=torch.float64)], dim=1)
    long_mask = torch.cat([mask, torch.zeros(2, 5, dtype=torch.bool)], dim=1)
    assert torch.allclose(model(x, mask), model(padded, long_mask), atol=1e-9)
    assert torch.allclose(model(x[1:, :8]), model(x, mask)[1:], atol=1e-9)
    # a window average of the input, not every third step: a change anywhere in a window
    # moves the output
    moved = x.clone()
    moved[:, 1] += 1.0
    assert not torch.allclose(model(x), model(moved))


def test_causal_and_per_step_models_keep_every_step():
    for kwargs in ({"causal": True}, {"task": "per_step"}):
        model = create_model("cnn1d", d_input=2, d_output=3, d_model=8, pool_to=4, **kwargs)
        model.train()(torch.randn(2, 40, 2))
        assert model.backbone._stride(None, 40) == 1


def test_learned_patches_are_padding_invariant_and_see_inside_a_window():
    torch.manual_seed(0)
    model = create_model("cnn1d", d_input=1, d_output=3, d_model=8, patch=3).double().eval()
    mean = create_model("cnn1d", d_input=1, d_output=3, d_model=8, pool_to=4).double()
    x = torch.randn(2, 13, 1, dtype=torch.float64)
    mean.train()(x)  # fixes its stride at 3, the patches' size
    mean.eval()
    mask = torch.ones(2, 13, dtype=torch.bool)
    mask[1, 8:] = False  # ends mid-window
    padded = torch.cat([x, torch.full((2, 5, 1), 1e3, dtype=torch.float64)], dim=1)
    long_mask = torch.cat([mask, torch.zeros(2, 5, dtype=torch.bool)], dim=1)
    assert torch.allclose(model(x, mask), model(padded, long_mask), atol=1e-9)
    assert torch.allclose(model(x[1:, :8]), model(x, mask)[1:], atol=1e-9)
    # A spike moved inside its window keeps every window mean (the averaging model cannot
    # tell) but changes what the learned patches read.
    spike, moved = torch.zeros(1, 12, 1, dtype=torch.float64), torch.zeros(1, 12, 1,
                                                                          dtype=torch.float64)
    spike[0, 3], moved[0, 5] = 5.0, 5.0  # both in window 1 (steps 3-5)
    assert torch.allclose(mean(spike), mean(moved), atol=1e-9)
    assert not torch.allclose(model(spike), model(moved), atol=1e-6)


def test_causal_and_per_step_models_ignore_the_patches():
    for kwargs in ({"causal": True}, {"task": "per_step"}):
        model = create_model("cnn1d", d_input=2, d_output=3, d_model=8, patch=3, **kwargs)
        assert model.backbone.patch is None
        out = model(torch.randn(2, 12, 2))
        assert out.shape[:1] == (2,)
