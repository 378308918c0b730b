"""Mamba-2: the state space dual (SSD) layer (Dao & Gu 2024, arXiv 2405.21060).

Symbols: B batch, L length, D model width, E = expand * D inner channels, H heads,
P = E / H channels per head, N state size (``d_state``), T steps per chunk,
Z chunks (``ceil(L / T)``), W convolution width.

The SSM of one head is scalar-decay: ``h_t = exp(a_t) h_{t-1} + x_t b_t^T`` with state
``h: (P, N)``, ``y_t = h_t c_t``; ``a_t = dt_t A_h`` (A a negative scalar per head) and
``x_t`` already times ``dt_t``. :func:`ssd_scan` computes it in chunks of T steps (the
paper's SSD algorithm, listing 1): inside a chunk as masked matmuls with the decay matrix
``exp(segsum(a))`` (attention-like, on matrix units); between chunks as a scan over the Z
chunk states (a loop of Z steps, each a (P, N) update). Time O(L T (N + P)), memory
O(L T + Z P N). :func:`ssd_scan_ref` is the sequential twin (a loop over L).

A block is ``h + Dropout(Mixer(RMSNorm(h)))``; the mixer (paper Fig. 6, "parallel" block):

    z, xBC, dt = in_proj(h)                      (B, L, E), (B, L, E + 2N), (B, L, H)
    x, B, C = split(SiLU(causal conv_W(xBC)))    B, C shared by all heads (one group)
    dt = softplus(dt + dt_bias)                  (B, L, H); 0 on padded steps
    y = ssd(x * dt, dt * A, B, C) + D x          (B, L, H, P)
    out = out_proj(RMSNorm(y * SiLU(z)))         the gated norm
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqselect.models.base import ModelSpec, SequenceModel
from seqselect.models.optim import tag_parameter
from seqselect.models.registry import ModelCard, register_model
from seqselect.models.scan import BlockStack, in_float32, segsum

__all__ = ["Mamba2Config", "ssd_scan", "ssd_scan_ref"]


# ---- kernel ---------------------------------------------------------------------------------


def ssd_scan(
    x: Tensor, a: Tensor, b: Tensor, c: Tensor, chunk_size: int, initial_state: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """The SSD recurrence in chunked form.

    Args:
        x: ``(B, L, H, P)`` inputs, already times dt.
        a: ``(B, L, H)`` log-decays ``dt * A`` (<= 0; 0 means decay 1).
        b, c: ``(B, L, H, N)`` input and output projections.
        chunk_size: T; L need not be a multiple (the tail is padded with a = 0 and x = 0,
            steps that neither decay nor add to the state).
        initial_state: ``(B, H, P, N)`` or None (zeros).
    Returns:
        ``y: (B, L, H, P)`` with ``y_t = h_t c_t``, and ``final_state: (B, H, P, N)``, the
        state after step L - 1.
    """
    Bsz, L, H, P = x.shape
    N = b.shape[-1]
    T = chunk_size
    Z = -(-L // T)
    pad = Z * T - L
    if pad:
        x, b, c = (F.pad(t, (0, 0, 0, 0, 0, pad)) for t in (x, b, c))
        a = F.pad(a, (0, 0, 0, pad))
    x, b, c = (t.reshape(Bsz, Z, T, H, -1) for t in (x, b, c))  # (B, Z, T, H, .)
    a = a.reshape(Bsz, Z, T, H).permute(0, 3, 1, 2)  # (B, H, Z, T)
    a_cum = a.cumsum(dim=-1)  # (B, H, Z, T)

    # 1. inside each chunk: y = (C B^T o decay) x, the "attention" form
    decay = torch.exp(segsum(a))  # (B, H, Z, T, T)
    scores = torch.einsum("bzlhn,bzshn->bhzls", c, b) * decay
    y = torch.einsum("bhzls,bzshp->bzlhp", scores, x)  # (B, Z, T, H, P)

    # 2. each chunk's own end state (from zero): sum_s exp(a_cum[-1] - a_cum[s]) x_s b_s^T
    to_end = torch.exp(a_cum[..., -1:] - a_cum)  # (B, H, Z, T)
    chunk_states = torch.einsum("bzshn,bhzs,bzshp->bzhpn", b, to_end, x)  # (B, Z, H, P, N)

    # 3. the scan over chunk states: h_z = exp(sum a over chunk z) h_{z-1} + own_z
    chunk_decay = torch.exp(a_cum[..., -1])  # (B, H, Z)
    h = x.new_zeros(Bsz, H, P, N) if initial_state is None else initial_state.to(x.dtype)
    starts = []
    # unbind, not indexing in the loop: an index's backward writes a full-size zero tensor
    # per chunk (O(Z^2) in all); unbind's backward is one stack.
    for keep, own in zip(chunk_decay.unbind(dim=2), chunk_states.unbind(dim=1), strict=True):
        starts.append(h)
        h = keep[..., None, None] * h + own
    incoming = torch.stack(starts, dim=1)  # (B, Z, H, P, N): state entering each chunk

    # 4. the incoming state's contribution, decayed to each step: exp(a_cum[t]) h c_t
    from_start = torch.exp(a_cum)  # (B, H, Z, T)
    y = y + torch.einsum("bzlhn,bzhpn,bhzl->bzlhp", c, incoming, from_start)
    return y.reshape(Bsz, Z * T, H, P)[:, :L], h


def ssd_scan_ref(
    x: Tensor, a: Tensor, b: Tensor, c: Tensor, initial_state: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Sequential twin of :func:`ssd_scan` (a loop over L; tests only). Same shapes."""
    Bsz, L, H, P = x.shape
    h = x.new_zeros(Bsz, H, P, b.shape[-1]) if initial_state is None else initial_state
    ys = []
    for t in range(L):
        h = ssd_step(x[:, t], a[:, t], b[:, t], h)
        ys.append(torch.einsum("bhpn,bhn->bhp", h, c[:, t]))
    return torch.stack(ys, dim=1), h


