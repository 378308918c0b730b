"""Mamba-2 (SSD): the chunked scan against its sequential twin, and the model around it.

* ``ssd_scan`` == ``ssd_scan_ref`` (float64, 1e-10) for lengths that are and are not
  multiples of the chunk, any chunk size, with an initial state; gradients too;
* padded steps (dt = 0: decay 1, no input) change neither real outputs nor the final state;
* causality, strong decays stay finite, step == forward across chunk boundaries;
* under bf16 autocast the scan still runs in float32.
"""

from __future__ import annotations

import pytest
import torch

from seqselect.models import create_model
from seqselect.models import mamba2 as mamba2_mod
from seqselect.models.mamba2 import Mamba2Config, ssd_scan, ssd_scan_ref

F64 = {"atol": 1e-10, "rtol": 1e-10}


def _inputs(L: int, Bsz: int = 2, H: int = 3, P: int = 4, N: int = 5, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(Bsz, L, H, P, generator=g, dtype=torch.float64)
    a = -torch.rand(Bsz, L, H, generator=g, dtype=torch.float64)  # log-decays in (-1, 0]
    b = torch.randn(Bsz, L, H, N, generator=g, dtype=torch.float64)
    c = torch.randn(Bsz, L, H, N, generator=g, dtype=torch.float64)
    return x, a, b, c


@pytest.mark.parametrize("L", [1, 7, 16, 37])
@pytest.mark.parametrize("chunk", [1, 4, 16, 64])
def test_chunked_scan_equals_the_sequential_twin(L, chunk):
    x, a, b, c = _inputs(L)
    y, final = ssd_scan(x, a, b, c, chunk)
    y_ref, final_ref = ssd_scan_ref(x, a, b, c)
    assert y.shape == x.shape and final.shape == (2, 3, 4, 5)
    torch.testing.assert_close(y, y_ref, **F64)
    torch.testing.assert_close(final, final_ref, **F64)


def test_initial_state_is_carried():
    x, a, b, c = _inputs(20)
    h0 = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    y, final = ssd_scan(x, a, b, c, 8, initial_state=h0)
    y_ref, final_ref = ssd_scan_ref(x, a, b, c, initial_state=h0)
    torch.testing.assert_close(y, y_ref, **F64)
    torch.testing.assert_close(final, final_ref, **F64)
    # Two halves, the second starting from the first's final state, make the whole.
    y1, h1 = ssd_scan(x[:, :11], a[:, :11], b[:, :11], c[:, :11], 4, initial_state=h0)
    y2, h2 = ssd_scan(x[:, 11:], a[:, 11:], b[:, 11:], c[:, 11:], 4, initial_state=h1)
    torch.testing.assert_close(torch.cat([y1, y2], 1), y_ref, **F64)
    torch.testing.assert_close(h2, final_ref, **F64)


def test_gradients_equal_the_twins():
    inputs = [t.requires_grad_() for t in _inputs(13)]
    y, final = ssd_scan(*inputs, 4)
    grads = torch.autograd.grad((y.sin().sum() + final.cos().sum()), inputs)
    y_ref, final_ref = ssd_scan_ref(*inputs)
    grads_ref = torch.autograd.grad((y_ref.sin().sum() + final_ref.cos().sum()), inputs)
    for got, want in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(got, want, **F64)


def test_padded_steps_with_zero_dt_change_nothing():
    x, a, b, c = _inputs(10)
    n_real = 6
    x_pad, a_pad = x.clone(), a.clone()
    x_pad[:, n_real:] = 0.0  # dt = 0: no input ...
    a_pad[:, n_real:] = 0.0  # ... and decay exp(0) = 1
    b_pad, c_pad = b.clone(), c.clone()
    b_pad[:, n_real:] = 1e3  # whatever B and C hold there
    y, final = ssd_scan(x_pad, a_pad, b_pad, c_pad, 4)
    y_real, final_real = ssd_scan(x[:, :n_real], a[:, :n_real], b[:, :n_real], c[:, :n_real], 4)
    torch.testing.assert_close(y[:, :n_real], y_real, **F64)
    torch.testing.assert_close(final, final_real, **F64)


def test_outputs_ignore_the_future():
    x, a, b, c = _inputs(24)
    t0 = 9
    x2, b2 = x.clone(), b.clone()
    x2[:, t0:] += 5.0
    b2[:, t0:] -= 2.0
    y, _ = ssd_scan(x, a, b, c, 8)
    y2, _ = ssd_scan(x2, a, b2, c, 8)
    torch.testing.assert_close(y[:, :t0], y2[:, :t0], **F64)
    assert not torch.allclose(y[:, t0:], y2[:, t0:])


def test_strong_decays_stay_finite_in_float32():
    x, a, b, c = (t.float() for t in _inputs(64))
    y, final = ssd_scan(x, a * 80.0, b, c, 32)  # decays down to exp(-80) per step
    y_ref, _ = ssd_scan_ref(*(t.double() for t in (x, a * 80.0, b, c)))
    assert torch.isfinite(y).all() and torch.isfinite(final).all()
    torch.testing.assert_close(y.double(), y_ref, atol=1e-4, rtol=1e-4)


def test_step_equals_forward_across_chunks():
    torch.manual_seed(0)
    model = create_model("mamba2", d_input=3, d_output=2, task="per_step", causal=True,
                         d_model=16, n_layers=2, chunk_size=4).double().eval()
    x = torch.randn(2, 19, 3, dtype=torch.float64)
    with torch.no_grad():
        full = model(x)
        state = model.init_state(2)
        steps = []
        for t in range(x.shape[1]):
            y_t, state = model.step(x[:, t], state)
            steps.append(y_t)
    torch.testing.assert_close(torch.stack(steps, 1), full, **F64)
    ssm = state[0][1]
    assert ssm.shape == (2, 4, 8, 32)  # (B, H, P, N): constant size, whatever the length


def test_padding_is_invisible_across_chunks():
    torch.manual_seed(0)
    model = create_model("mamba2", d_input=3, d_output=2, task="per_step",
                         d_model=16, n_layers=2, chunk_size=4).double().eval()
    x = torch.randn(2, 19, 3, dtype=torch.float64)
    mask = torch.ones(2, 19, dtype=torch.bool)
    mask[1, 10:] = False
    with torch.no_grad():
        padded = model(x, mask)
        alone = model(x[1:, :10])
    torch.testing.assert_close(padded[1:, :10], alone, **F64)


def test_config_rejects_heads_that_do_not_divide_the_width():
    with pytest.raises(ValueError, match="n_heads"):
        Mamba2Config(d_model=10, expand=1, n_heads=4)


def test_the_scan_runs_in_float32_under_bf16_autocast(monkeypatch):
    seen = []

    def recording_scan(x, a, b, c, chunk_size):
        seen.append((x.dtype, torch.is_autocast_enabled("cpu")))
        return ssd_scan(x, a, b, c, chunk_size)

    monkeypatch.setattr(mamba2_mod, "ssd_scan", recording_scan)
    torch.manual_seed(0)
    model = create_model("mamba2", d_input=3, d_output=2, d_model=16, n_layers=1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(torch.randn(2, 30, 3))
    out.float().sum().backward()
    assert seen == [(torch.float32, False)]
    assert torch.isfinite(out.float()).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
