"""minGRU / minLSTM: the log-space parallel scan against the sequential twin.

* ``log_linear_scan`` == the plain recurrence (float64), chunked or not, with a state;
* ``reverse_linear_scan`` == the backward recurrence for gradients of either sign;
* ``min_rnn_scan`` == ``min_rnn_ref`` for both kinds (float64 1e-10; gradients too);
* float32 at L = 2048 with saturated gates stays finite and within 1e-3 of float64;
* step == forward across the scan's chunk boundaries; the gates never read h.
"""

from __future__ import annotations

import pytest
import torch

from seqselect.models import create_model
from seqselect.models.mingru import g_positive, log_g, min_rnn_ref, min_rnn_scan, min_rnn_step
from seqselect.models.scan import log_linear_scan, reverse_linear_scan

F64 = {"atol": 1e-10, "rtol": 1e-10}
PROJECTIONS = {"mingru": 2, "minlstm": 3}


def _pre(kind: str, L: int, scale: float = 2.0, dtype=torch.float64, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, L, PROJECTIONS[kind], 5, generator=g, dtype=dtype) * scale


@pytest.mark.parametrize("chunk", [1, 3, 256])
def test_log_linear_scan_equals_the_recurrence(chunk):
    g = torch.Generator().manual_seed(0)
    a = torch.rand(2, 17, 4, generator=g, dtype=torch.float64)
    b = torch.rand(2, 17, 4, generator=g, dtype=torch.float64) * 3
    h0 = torch.rand(2, 4, generator=g, dtype=torch.float64)
    h, hs = h0, []
    for t in range(17):
        h = a[:, t] * h + b[:, t]
        hs.append(h)
    got = log_linear_scan(a.log(), b.log(), h0.log(), chunk=chunk).exp()
    torch.testing.assert_close(got, torch.stack(hs, 1), **F64)


@pytest.mark.parametrize("chunk", [1, 4, 256])
def test_reverse_linear_scan_equals_the_backward_recurrence(chunk):
    g = torch.Generator().manual_seed(1)
    a = torch.rand(2, 17, 4, generator=g, dtype=torch.float64)
    grad = torch.randn(2, 17, 4, generator=g, dtype=torch.float64)  # both signs
    grad[0, 3] = 0.0  # zeros take neither sign's branch
    G, Gs = torch.zeros(2, 4, dtype=torch.float64), []
    for t in reversed(range(17)):
        G = grad[:, t] + (a[:, t + 1] * G if t + 1 < 17 else 0)
        Gs.append(G)
    got = reverse_linear_scan(a.log(), grad, chunk=chunk)
    torch.testing.assert_close(got, torch.stack(Gs[::-1], 1), **F64)


def test_g_is_positive_and_log_g_is_its_log():
    x = torch.linspace(-30, 30, 601, dtype=torch.float64)
    assert (g_positive(x) > 0).all()
    torch.testing.assert_close(log_g(x), g_positive(x).log(), **F64)


@pytest.mark.parametrize("kind", ["mingru", "minlstm"])
@pytest.mark.parametrize("L", [1, 5, 64])
@pytest.mark.parametrize("chunk", [4, 256])
def test_parallel_scan_equals_the_sequential_twin(kind, L, chunk):
    pre = _pre(kind, L)
    torch.testing.assert_close(min_rnn_scan(kind, pre, chunk), min_rnn_ref(kind, pre), **F64)


@pytest.mark.parametrize("kind", ["mingru", "minlstm"])
@pytest.mark.parametrize("chunk", [1, 5, 256])
def test_gradients_equal_the_twins(kind, chunk):
    pre = _pre(kind, 23).requires_grad_()
    (grad,) = torch.autograd.grad(min_rnn_scan(kind, pre, chunk).sin().sum(), pre)
    (grad_ref,) = torch.autograd.grad(min_rnn_ref(kind, pre).sin().sum(), pre)
    torch.testing.assert_close(grad, grad_ref, **F64)


@pytest.mark.parametrize("kind", ["mingru", "minlstm"])
def test_float32_stays_stable_at_long_lengths(kind):
    pre = _pre(kind, 2048, scale=8.0, seed=1)  # gates near 0 and 1: long products
    got = min_rnn_scan(kind, pre.float())
    want = min_rnn_ref(kind, pre)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got.double(), want, atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize("name", ["mingru", "minlstm"])
def test_step_equals_forward_across_scan_chunks(name):
    torch.manual_seed(0)
    model = create_model(name, d_input=3, d_output=2, task="per_step", causal=True,
                         d_model=8, n_layers=2, expand=2, scan_chunk=4).double().eval()
    x = torch.randn(2, 19, 3, dtype=torch.float64)
    with torch.no_grad():
        full = model(x)
        state = model.init_state(2)
        steps = []
        for t in range(x.shape[1]):
            y_t, state = model.step(x[:, t], state)
            steps.append(y_t)
    torch.testing.assert_close(torch.stack(steps, 1), full, **F64)
    assert [s.shape for s in state] == [(2, 16)] * 2  # (B, E) per layer, constant size


@pytest.mark.parametrize("kind", ["mingru", "minlstm"])
def test_gates_read_only_the_input(kind):
    """Changing the past changes h only through the linear term: with h_{t-1} swapped for
    another state, the step's decay and input weight stay the same."""
    pre = _pre(kind, 1)[:, 0]
    h1, h2 = torch.zeros(2, 5, dtype=torch.float64), torch.ones(2, 5, dtype=torch.float64)
    base = min_rnn_step(kind, pre, h1)
    slope = min_rnn_step(kind, pre, h2) - base  # the decay, independent of h
    torch.testing.assert_close(min_rnn_step(kind, pre, 3 * h2) - base, 3 * slope, **F64)
