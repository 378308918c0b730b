"""MaskedBatchNorm1d: BatchNorm1d's twin without a mask, blind to padding with one."""

from __future__ import annotations

import torch
from torch import nn

from seqselect.models.norm import MaskedBatchNorm1d


def _pair(channels: int = 4):
    torch.manual_seed(0)
    ours, reference = MaskedBatchNorm1d(channels), nn.BatchNorm1d(channels)
    with torch.no_grad():
        ours.weight.uniform_(0.5, 1.5)
        ours.bias.uniform_(-0.5, 0.5)
    reference.load_state_dict(ours.state_dict())
    return ours, reference


def test_without_a_mask_it_is_batchnorm1d_in_training_and_evaluation():
    ours, reference = _pair()
    x = torch.randn(3, 4, 9, dtype=torch.float32) * 2 + 1
    for _ in range(3):
        assert torch.allclose(ours(x, None), reference(x), atol=1e-5)
    assert torch.allclose(ours.running_mean, reference.running_mean, atol=1e-6)
    assert torch.allclose(ours.running_var, reference.running_var, atol=1e-5)
    ours.eval(), reference.eval()
    assert torch.allclose(ours(x, None), reference(x), atol=1e-5)


def test_padding_changes_neither_real_outputs_nor_running_statistics():
    torch.manual_seed(1)
    a, b = torch.randn(1, 4, 6), torch.randn(1, 4, 3)
    padded = torch.cat([a, torch.cat([b, torch.full((1, 4, 3), 1e3)], dim=2)])  # (2, 4, 6)
    mask = torch.tensor([[True] * 6, [True] * 3 + [False] * 3])
    masked, plain = _pair()[0], _pair()[0]
    out = masked(padded, mask)
    # the reference: BatchNorm statistics over the 9 real steps, laid side by side
    ref = plain(torch.cat([a, b], dim=2), None)  # (1, 4, 9)
    assert torch.allclose(out[0], ref[0, :, :6], atol=1e-5)
    assert torch.allclose(out[1, :, :3], ref[0, :, 6:], atol=1e-5)
    assert torch.allclose(masked.running_mean, plain.running_mean, atol=1e-6)
    assert torch.allclose(masked.running_var, plain.running_var, atol=1e-5)


def test_step_equals_forward_in_evaluation():
    norm, _ = _pair()
    norm(torch.randn(5, 4, 8), None)  # move the running statistics off their start
    norm.eval()
    x = torch.randn(2, 4, 7)
    full = norm(x, None)
    assert all(torch.allclose(norm.step(x[:, :, t]), full[:, :, t], atol=1e-6) for t in range(7))


def test_the_fused_unmasked_path_matches_the_masked_path_with_every_step_real():
    """The twin of torch's fused kernel (mask None) is our own statistics (an all-True
    mask): outputs, gradients and running statistics agree in float64."""
    fused, twin = _pair()[0].double(), _pair()[0].double()
    torch.manual_seed(2)
    x = (torch.randn(3, 4, 9, dtype=torch.float64) * 2 + 1).requires_grad_()
    x_twin = x.detach().clone().requires_grad_()
    weights = torch.randn(3, 4, 9, dtype=torch.float64)
    for _ in range(2):
        (fused(x, None) * weights).sum().backward()
        (twin(x_twin, torch.ones(3, 9, dtype=torch.bool)) * weights).sum().backward()
    torch.testing.assert_close(fused(x, None), twin(x_twin, torch.ones(3, 9, dtype=torch.bool)),
                               rtol=0, atol=1e-12)
    torch.testing.assert_close(x.grad, x_twin.grad, rtol=0, atol=1e-12)
    for name in ("weight", "bias"):
        torch.testing.assert_close(getattr(fused, name).grad, getattr(twin, name).grad,
                                   rtol=0, atol=1e-12)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(getattr(fused, name), getattr(twin, name), rtol=0, atol=1e-12)


def test_one_value_per_channel_still_trains():
    """torch's kernel refuses a batch of one step; the masked formulas give it a zero
    variance instead (a length-1 series after patching)."""
    norm = _pair()[0]
    out = norm(torch.randn(1, 4, 1), None)
    assert torch.isfinite(out).all() and int(norm.num_batches_tracked) == 1