def ssd_step(x_t: Tensor, a_t: Tensor, b_t: Tensor, h: Tensor) -> Tensor:
    """``h: (B, H, P, N)`` after one step: ``exp(a_t) h + x_t b_t^T``; ``x_t: (B, H, P)``,
    ``a_t: (B, H)``, ``b_t: (B, H, N)``."""
    return torch.exp(a_t)[..., None, None] * h + x_t.unsqueeze(-1) * b_t.unsqueeze(-2)


# ---- layer, block, backbone -------------------------------------------------------------------


@dataclass
class Mamba2Config:
    d_model: int = 128  # D: residual width; params= searches it
    n_layers: int = 4  # Mamba-2 blocks
    dropout: float = 0.0  # on each block's output before the residual (the paper uses none)
    d_state: int = 32  # N: state per head row; the paper uses 64-256 on GPU, 32 suits a CPU
    expand: int = 2  # E = expand * D inner channels (paper: 2)
    n_heads: int = 4  # H: heads, each with its own scalar A and dt; P = E / H (the paper
    # fixes P = 64, which is H = 4 at D = 128; fixing H instead lets params= pick D finely)
    d_conv: int = 4  # W: causal depthwise convolution over x, B, C (paper: 4)
    chunk_size: int = 64  # T: steps per SSD chunk (paper: 256 on GPU; 64 keeps T^2 small)
    dt_min: float = 0.001  # dt starts log-uniform in [dt_min, dt_max] (paper's defaults)
    dt_max: float = 0.1

    def __post_init__(self) -> None:
        for name in ("d_state", "expand", "n_heads", "d_conv", "chunk_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if (self.expand * self.d_model) % self.n_heads:
            raise ValueError(
                f"expand * d_model = {self.expand * self.d_model} must be a multiple of "
                f"n_heads = {self.n_heads}"
            )
        if not 0 < self.dt_min <= self.dt_max:
            raise ValueError(f"need 0 < dt_min <= dt_max, got {self.dt_min}, {self.dt_max}")


def _width_multiple(cfg: Mamba2Config) -> int:
    """``d_model`` must make ``expand * d_model`` a multiple of ``n_heads``."""
    return cfg.n_heads // math.gcd(cfg.n_heads, cfg.expand)


class Mamba2Mixer(nn.Module):
    """The SSD mixer: ``(B, L, D) -> (B, L, D)``, always causal."""

    def __init__(self, cfg: Mamba2Config):
        super().__init__()
        D, N, H = cfg.d_model, cfg.d_state, cfg.n_heads
        E = cfg.expand * D
        P = E // H
        self.E, self.N, self.H, self.P, self.W = E, N, H, P, cfg.d_conv
        self.chunk_size = cfg.chunk_size
        self.d_xbc = E + 2 * N
        self.in_proj = nn.Linear(D, E + self.d_xbc + H, bias=False)
        self.conv1d = nn.Conv1d(self.d_xbc, self.d_xbc, cfg.d_conv, groups=self.d_xbc,
                                padding=cfg.d_conv - 1)
        # dt_bias = softplus^-1(dt), dt log-uniform in [dt_min, dt_max] (paper's init).
        dt = torch.exp(
            torch.rand(H) * (math.log(cfg.dt_max) - math.log(cfg.dt_min)) + math.log(cfg.dt_min)
        ).clamp(min=1e-4)
        self.dt_bias = tag_parameter(nn.Parameter(dt + torch.log(-torch.expm1(-dt))),
                                     weight_decay=0.0)  # (H,)
        # A_h = -exp(A_log_h), initialised uniform in [1, 16] (paper's mamba2 default).
        A = torch.empty(H, device="cpu").uniform_(1, 16)
        self.A_log = tag_parameter(nn.Parameter(torch.log(A)), weight_decay=0.0)  # (H,)
        self.D = tag_parameter(nn.Parameter(torch.ones(H)), weight_decay=0.0)  # (H,)
        self.norm = nn.RMSNorm(E, eps=1e-5)
        self.out_proj = nn.Linear(E, D, bias=False)

    def _split(self, proj: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(..., E + d_xbc + H)`` -> ``z (..., E)``, ``xBC (..., d_xbc)``, ``dt (..., H)``."""
        return proj.split([self.E, self.d_xbc, self.H], dim=-1)

    def _ssm_inputs(self, xbc: Tensor, dt: Tensor):
        """Post-conv ``xBC (..., d_xbc)``, raw ``dt (..., H)`` -> ``x (..., H, P)``,
        ``b, c (..., N)``, ``dt (..., H)`` and ``log-decay (..., H)``."""
        x, b, c = xbc.split([self.E, self.N, self.N], dim=-1)
        dt = F.softplus(dt + self.dt_bias)
        A = -torch.exp(self.A_log.to(dt.dtype))  # (H,)
        return x.unflatten(-1, (self.H, self.P)), b, c, dt, dt * A

    def _output(self, y: Tensor, x: Tensor, z: Tensor) -> Tensor:
        """``y, x: (..., H, P)``, ``z: (..., E)`` -> ``(..., D)``."""
        y = (y + x * self.D.unsqueeze(-1)).flatten(-2)  # (..., E)
        return self.out_proj(self.norm(y * F.silu(z)))

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        L = h.shape[1]
        z, xbc, dt = self._split(self.in_proj(h))
        xbc = F.silu(self.conv1d(xbc.transpose(1, 2))[..., :L].transpose(1, 2))  # causal conv
        x, b, c, dt, log_decay = self._ssm_inputs(xbc, dt)
        if mask is not None:  # padded steps: dt = 0, so decay 1 and no input
            dt = dt * mask.unsqueeze(-1)
            log_decay = log_decay * mask.unsqueeze(-1)
        b, c = (t.unsqueeze(2).expand(-1, -1, self.H, -1) for t in (b, c))  # (B, L, H, N)
        y, _ = in_float32(ssd_scan, x * dt.unsqueeze(-1), log_decay, b, c,
                          chunk_size=self.chunk_size)
        return self._output(y.to(x.dtype), x, z)

    def init_state(self, batch: int, device, dtype):
        """Last ``W - 1`` conv inputs ``(B, d_xbc, W-1)`` and the SSM state ``(B, H, P, N)``."""
        conv = torch.zeros(batch, self.d_xbc, self.W - 1, device=device, dtype=dtype)
        return conv, torch.zeros(batch, self.H, self.P, self.N, device=device, dtype=dtype)

    def step(self, h_t: Tensor, state):
        """``h_t: (B, D)`` -> ``((B, D), state)``: one step of the same recurrence."""
        conv, ssm = state
        z, xbc, dt = self._split(self.in_proj(h_t))
        window = torch.cat([conv, xbc.unsqueeze(-1)], dim=-1)  # (B, d_xbc, W)
        xbc = F.silu((window * self.conv1d.weight[:, 0]).sum(-1) + self.conv1d.bias)
        x, b, c, dt, log_decay = self._ssm_inputs(xbc, dt)
        b, c = (t.unsqueeze(1).expand(-1, self.H, -1) for t in (b, c))  # (B, H, N)
        ssm = ssd_step(x * dt.unsqueeze(-1), log_decay, b, ssm)
        y = torch.einsum("bhpn,bhn->bhp", ssm, c)
        return self._output(y, x, z), (window[..., 1:], ssm)


class Mamba2Block(nn.Module):
    """``h + Dropout(Mixer(RMSNorm(h)))``."""

    def __init__(self, cfg: Mamba2Config):
        super().__init__()
        self.norm = nn.RMSNorm(cfg.d_model, eps=1e-5)
        self.mixer = Mamba2Mixer(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        return h + self.drop(self.mixer(self.norm(h), mask))

    def init_state(self, batch: int, device, dtype):
        return self.mixer.init_state(batch, device, dtype)

    def step(self, h_t: Tensor, state):
        y, state = self.mixer.step(self.norm(h_t), state)
        return h_t + y, state


@register_model(
    ModelCard(
        name="mamba2",
        family="ssm",
        year=2024,
        time_complexity="O(L)",
        memory_complexity="O(L)",
        causal=True,
        streaming=True,
        requires_causal=True,
        max_len=None,
        summary="Mamba-2 (SSD): selective SSM with a scalar decay per head, trained in "
        "chunks as masked matmuls plus a scan over chunk states (matrix-unit friendly); "
        "larger states than Mamba at equal cost; O(1)-per-step streaming.",
        paper="Dao & Gu 2024, Transformers are SSMs: Generalized Models and Efficient "
        "Algorithms Through Structured State Space Duality",
    ),
    Mamba2Config,
    width_multiple=_width_multiple,
)
def mamba2(spec: ModelSpec, cfg: Mamba2Config) -> SequenceModel:
    backbone = BlockStack((Mamba2Block(cfg) for _ in range(cfg.n_layers)), cfg.d_model)
    return SequenceModel(spec, cfg.d_model, backbone, "last")
