"""WaveNet: the gated layer against torch's convolutions, the receptive field, exact
streaming in float64."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from seqselect.models import create_model
from seqselect.models.wavenet import GatedResidualLayer, WaveNetConfig, wavenet_receptive_field


def test_gated_layer_equals_its_formula():
    torch.manual_seed(0)
    layer = GatedResidualLayer(4, dilation=2, causal=True, cfg=WaveNetConfig(d_model=4),
                               last=False).double()
    x = torch.randn(2, 4, 20, dtype=torch.float64)
    conv = layer.conv.conv
    y = F.conv1d(F.pad(x, (2, 0)), conv.weight, conv.bias, dilation=2)  # causal: left pad
    z = torch.tanh(y[:, :4]) * torch.sigmoid(y[:, 4:])
    res, skip = layer(x, None)
    torch.testing.assert_close(res, x + F.conv1d(z, layer.residual.weight, layer.residual.bias))
    torch.testing.assert_close(skip, F.conv1d(z, layer.skip.weight, layer.skip.bias))


def test_receptive_field_is_exactly_what_an_output_sees():
    cfg = dict(n_layers=3, n_stacks=2, kernel_size=2)
    rf = wavenet_receptive_field(WaveNetConfig(**cfg))
    assert rf == 1 + 2 * (2**3 - 1)
    torch.manual_seed(0)
    model = create_model("wavenet", d_input=1, d_output=1, task="per_step", causal=True,
                         d_model=8, **cfg).double()
    x = torch.randn(1, 40, 1, dtype=torch.float64, requires_grad=True)
    model(x)[0, -1, 0].backward()
    seen = torch.nonzero(x.grad[0, :, 0]).flatten()
    assert int(seen.min()) == 40 - rf and int(seen.max()) == 39


def test_step_equals_forward_in_float64():
    torch.manual_seed(0)
    model = create_model("wavenet", d_input=1, d_output=3, task="per_step", causal=True,
                         d_model=8, n_layers=4, n_stacks=2).double().eval()
    x = torch.randn(2, 60, 1, dtype=torch.float64)
    with torch.no_grad():
        full = model(x)
        state = model.init_state(2)
        steps = []
        for t in range(60):
            y, state = model.step(x[:, t], state)
            steps.append(y)
    torch.testing.assert_close(torch.stack(steps, 1), full, atol=1e-10, rtol=1e-10)


def test_non_causal_wavenet_sees_the_future():
    torch.manual_seed(0)
    model = create_model("wavenet", d_input=1, d_output=2, task="per_step", d_model=8,
                         n_layers=3, n_stacks=1).double()
    x = torch.randn(1, 30, 1, dtype=torch.float64)
    x2 = x.clone()
    x2[:, 20:] += 1.0
    with torch.no_grad():
        assert not torch.allclose(model(x)[:, 15:20], model(x2)[:, 15:20])
