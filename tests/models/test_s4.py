"""S4 (``models/s4.py``): the DPLR form is HiPPO-LegS and the Cauchy/Woodbury kernel equals
the kernel of the materialised discretised DPLR matrix (float64)."""

from __future__ import annotations

import pytest
import torch

from seqselect.models.s4 import DPLRKernel, dplr_legs, hippo_legs

F64 = {"atol": 1e-6, "rtol": 1e-6}


# ---- S4 -----------------------------------------------------------------------------------------


def test_dplr_form_is_hippo_legs():
    """The real-basis DPLR matrix is orthogonally similar to HiPPO-LegS (eigenvalues -1..-N)."""
    N = 8
    A, B, _ = hippo_legs(N)
    Lambda, P, Bt = dplr_legs(N)
    R = torch.cat(
        [
            torch.cat([torch.diag(Lambda.real), -torch.diag(Lambda.imag)], 1),
            torch.cat([torch.diag(Lambda.imag), torch.diag(Lambda.real)], 1),
        ],
        0,
    )
    q = torch.cat([P.real, P.imag])
    A_r = R - 2 * q[:, None] * q[None, :]
    eig = torch.sort(torch.linalg.eigvals(A_r).real).values
    torch.testing.assert_close(eig, -torch.arange(N, 0, -1, dtype=torch.float64), atol=1e-6, rtol=0)
    # Same input map up to a basis change x = 2 Re(V z), which is sqrt(2) times an
    # isometry from the real coordinates [Re z; Im z]: B^T A^k B is invariant up to 2.
    B_r = torch.cat([Bt.real, Bt.imag])
    for k in range(3):
        want = B @ torch.linalg.matrix_power(A, k) @ B
        got = 2 * B_r @ torch.linalg.matrix_power(A_r, k) @ B_r
        torch.testing.assert_close(got, want, atol=1e-8, rtol=1e-8)


def _materialised_dplr_kernel(kernel: DPLRKernel, L: int) -> torch.Tensor:
    """``C A_bar^l B_bar`` from the dense complex N x N DPLR matrix (both conjugate halves)."""
    Lambda, P, B, C, dt = kernel._params()
    full = lambda z: torch.cat([z, z.conj()], dim=-1)  # noqa: E731
    Lf, Pf, Bf, Cf = full(Lambda), full(P), full(B), full(C)
    A = torch.diag_embed(Lf) - Pf.unsqueeze(-1) * Pf.conj().unsqueeze(-2)  # (H, N, N)
    eye = torch.eye(A.shape[-1], dtype=A.dtype)
    half = (dt / 2)[:, None, None] * A
    A_bar = torch.linalg.solve(eye - half, eye + half)
    x = torch.linalg.solve(eye - half, (dt[:, None] * Bf).unsqueeze(-1)).squeeze(-1)  # B_bar
    ks = []
    for _ in range(L):
        ks.append(torch.einsum("khn,hn->kh", Cf, x).real)
        x = torch.einsum("hnm,hm->hn", A_bar, x)
    return torch.stack(ks, dim=-1)  # (K, H, L)


@pytest.mark.parametrize("L", [1, 2, 7, 16, 33, 128])
@pytest.mark.parametrize("directions", [1, 2])
def test_s4_cauchy_kernel_equals_the_materialised_dplr_matrix(ssm_kernel, wide_dt, L, directions):
    kernel = wide_dt(ssm_kernel("s4", directions=directions))
    with torch.no_grad():  # move away from the initialisation so every term matters
        kernel.P.add_(0.1 * torch.randn_like(kernel.P))
        kernel.w_imag.add_(torch.randn_like(kernel.w_imag))
    torch.testing.assert_close(kernel(L), _materialised_dplr_kernel(kernel, L), **F64)


def test_s4_cauchy_kernel_in_frequency_chunks(ssm_kernel, wide_dt, monkeypatch):
    """Long kernels go through checkpointed frequency chunks: same values, same gradients."""
    from seqselect.models import s4 as s4_mod

    L = 40
    kernel = wide_dt(ssm_kernel("s4"))
    k_whole = kernel(L)
    g_whole = torch.autograd.grad(k_whole.square().sum(), kernel.w_imag)[0]
    monkeypatch.setattr(s4_mod, "_CAUCHY_CHUNK", 4)
    k_chunks = kernel(L)
    g_chunks = torch.autograd.grad(k_chunks.square().sum(), kernel.w_imag)[0]
    torch.testing.assert_close(k_chunks, k_whole, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(g_chunks, g_whole, atol=1e-10, rtol=1e-10)


def test_s4_kernels_of_different_lengths_are_prefixes(ssm_kernel, wide_dt):
    """C is the true output matrix, so the model is one function of the input at any length."""
    kernel = wide_dt(ssm_kernel("s4"))
    torch.testing.assert_close(kernel(100)[..., :37], kernel(37), **F64)
