"""S4D: diagonal state space models, and the SSM block and backbone that S4 shares.

Symbols: B batch, L length, H channels (the model width D; one independent SSM per
channel), N state size per channel (``d_state``, real), M = N/2 complex modes (the state
is kept as M conjugate pairs, so outputs are ``2 Re(...)``), K kernel directions (1
causal, 2 bidirectional).

Papers: Gu, Gupta, Goel & Ré 2022, "On the Parameterization and Initialization of Diagonal
State Space Models" (S4D); Gu, Goel & Ré 2022, "Efficiently Modeling Long Sequences with
Structured State Spaces" (S4, the block structure).

Tiers, as in state-spaces/s4:

* kernel math — :func:`s4d_init`, :func:`vandermonde_kernel`, :func:`fft_conv`;
* :class:`DiagonalKernel` — the learnable SSM of H channels: ``forward(L) -> (K, H, L)``
  convolution kernels, and ``init_state``/``step`` for the same SSM as a recurrence;
* :class:`SSMBlock` / :class:`SSMBackbone` — pre-norm residual blocks
  ``x + Dropout(GLU(Linear(Dropout(GELU(SSM(LN(x)))))))``, shared with S4 (``s4.py``).

Training convolves with the length-L kernel by FFT, O(L log L); inference can step the
recurrence, O(1) per step. With ``causal=False`` the layer is bidirectional (a second
kernel looks into the future, as ``bidirectional=True`` in state-spaces/s4); padded steps
are zeroed at the input of every SSM so that they cannot leak into real steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqselect.models.base import ModelSpec, SequenceModel, step_layers, zero_padding
from seqselect.models.optim import tag_parameter
from seqselect.models.registry import ModelCard, register_model

_COMPLEX = {torch.float32: torch.complex64, torch.float64: torch.complex128}


def complex_dtype(dtype: torch.dtype) -> torch.dtype:
    """The complex dtype matching a real one (float16/bfloat16 compute in complex64)."""
    return _COMPLEX.get(dtype, torch.complex64)


# ---- kernel math ---------------------------------------------------------------------------


def s4d_init(init: str, H: int, N: int) -> Tensor:
    """Diagonal state matrix ``A: (H, M)`` complex, M = N/2 (Gu et al. 2022, S4D §4).

    ``lin``: ``A_n = -1/2 + i pi n`` (S4D-Lin, frequencies spaced like a Fourier basis);
    ``inv``: ``A_n = -1/2 + i (N/pi)(N/(2n+1) - 1)`` (S4D-Inv, approximates S4-LegS).
    """
    n = torch.arange(N // 2, dtype=torch.float32, device="cpu")
    if init == "lin":
        imag = math.pi * n
    elif init == "inv":
        imag = N / math.pi * (N / (2 * n + 1) - 1)
    else:
        raise ValueError(f"S4D init must be 'lin' or 'inv', got {init!r}")
    return torch.complex(torch.full_like(n, -0.5), imag).expand(H, -1).clone()


def log_uniform_dt(H: int, dt_min: float, dt_max: float) -> Tensor:
    """``log(dt): (H,)`` drawn uniformly in ``[log dt_min, log dt_max]`` (S4 initialisation)."""
    return torch.rand(H) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)


def vandermonde_kernel(dtA: Tensor, W: Tensor, L: int) -> Tensor:
    """``K[..., l] = 2 Re sum_m W[..., m] exp(dtA[..., m] l)`` for ``l < L``.

    The Vandermonde matrix ``exp(dtA l)`` of shape (M, L) is never built: writing
    ``l = r T + s`` with ``T = ceil(sqrt(L))`` splits it into ``exp(dtA r T)`` (R, M) and
    ``exp(dtA s)`` (M, T), so the kernel is one real matrix product with O(M sqrt(L))
    memory instead of O(M L).

    Args:
        dtA: ``(..., M)`` complex, the discretised diagonal ``dt * A``.
        W: ``(..., M)`` complex, ``C * B_bar`` (broadcasts against ``dtA``).
        L: kernel length.
    Returns:
        ``(..., L)`` real kernel.
    """
    T = math.isqrt(L - 1) + 1  # ceil(sqrt(L))
    R = -(-L // T)
    s = torch.arange(T, device=dtA.device, dtype=dtA.real.dtype)
    r = torch.arange(R, device=dtA.device, dtype=dtA.real.dtype) * T
    inner = torch.exp(dtA.unsqueeze(-1) * s)  # (..., M, T)
    outer = W.unsqueeze(-2) * torch.exp(dtA.unsqueeze(-2) * r.unsqueeze(-1))  # (..., R, M)
    # 2 Re(outer @ inner) as one real product: [Re o, -Im o] @ [Re i; Im i].
    lhs = torch.cat([outer.real, -outer.imag], dim=-1)  # (..., R, 2M)
    rhs = torch.cat([inner.real, inner.imag], dim=-2)  # (..., 2M, T)
    k = 2 * torch.matmul(lhs, rhs)  # (..., R, T)
    return k.flatten(-2)[..., :L]


def _fast_len(n: int) -> int:
    """Smallest 5-smooth integer >= n (FFT sizes with only factors 2, 3, 5 are fast)."""
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def fft_conv(u: Tensor, k: Tensor) -> Tensor:
    """Linear convolution of ``u: (B, H, L)`` with kernels ``k: (K, H, L)`` by FFT.

    ``K = 1``: causal, ``y[t] = sum_{j<=t} k[0, j] u[t-j]``. ``K = 2``: bidirectional,
    ``k[1, j]`` also weighs the future input ``u[t+1+j]``. The FFT length is at least 2L,
    so nothing wraps around and steps beyond L read zeros (which is what makes padded
    steps, once zeroed, invisible). O(H L log L).
    """
    L = u.shape[-1]
    n = _fast_len(2 * L)
    kb = F.pad(k[0], (0, n - L))  # (H, n)
    if k.shape[0] == 2:
        # Lag j >= 1 into the future lives at index n - j of the circular kernel.
        kb = kb + F.pad(k[1].flip(-1), (n - L, 0))
    y = torch.fft.irfft(torch.fft.rfft(u, n=n) * torch.fft.rfft(kb, n=n), n=n)
    return y[..., :L]  # (B, H, L)


# ---- the learnable diagonal SSM --------------------------------------------------------------


class DiagonalKernel(nn.Module):
    """H independent diagonal SSMs with ZOH discretisation (S4D).

    Continuous ``x' = A x + B u, y = C x`` per channel with diagonal complex A; ZOH gives
    ``A_bar = exp(dt A)``, ``B_bar = (exp(dt A) - 1) / A * B`` and the kernel
    ``K[l] = 2 Re sum_m C_m B_bar_m A_bar_m^l``.

    Parameters tagged for their own optimizer group (see ``optim.param_groups``): ``log_dt``,
    ``log_A_real``, ``A_imag``, ``B`` (learning-rate ceiling ``lr_ssm``, no weight decay).
    """

    def __init__(self, H: int, N: int, directions: int, cfg: S4DConfig):
        super().__init__()
        A = s4d_init(cfg.init, H, N)  # (H, M)
        self.log_dt = nn.Parameter(log_uniform_dt(H, cfg.dt_min, cfg.dt_max))  # (H,)
        # Re A = -exp(log_A_real) < 0 keeps every mode stable whatever the optimizer does.
        self.log_A_real = nn.Parameter(torch.log(-A.real))  # (H, M)
        self.A_imag = nn.Parameter(A.imag.clone())  # (H, M)
        self.B = nn.Parameter(torch.view_as_real(torch.ones_like(A)))  # (H, M, 2)
        # C ~ complex normal (variance 1/2 per part), as state-spaces' S4D.
        self.C = nn.Parameter(torch.randn(directions, H, N // 2, 2) * 0.5**0.5)  # (K, H, M, 2)
        for p in (self.log_dt, self.log_A_real, self.A_imag, self.B):
            tag_parameter(p, weight_decay=0.0, **({"lr": cfg.lr_ssm} if cfg.lr_ssm else {}))

    def _discrete(self) -> tuple[Tensor, Tensor, Tensor]:
        """``dtA: (H, M)``, ``B_bar: (H, M)``, ``C: (K, H, M)`` complex."""
        dt = torch.exp(self.log_dt).unsqueeze(-1)  # (H, 1)
        A = torch.complex(-torch.exp(self.log_A_real), self.A_imag)  # (H, M)
        dtA = dt * A
        B_bar = torch.expm1(dtA) / A * torch.view_as_complex(self.B)  # ZOH
        return dtA, B_bar, torch.view_as_complex(self.C)

    def forward(self, L: int) -> Tensor:
        """Kernels ``(K, H, L)``."""
        dtA, B_bar, C = self._discrete()
        return vandermonde_kernel(dtA, C * B_bar, L)

    def init_state(self, batch: int, device, dtype):
        """Zero state ``(B, H, M)`` complex, plus the discretised matrices for ``step``."""
        dtA, B_bar, C = self._discrete()
        mats = (torch.exp(dtA), B_bar, C[0])
        x = torch.zeros(batch, *dtA.shape, device=device, dtype=complex_dtype(dtype))
        return x, mats

    def step(self, u: Tensor, state) -> tuple[Tensor, tuple]:
        """``u: (B, H)`` -> ``(y: (B, H), state)``: ``x = A_bar x + B_bar u``, ``y = 2 Re(C x)``."""
        x, (A_bar, B_bar, C) = state
        x = A_bar * x + B_bar * u.unsqueeze(-1)  # (B, H, M)
        y = 2 * torch.einsum("hm,bhm->bh", C, x).real
        return y.to(u.dtype), (x, (A_bar, B_bar, C))


# ---- layer, block, backbone (shared with S4) ------------------------------------------------


class SSMLayer(nn.Module):
    """``(B, L, H) -> (B, L, H)``: ``y = K * u + D u`` per channel, by FFT convolution."""

    def __init__(self, kernel: nn.Module, H: int, causal: bool):
        super().__init__()
        self.kernel = kernel
        self.D = nn.Parameter(torch.randn(H))  # skip connection, as in S4
        self.causal = causal

    def forward(self, u: Tensor, mask: Tensor | None) -> Tensor:
        if not self.causal:
            u = zero_padding(u, mask)  # a future-looking kernel must read zeros there
        k = self.kernel(u.shape[1]).to(u.dtype)  # (K, H, L)
        y = fft_conv(u.transpose(1, 2), k).transpose(1, 2)  # (B, L, H)
        return y + u * self.D

    def init_state(self, batch: int, device, dtype):
        return self.kernel.init_state(batch, device, dtype)

    def step(self, u: Tensor, state):
        """``u: (B, H)`` -> ``((B, H), state)``."""
        y, state = self.kernel.step(u, state)
        return y + u * self.D, state


class SSMBlock(nn.Module):
    """Pre-norm residual block: ``x + Drop(GLU(Linear(Drop(GELU(SSM(LN(x)))))))``."""

    def __init__(self, kernel: nn.Module, H: int, causal: bool, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(H)
        self.ssm = SSMLayer(kernel, H, causal)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(H, 2 * H)  # GLU output layer (S4 repo's default for S4/S4D)

    def _mix(self, y: Tensor) -> Tensor:
        return self.drop(F.glu(self.out(self.drop(F.gelu(y))), dim=-1))

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        return x + self._mix(self.ssm(self.norm(x), mask))

    def step(self, x_t: Tensor, state):
        y, state = self.ssm.step(self.norm(x_t), state)
        return x_t + self._mix(y), state


class SSMBackbone(nn.Module):
    """A stack of :class:`SSMBlock` around any kernel module: ``(B, L, D) -> (B, L, D)``."""

    def __init__(self, make_kernel, cfg, causal: bool):
        super().__init__()
        self.d_out = cfg.d_model
        directions = 1 if causal else 2
        self.blocks = nn.ModuleList(
            SSMBlock(
                make_kernel(cfg.d_model, cfg.d_state, directions, cfg),
                cfg.d_model,
                causal,
                cfg.dropout,
            )
            for _ in range(cfg.n_layers)
        )

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        for block in self.blocks:
            h = block(h, mask)
        return h

    def init_state(self, batch_size: int, device, dtype):
        return [b.ssm.init_state(batch_size, device, dtype) for b in self.blocks]

    def step(self, h_t: Tensor, state):
        """``h_t: (B, D)`` -> ``((B, D), state)``."""
        return step_layers(self.blocks, h_t, state)


# ---- config and registration ------------------------------------------------------------------


@dataclass
class S4DConfig:
    d_model: int = 128  # H: channels, one SSM each; params= searches it
    n_layers: int = 4  # residual blocks (the S4D paper's small models use 4-6)
    dropout: float = 0.0  # after GELU and after the GLU output layer (S4 repo default)
    d_state: int = 64  # N: real state size per channel, kept as N/2 conjugate pairs (S4D: 64)
    init: str = "lin"  # "lin" (S4D-Lin) or "inv" (S4D-Inv): imaginary parts of A
    dt_min: float = 0.001  # dt starts log-uniform in [dt_min, dt_max]: 1/dt_min is roughly
    dt_max: float = 0.1  # the longest time scale in steps, 1/dt_max the shortest
    # learning-rate ceiling for A, B, dt (S4: min(0.001, lr)); None: the base lr
    lr_ssm: float | None = 0.001

    def __post_init__(self) -> None:
        if self.d_state < 2 or self.d_state % 2:
            raise ValueError(
                f"d_state must be an even number >= 2 (conjugate pairs), got {self.d_state}"
            )
        if not 0 < self.dt_min <= self.dt_max:
            raise ValueError(f"need 0 < dt_min <= dt_max, got {self.dt_min}, {self.dt_max}")
        if self.init not in self._inits():
            raise ValueError(f"init must be one of {self._inits()}, got {self.init!r}")

    @staticmethod
    def _inits() -> tuple[str, ...]:
        return ("lin", "inv")


def ssm_model(spec: ModelSpec, cfg, make_kernel) -> SequenceModel:
    """An S4-family zoo model: causal models pool the last step, bidirectional ones the mean."""
    backbone = SSMBackbone(make_kernel, cfg, spec.causal)
    return SequenceModel(spec, cfg.d_model, backbone, "last" if spec.causal else "mean")


@register_model(
    ModelCard(
        name="s4d",
        family="ssm",
        year=2022,
        time_complexity="O(L log L)",
        memory_complexity="O(L)",
        causal=True,
        streaming=True,
        max_len=None,
        summary="Diagonal state space model (S4D-Lin/Inv): FFT-convolution training in "
        "O(L log L), O(1)-per-step recurrent inference; for very long signals (audio, ECG, "
        "EEG); time-invariant, so no content-based selection.",
        paper="Gu, Gupta, Goel & Ré 2022, On the Parameterization and Initialization of "
        "Diagonal State Space Models",
    ),
    S4DConfig,
)
def s4d(spec: ModelSpec, cfg: S4DConfig) -> SequenceModel:
    return ssm_model(spec, cfg, DiagonalKernel)
