"""S4D (``models/s4d.py``): the Vandermonde kernel and the FFT convolution against their
slow twins (the materialised sum, the unrolled recurrence; float64, 1e-6), for S4D and S4
kernels alike, and the S4D initialisations."""

from __future__ import annotations

import math

import pytest
import torch

from seqselect.models.s4d import SSMLayer, fft_conv, vandermonde_kernel

F64 = {"atol": 1e-6, "rtol": 1e-6}


def _unrolled(layer: SSMLayer, u: torch.Tensor) -> torch.Tensor:
    """``(B, L, H)`` outputs of a causal SSM layer by stepping its recurrence."""
    state = layer.init_state(u.shape[0], u.device, u.dtype)
    ys = []
    for t in range(u.shape[1]):
        y, state = layer.step(u[:, t], state)
        ys.append(y)
    return torch.stack(ys, dim=1)


# ---- S4D ------------------------------------------------------------------------------------


@pytest.mark.parametrize("L", [1, 2, 7, 16, 50])
def test_vandermonde_kernel_equals_the_materialised_sum(L):
    g = torch.Generator().manual_seed(0)
    dtA = torch.complex(
        -torch.rand(3, 5, generator=g, dtype=torch.float64),
        torch.randn(3, 5, generator=g, dtype=torch.float64),
    )
    W = torch.randn(2, 3, 5, generator=g, dtype=torch.complex128)
    powers = torch.exp(dtA.unsqueeze(-1) * torch.arange(L, dtype=torch.float64))  # (3, 5, L)
    want = 2 * torch.einsum("khm,hml->khl", W, powers).real
    torch.testing.assert_close(vandermonde_kernel(dtA, W, L), want, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize(("kind", "init"), [("s4d", "lin"), ("s4d", "inv"), ("s4", "legs")])
@pytest.mark.parametrize("L", [1, 9, 64])
def test_fft_convolution_equals_the_unrolled_recurrence(ssm_kernel, wide_dt, kind, init, L):
    layer = SSMLayer(wide_dt(ssm_kernel(kind, init=init)), 3, causal=True).double()
    u = torch.randn(2, L, 3, dtype=torch.float64)
    torch.testing.assert_close(layer(u, None), _unrolled(layer, u), **F64)


@pytest.mark.parametrize("kind", ["s4d", "s4"])
def test_bidirectional_convolution_equals_the_direct_sum(ssm_kernel, wide_dt, kind):
    L = 11
    kernel = wide_dt(ssm_kernel(kind, directions=2))
    k = kernel(L)  # (2, H, L)
    u = torch.randn(2, 3, L, dtype=torch.float64)
    want = torch.zeros_like(u)
    for t in range(L):
        for j in range(L):
            if j <= t:
                want[..., t] += k[0, :, j] * u[..., t - j]
            if j >= 1 and t + j < L:
                want[..., t] += k[1, :, j - 1] * u[..., t + j]
    torch.testing.assert_close(fft_conv(u, k), want, atol=1e-10, rtol=1e-10)


def test_s4d_initialisations_and_dt_range(ssm_kernel):
    lin = ssm_kernel("s4d", N=8, init="lin")
    inv = ssm_kernel("s4d", N=8, init="inv")
    n = torch.arange(4, dtype=torch.float64)
    torch.testing.assert_close(lin.A_imag[0], math.pi * n)
    torch.testing.assert_close(inv.A_imag[0], 8 / math.pi * (8 / (2 * n + 1) - 1))
    torch.testing.assert_close(
        -torch.exp(lin.log_A_real), torch.full((3, 4), -0.5, dtype=torch.float64)
    )
    dt = torch.exp(ssm_kernel("s4d", H=200, dt_min=0.01, dt_max=0.2).log_dt)
    assert dt.min() >= 0.01 - 1e-9 and dt.max() <= 0.2 + 1e-9
