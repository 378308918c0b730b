"""GLA: the chunkwise form against its recurrent twin, and the model around it.

* ``gla_chunkwise`` == ``gla_recurrent`` (float64, 1e-10): outputs and final state, any
  chunk and length; gradients too;
* gates that close completely (log alpha = -60 per step) stay finite in float32;
* causality; step == forward with chunks shorter than L; odd widths (floored head widths).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqselect.models import create_model
from seqselect.models.gla import gla_chunkwise, gla_recurrent

F64 = {"atol": 1e-10, "rtol": 1e-10}


def _inputs(L: int, gate_scale: float = 3.0, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    q, k = (torch.randn(2, 3, L, 4, generator=g, dtype=torch.float64) for _ in range(2))
    v = torch.randn(2, 3, L, 5, generator=g, dtype=torch.float64)
    log_alpha = F.logsigmoid(torch.randn(2, 3, L, 4, generator=g, dtype=torch.float64)
                             * gate_scale)
    return [q, k, v, log_alpha]


@pytest.mark.parametrize("L", [1, 9, 37])
@pytest.mark.parametrize("chunk", [1, 4, 16, 64])
def test_chunkwise_equals_the_recurrent_twin(L, chunk):
    inputs = _inputs(L)
    o, S = gla_chunkwise(*inputs, chunk=chunk)
    o_ref, S_ref = gla_recurrent(*inputs)
    torch.testing.assert_close(o, o_ref, **F64)
    torch.testing.assert_close(S, S_ref, **F64)


def test_gradients_equal_the_twins():
    inputs = [t.requires_grad_() for t in _inputs(11)]
    o, S = gla_chunkwise(*inputs, chunk=4)
    grads = torch.autograd.grad(o.sin().sum() + S.cos().sum(), inputs)
    o_ref, S_ref = gla_recurrent(*inputs)
    grads_ref = torch.autograd.grad(o_ref.sin().sum() + S_ref.cos().sum(), inputs)
    for got, want in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(got, want, **F64)


def test_closed_gates_stay_finite_in_float32():
    q, k, v, _ = (t.float() for t in _inputs(40))
    log_alpha = torch.full_like(q, -60.0)  # exp(60 * 16) would overflow a naive q*exp(-b)
    o, S = gla_chunkwise(q, k, v, log_alpha, chunk=16)
    assert torch.isfinite(o).all() and torch.isfinite(S).all()
    o_ref, _ = gla_recurrent(*(t.double() for t in (q, k, v, log_alpha)))
    torch.testing.assert_close(o.double(), o_ref, atol=1e-4, rtol=1e-4)


def test_outputs_ignore_the_future():
    q, k, v, log_alpha = _inputs(24)
    t0 = 10
    k2, v2 = k.clone(), v.clone()
    k2[:, :, t0:] += 3.0
    v2[:, :, t0:] -= 3.0
    o, _ = gla_chunkwise(q, k, v, log_alpha, chunk=8)
    o2, _ = gla_chunkwise(q, k2, v2, log_alpha, chunk=8)
    torch.testing.assert_close(o[:, :, :t0], o2[:, :, :t0], **F64)
    assert not torch.allclose(o[:, :, t0:], o2[:, :, t0:])


@pytest.mark.parametrize("d_model", [8, 13])
def test_step_equals_forward_across_chunks(d_model):
    torch.manual_seed(0)
    model = create_model("gla", d_input=3, d_output=2, task="per_step", causal=True,
                         d_model=d_model, n_layers=2, chunk_size=4).double().eval()
    x = torch.randn(2, 19, 3, dtype=torch.float64)
    with torch.no_grad():
        full = model(x)
        state = model.init_state(2)
        steps = []
        for t in range(x.shape[1]):
            y_t, state = model.step(x[:, t], state)
            steps.append(y_t)
    torch.testing.assert_close(torch.stack(steps, 1), full, **F64)
    layer = model.backbone.blocks[0].attn
    assert state[0].shape == (2, 4, layer.K, layer.V)  # (B, H, K, V), constant size
