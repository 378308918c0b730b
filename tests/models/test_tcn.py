"""The TCN (``models/tcn.py``): receptive field, gated streaming, our weight norm."""

from __future__ import annotations

import torch
from torch import nn

from seqselect.models import create_model
from seqselect.models.tcn import receptive_field


def test_tcn_receptive_field_formula_and_reach():
    # 1 + 2 (K - 1) (2^N - 1): Bai et al.'s two convolutions per level.
    assert receptive_field(kernel_size=3, n_levels=4) == 61
    model = create_model("tcn", d_input=1, d_output=1, task="per_step", causal=True,
                         kernel_size=3, n_layers=4, d_model=8).eval()
    assert model.receptive_field == 61
    x = torch.zeros(1, 100, 1)
    x2 = x.clone()
    x2[0, 0] = 1.0  # an impulse at t = 0 reaches t = 60 and no further
    diff = (model(x2) - model(x)).abs()[0, :, 0]
    assert diff[60] > 0
    assert torch.all(diff[61:] == 0)


def test_gated_tcn_streams_like_it_runs():
    torch.manual_seed(0)
    model = create_model("tcn", d_input=2, d_output=3, task="per_step", causal=True,
                         gated=True, d_model=8, kernel_size=2).eval()
    x = torch.randn(2, 20, 2)
    with torch.no_grad():
        full = model(x)
        state = model.init_state(2)
        steps = []
        for t in range(20):
            y, state = model.step(x[:, t], state)
            steps.append(y)
    torch.testing.assert_close(torch.stack(steps, 1), full, atol=1e-5, rtol=1e-5)


def test_tcn_weight_norm_equals_torchs():
    from torch.nn.utils.parametrizations import weight_norm as torch_weight_norm

    from seqselect.models.tcn import weight_norm

    torch.manual_seed(0)
    ours, theirs = nn.Conv1d(4, 6, 3), nn.Conv1d(4, 6, 3)
    theirs.load_state_dict(ours.state_dict())
    weight_norm(ours)
    torch_weight_norm(theirs)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    x = torch.randn(2, 4, 10)
    ours(x).square().sum().backward()
    theirs(x).square().sum().backward()
    torch.testing.assert_close(ours(x), theirs(x))
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, msg=name)


def test_patched_levels_are_padding_invariant_and_ignored_where_every_step_counts():
    import torch

    from seqselect.models import create_model

    torch.manual_seed(0)
    model = create_model("tcn", d_input=2, d_output=3, d_model=8, n_layers=2, patch=3).double()
    model.eval()
    assert model.backbone.receptive_field == 3 * (1 + 2 * 2 * 3)
    x = torch.randn(2, 13, 2, dtype=torch.float64)
    mask = torch.ones(2, 13, dtype=torch.bool)
    mask[1, 8:] = False  # ends mid-window
    padded = torch.cat([x, torch.full((2, 5, 2), 1e3, dtype=torch.float64)], dim=1)
    long_mask = torch.cat([mask, torch.zeros(2, 5, dtype=torch.bool)], dim=1)
    assert torch.allclose(model(x, mask), model(padded, long_mask), atol=1e-9)
    assert torch.allclose(model(x[1:, :8]), model(x, mask)[1:], atol=1e-9)
    for kwargs in ({"causal": True}, {"task": "per_step"}):
        other = create_model("tcn", d_input=2, d_output=3, d_model=8, patch=3, **kwargs)
        assert other.backbone.patch is None
