"""The patched backbones' fast path (projection and patches fused, pooled from the
windows) against the plain path it replaces: the same outputs and the same gradients, in
float64, with and without padding, a partial last window and several input channels."""

from __future__ import annotations

import pytest
import torch

from seqselect.models import create_model
from seqselect.models.base import pool


def _plain(model, x, mask):
    """The reference twin: project every step, patch, the stack, unpatch, norm, pool."""
    if mask is not None:
        x = x.masked_fill(~mask.unsqueeze(-1), 0)
    h = model.norm(model.backbone(model.embed(x), mask))  # (B, L, D)
    return model.head.linear(pool(h, mask, model.head.pooling)), h


def _grads(model, out):
    model.zero_grad()
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
    return {n: p.grad.clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("name", ["cnn1d", "tcn"])
@pytest.mark.parametrize(("channels", "length", "patch"), [(1, 20, 3), (3, 22, 4), (2, 24, 6)])
@pytest.mark.parametrize("pooling", ["mean", "max", "last"])
def test_the_fast_path_equals_the_plain_path_and_its_gradients(
    name, channels, length, patch, pooling
):
    torch.manual_seed(0)
    model = create_model(name, d_input=channels, d_output=3, d_model=8, n_layers=2, patch=patch)
    model = model.double().train()
    model.head.pooling = pooling
    assert model._fused_patch() is model.backbone.patch  # the fast path is the one taken
    x = torch.randn(3, length, channels, dtype=torch.float64)
    mask = torch.ones(3, length, dtype=torch.bool)
    mask[1, length - 5:] = False  # ends inside a window
    mask[2, length - patch:] = False  # a whole window of padding
    noisy = x.masked_fill(~mask.unsqueeze(-1), 1e3)  # the fast path must not read it
    for inputs, m in ((x, None), (noisy, mask)):
        fast = model(inputs, m)
        fast_grads = _grads(model, fast)
        plain, features = _plain(model, inputs, m)
        plain_grads = _grads(model, plain)
        assert torch.allclose(fast, plain, atol=1e-12, rtol=0)
        for key, grad in plain_grads.items():
            assert torch.allclose(fast_grads[key], grad, atol=1e-10, rtol=0), key
        assert torch.allclose(model.forward_features(inputs, m), features, atol=1e-12, rtol=0)
