"""S4: the structured state space model in DPLR form with HiPPO-LegS initialisation.

Symbols: B batch, L length, H channels (the model width D; one SSM per channel), N state
size per channel (``d_state``), M = N/2 complex modes kept (the other half are their
conjugates), K kernel directions (1 causal, 2 bidirectional), F = L//2 + 1 frequencies.

Paper: Gu, Goel & Ré 2022, "Efficiently Modeling Long Sequences with Structured State
Spaces" (ICLR), Algorithm 1; implementation notes from state-spaces/s4 (``dplr.py``,
``kernels/ssm.py``).

The state matrix is diagonal plus low rank, ``A = Lambda - P P*`` in the eigenbasis of the
normal part of HiPPO-LegS, discretised with the bilinear transform. The length-L kernel
``K[l] = C A_bar^l B_bar`` is never unrolled: its generating function at the L-th roots
of unity is ``C~ (I - A_bar w)^{-1} B_bar`` with ``C~ = C (I - A_bar^L)``, which the
Woodbury identity reduces to four Cauchy sums ``sum_n v_n / (a_w - b_w lambda_n)``, and an
inverse FFT returns the kernel: O(N L) work, pure PyTorch (no CUDA/pykeops extension).

Unlike state-spaces/s4, which learns ``C~`` for one fixed length, the parameter here is the
true ``C``: ``C~`` is recomputed for each L by repeated squaring of the dense discretised
matrix (O(H N^3 log L), small next to the Cauchy sums), so kernels of different lengths
are prefixes of one another and ``step()`` agrees with ``forward`` at every length.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from seqselect.models.base import ModelSpec, SequenceModel
from seqselect.models.optim import tag_parameter
from seqselect.models.registry import ModelCard, register_model
from seqselect.models.s4d import S4DConfig, log_uniform_dt, ssm_model

# Frequencies per Cauchy chunk: bounds the (H, N, F) Cauchy matrix kept alive at once.
_CAUCHY_CHUNK = 1024


# ---- HiPPO and the DPLR (normal plus low-rank) form ----------------------------------------


def hippo_legs(N: int) -> tuple[Tensor, Tensor, Tensor]:
    """HiPPO-LegS ``A: (N, N)``, ``B: (N,)`` and its rank-1 correction ``P: (N,)`` (float64).

    ``A[n, k] = -sqrt(2n+1) sqrt(2k+1)`` below the diagonal, ``-(n+1)`` on it, 0 above;
    ``B[n] = sqrt(2n+1)``; ``A + P P^T`` with ``P[n] = sqrt(n + 1/2)`` is normal
    (``-1/2 I`` plus a skew-symmetric matrix). Gu et al. 2020 (HiPPO), 2022 (S4 §3.3).
    """
    q = torch.arange(N, dtype=torch.float64, device="cpu")
    r = torch.sqrt(2 * q + 1)
    A = -torch.tril(r[:, None] * r[None, :], diagonal=-1) - torch.diag(q + 1)
    return A, r.clone(), torch.sqrt(q + 0.5)


@functools.lru_cache(maxsize=8)
def dplr_legs(N: int) -> tuple[Tensor, Tensor, Tensor]:
    """HiPPO-LegS in DPLR form over M = N/2 modes: ``Lambda, P, B: (M,)`` complex128.

    ``A = V diag(Lambda) V* - P P*`` with V unitary; only one eigenvalue of each conjugate
    pair is kept (the real system is recovered as twice the real part).
    """
    A, B, P = hippo_legs(N)
    AP = A + P[:, None] * P[None, :]  # -1/2 I + skew-symmetric
    w_re = torch.diagonal(AP).mean()
    # The skew part S has imaginary eigenvalues; -iS is Hermitian, so eigh is exact and stable.
    w_im, V = torch.linalg.eigh((AP - w_re * torch.eye(N, dtype=AP.dtype, device="cpu")) * -1j)
    order = torch.argsort(w_im)[: N // 2]  # one of each +/- pair
    Lambda = torch.complex(w_re.expand(N // 2), w_im[order])
    Vh = V[:, order].conj().T  # (M, N)
    return Lambda, Vh @ P.to(Vh.dtype), Vh @ B.to(Vh.dtype)


# ---- kernel math ----------------------------------------------------------------------------


def _cauchy(v: Tensor, w: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """``out[r, h, f] = sum_n v[r, h, n] / (a[f] - b[f] w[h, n])`` as one batched product.

    ``v: (R, H, N)``, ``w: (H, N)``, ``a, b: (F,)`` -> ``(R, H, F)``.
    """
    cauchy = 1.0 / (a - b * w.unsqueeze(-1))  # (H, N, F)
    return torch.matmul(v.transpose(0, 1), cauchy).transpose(0, 1)  # (R, H, F)


def dplr_kernel(
    Lambda: Tensor, P: Tensor, B: Tensor, C_tilde: Tensor, dt: Tensor, L: int
) -> Tensor:
    """The length-L bilinear S4 kernel from DPLR parameters (S4 Algorithm 1).

    Args:
        Lambda, P, B: ``(H, M)`` complex; ``A = diag(Lambda) - P P*`` over the M kept modes
            and their conjugates.
        C_tilde: ``(K, H, M)`` complex, ``C (I - A_bar^L)`` (see :func:`power_row`).
        dt: ``(H,)`` step sizes.
    Returns:
        ``(K, H, L)`` real kernels.

    At ``w = exp(-2 pi i f / L)`` the bilinear resolvent is ``2 dt (2(1-w) - dt(1+w) A)^{-1}``;
    writing ``s_xy = dt sum_n x_n y_n / (2(1-w) - (1+w) dt lambda_n)`` over all N modes,
    Woodbury gives ``K^(w) = 2 [s_CB - (1+w) s_CP s_PB / (1 + (1+w) s_PP)]``. This is the
    paper's Cauchy form ``sum v / (z - w)`` with ``z = 2(1-w)/(1+w)`` multiplied through by
    ``1 + w``, which removes the pole at ``w = -1`` (even L) instead of evaluating near it.
    """
    K = C_tilde.shape[0]
    Pc = P.conj()
    v = torch.cat(
        [C_tilde * B, C_tilde * P, (Pc * B).unsqueeze(0), (Pc * P).unsqueeze(0)], dim=0
    )  # (2K + 2, H, M)
    v = torch.cat([v, v.conj()], dim=-1) * dt[:, None]  # (2K + 2, H, N): both halves
    w = torch.cat([Lambda, Lambda.conj()], dim=-1) * dt[:, None]  # (H, N)
    f = torch.arange(L // 2 + 1, device=w.device, dtype=dt.dtype)
    omega = torch.polar(torch.ones_like(f), -2 * torch.pi * f / L)  # (F,)
    a, b = 2 * (1 - omega), 1 + omega
    chunks = []
    for i in range(0, f.numel(), _CAUCHY_CHUNK):
        sl = slice(i, i + _CAUCHY_CHUNK)
        if torch.is_grad_enabled() and f.numel() > _CAUCHY_CHUNK:
            # Recompute each (H, N, chunk) Cauchy matrix in backward: memory O(H N chunk).
            chunks.append(checkpoint(_cauchy, v, w, a[sl], b[sl], use_reentrant=False))
        else:
            chunks.append(_cauchy(v, w, a[sl], b[sl]))
    s = torch.cat(chunks, dim=-1)  # (2K + 2, H, F)
    s_cb, s_cp, s_pb, s_pp = s[:K], s[K : 2 * K], s[2 * K], s[2 * K + 1]
    k_f = 2 * (s_cb - b * s_cp * s_pb / (1 + b * s_pp))  # (K, H, F)
    return torch.fft.irfft(k_f, n=L)  # (K, H, L)


def _as_real(z: Tensor) -> Tensor:
    """``(..., M)`` complex -> ``(..., 2M)`` real ``[Re z, Im z]``."""
    return torch.cat([z.real, z.imag], dim=-1)


def power_row(v: Tensor, A: Tensor, L: int) -> Tensor:
    """``v A^L`` for row vectors ``v: (..., H, N)`` and ``A: (H, N, N)`` by repeated squaring."""
    out = v
    power = A
    while L:
        if L & 1:
            out = torch.einsum("...hn,hnm->...hm", out, power)
        L >>= 1
        if L:
            power = power @ power
    return out


# ---- the learnable DPLR SSM ---------------------------------------------------------------------


class DPLRKernel(nn.Module):
    """H independent S4 SSMs (DPLR, HiPPO-LegS init, bilinear discretisation).

    Parameters tagged for their own optimizer group (``optim.param_groups``): ``log_dt``,
    ``log_w_real``, ``w_imag``, ``P``, ``B`` (learning-rate ceiling ``lr_ssm``, no weight
    decay), as in the S4 paper.
    """

    def __init__(self, H: int, N: int, directions: int, cfg: S4Config):
        super().__init__()
        Lambda, P, B = (t.to(torch.complex64) for t in dplr_legs(N))
        self.log_dt = nn.Parameter(log_uniform_dt(H, cfg.dt_min, cfg.dt_max))  # (H,)
        # Re Lambda = -exp(log_w_real) < 0 keeps the normal part stable (state-spaces "exp").
        self.log_w_real = nn.Parameter(torch.log(-Lambda.real).expand(H, -1).clone())  # (H, M)
        self.w_imag = nn.Parameter(Lambda.imag.expand(H, -1).clone())  # (H, M)
        self.P = nn.Parameter(torch.view_as_real(P).expand(H, -1, -1).clone())  # (H, M, 2)
        self.B = nn.Parameter(torch.view_as_real(B).expand(H, -1, -1).clone())  # (H, M, 2)
        self.C = nn.Parameter(torch.randn(directions, H, N // 2, 2) * 0.5**0.5)  # (K, H, M, 2)
        for p in (self.log_dt, self.log_w_real, self.w_imag, self.P, self.B):
            tag_parameter(p, weight_decay=0.0, **({"lr": cfg.lr_ssm} if cfg.lr_ssm else {}))

    def _params(self) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        Lambda = torch.complex(-torch.exp(self.log_w_real), self.w_imag)
        as_c = torch.view_as_complex
        return Lambda, as_c(self.P), as_c(self.B), as_c(self.C), torch.exp(self.log_dt)

    def real_system(self) -> tuple[Tensor, Tensor, Tensor]:
        """The discretised SSM in a real basis.

        ``A_bar: (H, N, N)``, ``B_bar: (H, N)``, ``C: (K, H, N)``.

        The kept half of the state ``z = x_re + i x_im`` (the rest is its conjugate) evolves
        by ``A z = Lambda z - 2 P Re(P* z)``: in the real coordinates ``x = [x_re; x_im]``,
        ``A = R(Lambda) - 2 q q^T`` where ``R(d)`` is multiplication by the complex diagonal
        d and ``q = [Re P; Im P]``; ``B = [Re B; Im B]``, ``y = 2 Re(C z) = 2 [Re C, -Im C] x``.

        Bilinear: ``A_bar = (I - dt/2 A)^{-1} (I + dt/2 A)``, ``B_bar = (I - dt/2 A)^{-1} dt B``.
        Sherman-Morrison on ``I - dt/2 A = R(1/e) + dt q q^T`` gives, with
        ``e = 1/(1 - dt/2 Lambda)``, ``f = 1 + dt/2 Lambda`` and ``s = 1 + dt sum Re(e)|P|^2``,
        ``A_bar = R(e f) - (dt/s) [eP] [conj(e f) P + P]^T`` and
        ``B_bar = dt (eB - (dt/s) Re(P* e B) eP)`` (vectors in brackets read as real
        2M-vectors): O(H N^2) with no matrix inverse.
        """
        Lambda, P, B, C, dt = self._params()
        half = (dt / 2).unsqueeze(-1) * Lambda  # (H, M)
        e, f = 1 / (1 - half), 1 + half
        s = 1 + dt * (e.real * P.abs().square()).sum(-1)  # (H,)
        scale = (dt / s)[:, None, None]
        ef = e * f
        real = torch.diag_embed(ef.real)
        imag = torch.diag_embed(ef.imag)
        A_bar = torch.cat([torch.cat([real, -imag], -1), torch.cat([imag, real], -1)], -2)
        u, v = _as_real(e * P), _as_real(ef.conj() * P + P)  # (H, N)
        A_bar = A_bar - scale * u.unsqueeze(-1) * v.unsqueeze(-2)  # (H, N, N)
        eB = e * B
        corr = (dt / s) * (P.conj() * eB).sum(-1).real  # (H,)
        B_bar = dt[:, None] * (_as_real(eB) - corr[:, None] * u)  # (H, N)
        C_r = 2 * torch.cat([C.real, -C.imag], dim=-1)  # (K, H, N)
        return A_bar, B_bar, C_r

    def forward(self, L: int) -> Tensor:
        """Kernels ``(K, H, L)``."""
        Lambda, P, B, C, dt = self._params()
        A_bar, _, C_r = self.real_system()
        M = Lambda.shape[-1]
        CA = power_row(C_r, A_bar, L) / 2  # (K, H, N): C A_bar^L, back to complex halves
        C_tilde = C - torch.complex(CA[..., :M], -CA[..., M:])
        return dplr_kernel(Lambda, P, B, C_tilde, dt, L)

    def init_state(self, batch: int, device, dtype):
        """Zero real state ``(B, H, N)`` plus the discretised matrices for ``step``."""
        A_bar, B_bar, C_r = self.real_system()
        x = torch.zeros(batch, *B_bar.shape, device=device, dtype=dtype)
        return x, (A_bar.to(dtype), B_bar.to(dtype), C_r[0].to(dtype))

    def step(self, u: Tensor, state):
        """``u: (B, H)`` -> ``(y: (B, H), state)``: ``x = A_bar x + B_bar u``, ``y = C x``."""
        x, (A_bar, B_bar, C) = state
        x = torch.einsum("hnm,bhm->bhn", A_bar, x) + B_bar * u.unsqueeze(-1)
        return torch.einsum("hn,bhn->bh", C, x), (x, (A_bar, B_bar, C))


@dataclass
class S4Config(S4DConfig):
    d_model: int = 128  # H: channels, one SSM each; params= searches it
    n_layers: int = 4  # residual blocks
    dropout: float = 0.0  # after GELU and after the GLU output layer (S4 repo default)
    d_state: int = 64  # N: state size per channel (HiPPO order); S4 default 64
    init: str = "legs"  # HiPPO-LegS, the S4 paper's initialisation (the only one here)
    dt_min: float = 0.001  # dt starts log-uniform in [dt_min, dt_max] (S4 defaults)
    dt_max: float = 0.1
    lr_ssm: float | None = 0.001  # learning-rate ceiling for Lambda, P, B, dt; None: base lr

    @staticmethod
    def _inits() -> tuple[str, ...]:
        return ("legs",)


@register_model(
    ModelCard(
        name="s4",
        family="ssm",
        year=2022,
        time_complexity="O(L log L)",
        memory_complexity="O(L)",
        causal=True,
        streaming=True,
        max_len=None,
        summary="Structured state space model (DPLR, HiPPO-LegS): Cauchy-kernel + FFT "
        "training in O(L log L), O(1)-per-step recurrent inference; the guide's pick for "
        "10k-100k-step signals (audio, ECG, EEG); time-invariant, so no selection.",
        paper="Gu, Goel & Ré 2022, Efficiently Modeling Long Sequences with Structured "
        "State Spaces (ICLR)",
    ),
    S4Config,
)
def s4(spec: ModelSpec, cfg: S4Config) -> SequenceModel:
    return ssm_model(spec, cfg, DPLRKernel)
