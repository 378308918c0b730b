"""xLSTM: the chunkwise mLSTM against its recurrent twin, the sLSTM cell, and the mix.

* ``mlstm_chunkwise`` == ``mlstm_recurrent`` (float64, 1e-10) for any chunk (1 = fully
  recurrent, >= L = the paper's parallel form), any L; gradients too;
* exponential input gates far beyond float32's range stay finite (the stabiliser works);
* the sLSTM output is invariant to its stabiliser's start; the block loop == its step;
* step == forward for the model with mLSTM chunks shorter than L; slstm_at is checked.
"""

from __future__ import annotations

import math

import pytest
import torch

from seqselect.models import create_model
from seqselect.models.xlstm import (
    MLSTMBlock,
    SLSTMBlock,
    XLSTMConfig,
    mlstm_chunkwise,
    mlstm_recurrent,
    slstm_step,
)

F64 = {"atol": 1e-10, "rtol": 1e-10}


def _inputs(L: int, gate_scale: float = 3.0, dtype=torch.float64, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(2, 3, L, 4, generator=g, dtype=torch.float64) for _ in range(3))
    pre_i = torch.randn(2, 3, L, generator=g, dtype=torch.float64) * gate_scale
    pre_f = torch.randn(2, 3, L, generator=g, dtype=torch.float64) * gate_scale
    return [t.to(dtype) for t in (q, k, v, pre_i, pre_f)]


@pytest.mark.parametrize("L", [1, 9, 37])
@pytest.mark.parametrize("chunk", [1, 4, 16, 64])
def test_chunkwise_mlstm_equals_the_recurrent_twin(L, chunk):
    inputs = _inputs(L)
    torch.testing.assert_close(mlstm_chunkwise(*inputs, chunk=chunk), mlstm_recurrent(*inputs),
                               **F64)


def test_gradients_equal_the_twins():
    inputs = [t.requires_grad_() for t in _inputs(11)]
    grads = torch.autograd.grad(mlstm_chunkwise(*inputs, chunk=4).sin().sum(), inputs)
    grads_ref = torch.autograd.grad(mlstm_recurrent(*inputs).sin().sum(), inputs)
    for got, want in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(got, want, **F64)


def test_huge_input_gates_stay_finite_in_float32():
    inputs = _inputs(40, dtype=torch.float32)
    inputs[3] = inputs[3] * 0 + 200.0  # exp(200) overflows float32 without the stabiliser
    got = mlstm_chunkwise(*inputs, chunk=16)
    assert torch.isfinite(got).all()
    want = mlstm_recurrent(*(t.double() for t in inputs))
    # float32 rounding only: where |n . q| is small, h = num / den is ill-conditioned.
    torch.testing.assert_close(got.double(), want, atol=1e-3, rtol=1e-3)


def test_slstm_output_ignores_where_the_stabiliser_starts():
    g = torch.Generator().manual_seed(0)
    pre = torch.randn(2, 4, 3, 5, generator=g, dtype=torch.float64)
    c, n = torch.rand(2, 2, 3, 5, generator=g, dtype=torch.float64).unbind(1)
    m = torch.zeros(2, 3, 5, dtype=torch.float64)
    h_a, _ = slstm_step(pre, (c, c, n + 0.1, m))
    shift = 7.0  # the same memory expressed relative to m + shift
    h_b, _ = slstm_step(pre, (c, c * math.exp(-shift),
                              (n + 0.1) * math.exp(-shift), m + shift))
    torch.testing.assert_close(h_a, h_b, **F64)


@pytest.mark.parametrize("block_cls", [MLSTMBlock, SLSTMBlock])
def test_block_forward_equals_its_steps(block_cls):
    torch.manual_seed(0)
    block = block_cls(XLSTMConfig(d_model=8, n_layers=1, slstm_at=(), chunk_size=4)).double()
    h = torch.randn(2, 13, 8, dtype=torch.float64)
    with torch.no_grad():
        full = block(h, None)
        state = block.init_state(2, h.device, h.dtype)
        steps = []
        for t in range(h.shape[1]):
            y_t, state = block.step(h[:, t], state)
            steps.append(y_t)
    torch.testing.assert_close(torch.stack(steps, 1), full, **F64)


def test_model_step_equals_forward_across_chunks():
    torch.manual_seed(0)
    model = create_model("xlstm", d_input=3, d_output=2, task="per_step", causal=True,
                         d_model=8, n_layers=3, slstm_at=(1,), chunk_size=4).double().eval()
    assert [type(b).__name__ for b in model.backbone.blocks] == [
        "MLSTMBlock", "SLSTMBlock", "MLSTMBlock"]
    x = torch.randn(2, 19, 3, dtype=torch.float64)
    with torch.no_grad():
        full = model(x)
        state = model.init_state(2)
        steps = []
        for t in range(x.shape[1]):
            y_t, state = model.step(x[:, t], state)
            steps.append(y_t)
    torch.testing.assert_close(torch.stack(steps, 1), full, **F64)


def test_slstm_positions_must_name_blocks():
    with pytest.raises(ValueError, match="slstm_at"):
        XLSTMConfig(n_layers=2, slstm_at=(2,))
    assert XLSTMConfig(slstm_at=[0, 3]).slstm_at == (0, 3)  # a list from JSON becomes a tuple
