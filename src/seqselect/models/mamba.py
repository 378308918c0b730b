"""Mamba: the selective state space model (Gu & Dao 2023), fast in pure PyTorch.

Symbols: B batch, L length, D model width, E = expand * D inner channels, N state size
per channel (``d_state``), R rank of the delta projection (``dt_rank``), W convolution
width (``d_conv``), T steps per scan chunk.

A block is ``h + Dropout(Mixer(RMSNorm(h)))``; the mixer (Gu & Dao 2023, Fig. 3):

    x, z = split(in_proj(h))                      (B, L, E) each
    x = SiLU(causal depthwise conv_W(x))          short local context
    delta, B, C = x_proj(x)                        input-dependent: the *selection*
    delta = softplus(dt_proj(delta))               (B, L, E)
    y = selective_scan(x, delta, A, B, C, D)       h_t = exp(delta_t A) h_{t-1} + delta_t B_t x_t
    out = out_proj(y * SiLU(z))                    y_t = C_t h_t + D x_t

Scan backends, chosen at run time: on CUDA with ``mamba_ssm`` installed, its fused kernel;
otherwise (with one logged notice when CUDA could have used it) :func:`selective_scan`,
pure PyTorch, parallel over the length. :func:`selective_scan_ref` is its sequential twin.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from seqselect.models.base import ModelSpec, SequenceModel, step_layers
from seqselect.models.optim import tag_parameter
from seqselect.models.registry import ModelCard, register_model

log = logging.getLogger(__name__)

# Elements of one (B, T, E, N) chunk tensor: about 4 MB in float32, so a chunk's working
# set stays in cache; also the chunk length that bounds the scan's extra memory.
_CHUNK_ELEMENTS = 1 << 20
# Steps per block of the in-chunk blocked scan.
_BLOCK = 16


# ---- the linear recurrence, blocked -------------------------------------------------------


def _linear_scan_(a: Tensor, h: Tensor, reverse: bool = False) -> Tensor:
    """In place: ``h[:, t] += a[:, t] * h[:, t-1]`` along dim 1 (``reverse``: ``t+1``).

    ``a, h: (B, T, M)``. A blocked parallel scan: split T into blocks of ``_BLOCK`` steps;
    scan all blocks at once (``_BLOCK`` vectorised steps, each over every block); scan the
    block ends recursively; then add each block's incoming state times the running product
    of its decays. The Python loop runs over ``_BLOCK`` steps per level (log_BLOCK T
    levels), never over T. Forward-only (no autograd).
    """
    Bsz, T, M = h.shape
    S = _BLOCK
    if T <= S:
        steps = range(T - 2, -1, -1) if reverse else range(1, T)
        for t in steps:
            h[:, t].addcmul_(a[:, t], h[:, t + 1 if reverse else t - 1])
        return h
    n_blocks = -(-T // S)
    pad = n_blocks * S - T
    hp, ap = h, a
    if pad:  # pad where the scan ends, so padding never reaches real steps
        side = (0, 0, pad, 0) if reverse else (0, 0, 0, pad)
        hp, ap = F.pad(h, side), F.pad(a, side, value=1.0)
    h4 = hp.view(Bsz, n_blocks, S, M)
    P = ap.view(Bsz, n_blocks, S, M).clone()  # running decay products within each block
    a4 = ap.view(Bsz, n_blocks, S, M)
    steps = range(S - 2, -1, -1) if reverse else range(1, S)
    for t in steps:
        s = t + 1 if reverse else t - 1
        h4[:, :, t].addcmul_(a4[:, :, t], h4[:, :, s])
        P[:, :, t].mul_(P[:, :, s])
    edge = 0 if reverse else S - 1
    ends_h = h4[:, :, edge].contiguous()  # (B, n_blocks, M): local end states
    _linear_scan_(P[:, :, edge].contiguous(), ends_h, reverse)  # true end states
    if reverse:
        h4[:, :-1].addcmul_(P[:, :-1], ends_h[:, 1:, None])
    else:
        h4[:, 1:].addcmul_(P[:, 1:], ends_h[:, :-1, None])
    if pad:
        h.copy_(hp[:, pad:] if reverse else hp[:, :T])
    return h


def _sum_over_state(h: Tensor, v: Tensor) -> Tensor:
    """``sum_n h[b, t, e, n] v[b, t, n]`` -> ``(B, T, E)``, as a batched row-vector product.

    ``v @ h^T`` lets BLAS read h through a transposed view; it is several times faster on
    CPU than ``einsum`` or ``h @ v`` for these small (E, N) matrices.
    """
    return (v.unsqueeze(-2) @ h.transpose(-1, -2)).squeeze(-2)


def _sum_over_channels(h: Tensor, v: Tensor) -> Tensor:
    """``sum_e h[b, t, e, n] v[b, t, e]`` -> ``(B, T, N)``."""
    return (v.unsqueeze(-2) @ h).squeeze(-2)


def _chunk_states(x, delta, A, Bm, h0) -> tuple[Tensor, Tensor]:
    """States of one chunk: ``hs, dA: (B, T, E, N)`` from ``x, delta: (B, T, E)``,
    ``Bm: (B, T, N)`` and the incoming state ``h0: (B, E, N)``."""
    Bsz, T, E = x.shape
    dA = torch.exp(delta.unsqueeze(-1) * A)  # (B, T, E, N)
    hs = (delta * x).unsqueeze(-1) * Bm.unsqueeze(2)  # (B, T, E, N): delta_t B_t x_t
    hs[:, 0].addcmul_(dA[:, 0], h0)
    _linear_scan_(dA.view(Bsz, T, -1), hs.view(Bsz, T, -1))
    return hs, dA


class _SelectiveScan(torch.autograd.Function):
    """``y_t = C_t h_t`` with ``h_t = exp(delta_t A) h_{t-1} + delta_t x_t B_t``, chunked.

    Forward walks the length in chunks of T steps (a loop over L/T chunks) carrying the
    state, and keeps only each chunk's incoming state: memory O(B L (E + N) + B L/T E N)
    instead of O(B L E N). Backward recomputes a chunk's states and runs the adjoint
    recurrence ``lam_t = C_t g_t + exp(delta_{t+1} A) lam_{t+1}`` backwards, as the
    mamba_ssm CUDA kernel does.
    """

    @staticmethod
    def forward(ctx, x, delta, A, Bm, Cm, chunk):
        Bsz, L, E = x.shape
        h = x.new_zeros(Bsz, E, A.shape[1])
        y = x.new_empty(Bsz, L, E)
        starts = []
        for i in range(0, L, chunk):
            sl = slice(i, i + chunk)
            starts.append(h)
            hs, _ = _chunk_states(x[:, sl], delta[:, sl], A, Bm[:, sl], h)
            y[:, sl] = _sum_over_state(hs, Cm[:, sl])
            h = hs[:, -1].clone()
        ctx.chunk = chunk
        ctx.save_for_backward(x, delta, A, Bm, Cm, torch.stack(starts, 1))
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, gy):
        x, delta, A, Bm, Cm, starts = ctx.saved_tensors
        chunk = ctx.chunk
        Bsz, L, E = x.shape
        gx, gdelta = torch.empty_like(x), torch.empty_like(delta)
        gB, gC = torch.empty_like(Bm), torch.empty_like(Cm)
        gA = torch.zeros_like(A)
        carry = None  # dL/dh0 of the chunk after this one, times its first decay
        for c in reversed(range(starts.shape[1])):
            sl = slice(c * chunk, (c + 1) * chunk)
            xc, dc, Bc, Cc = x[:, sl], delta[:, sl], Bm[:, sl], Cm[:, sl]
            gyc, h0 = gy[:, sl], starts[:, c]
            hs, dA = _chunk_states(xc, dc, A, Bc, h0)
            T = xc.shape[1]
            lam = gyc.unsqueeze(-1) * Cc.unsqueeze(2)  # (B, T, E, N): dL/dh_t through y_t
            if carry is not None:
                lam[:, -1] += carry
            a_next = torch.empty_like(dA)  # a_next[:, t] = dA[:, t + 1]
            a_next[:, :-1] = dA[:, 1:]
            a_next[:, -1] = 0
            _linear_scan_(a_next.view(Bsz, T, -1), lam.view(Bsz, T, -1), reverse=True)
            carry = dA[:, 0] * lam[:, 0]
            # u_t = delta_t x_t B_t
            lam_b = _sum_over_state(lam, Bc)  # (B, T, E)
            gx[:, sl] = lam_b * dc
            gB[:, sl] = _sum_over_channels(lam, dc * xc)
            gC[:, sl] = _sum_over_channels(hs, gyc)
            # dA_t = exp(delta_t A): dL/d(dA_t) = lam_t h_{t-1}; s = that * dA_t
            s = lam.mul_(dA)
            s[:, 1:] *= hs[:, :-1]
            s[:, 0] *= h0
            gdelta[:, sl] = lam_b * xc + torch.einsum("bten,en->bte", s, A)
            gA += (s * dc.unsqueeze(-1)).sum((0, 1))
        return gx, gdelta, gA, gB, gC, None


def selective_scan(
    x: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Tensor | None = None,
    *, chunk: int | None = None,
) -> Tensor:
    """The selective scan in pure PyTorch, parallel over the length.

    Args:
        x: ``(B, L, E)`` inputs. delta: ``(B, L, E)`` positive step sizes.
        A: ``(E, N)`` (negative) state matrix diagonal. B, C: ``(B, L, N)``.
        D: ``(E,)`` skip weights, or None.
        chunk: steps per chunk. Default: at least ``min(L, _BLOCK**2)`` steps (so each
            chunk is scanned in parallel, two levels deep), and about ``_CHUNK_ELEMENTS`` elements
            of ``(B, T, E, N)`` per chunk, splitting the batch into groups when needed:
            a chunk that fits in cache runs about twice as fast as one that does not.
    Returns:
        ``y: (B, L, E)`` with ``h_t = exp(delta_t A) h_{t-1} + delta_t x_t B_t``,
        ``y_t = C_t h_t + D x_t`` and ``h_{-1} = 0``. Computed in float32 at least.
    """
    Bsz, L, E = x.shape
    dtype = torch.promote_types(x.dtype, torch.float32)
    step_elements = E * A.shape[1]
    group = Bsz
    if chunk is None:
        shortest = min(L, _BLOCK * _BLOCK)
        group = max(1, min(Bsz, _CHUNK_ELEMENTS // (shortest * step_elements)))
        chunk = max(shortest, _CHUNK_ELEMENTS // (group * step_elements))
    x_, delta_, A_, B_, C_ = (t.to(dtype) for t in (x, delta, A, B, C))
    ys = [
        _SelectiveScan.apply(x_[i : i + group], delta_[i : i + group], A_, B_[i : i + group],
                             C_[i : i + group], chunk)
        for i in range(0, Bsz, group)
    ]  # batch groups are independent sequences
    y = ys[0] if len(ys) == 1 else torch.cat(ys, dim=0)
    if D is not None:
        y = y + x_ * D.to(dtype)
    return y.to(x.dtype)


def selective_scan_ref(
    x: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Tensor | None = None
) -> Tensor:
    """Sequential reference twin of :func:`selective_scan` (a loop over L; tests only)."""
    Bsz, L, E = x.shape
    h = x.new_zeros(Bsz, E, A.shape[1])
    ys = []
    for t in range(L):
        decay = torch.exp(delta[:, t, :, None] * A)
        h = decay * h + (delta[:, t] * x[:, t])[..., None] * B[:, t, None, :]
        ys.append((h * C[:, t, None, :]).sum(-1))
    y = torch.stack(ys, dim=1)
    return y if D is None else y + x * D


def _mamba_ssm_scan():
    """``mamba_ssm``'s fused CUDA ``selective_scan_fn``, or None (logged once) if missing."""
    global _KERNEL_STATE
    if _KERNEL_STATE is None:
        try:
            from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
        except ImportError as err:
            log.warning(
                "mamba_ssm is not installed (%s): Mamba on CUDA falls back to the pure "
                "PyTorch scan (correct, slower). pip install mamba-ssm for the fused kernel.",
                err,
            )
            _KERNEL_STATE = False
        else:
            _KERNEL_STATE = selective_scan_fn
    return _KERNEL_STATE or None


_KERNEL_STATE = None


# ---- layer, block, backbone -------------------------------------------------------------------


@dataclass
class MambaConfig:
    d_model: int = 128  # D: residual width; params= searches it
    n_layers: int = 4  # Mamba blocks
    dropout: float = 0.0  # on each block's output before the residual (Mamba itself uses none)
    d_state: int = 16  # N: state per inner channel (Mamba's default 16)
    expand: int = 2  # E = expand * D inner channels (Mamba's default 2)
    d_conv: int = 4  # W: width of the causal depthwise convolution (Mamba's default 4)
    dt_rank: int | None = None  # R: rank of the delta projection; None: ceil(D / 16) (Mamba)
    dt_min: float = 0.001  # delta's bias starts so that delta is log-uniform in
    dt_max: float = 0.1  # [dt_min, dt_max] (Mamba's defaults)
    use_kernels: bool = True  # CUDA input + mamba_ssm installed: use its fused scan kernel

    def __post_init__(self) -> None:
        for name in ("d_state", "expand", "d_conv"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.dt_min <= self.dt_max:
            raise ValueError(f"need 0 < dt_min <= dt_max, got {self.dt_min}, {self.dt_max}")


class MambaMixer(nn.Module):
    """The selective SSM mixer: ``(B, L, D) -> (B, L, D)``, always causal."""

    def __init__(self, cfg: MambaConfig):
        super().__init__()
        D, N = cfg.d_model, cfg.d_state
        E = cfg.expand * D
        R = cfg.dt_rank or math.ceil(D / 16)
        self.E, self.N, self.R, self.W = E, N, R, cfg.d_conv
        self.use_kernels = cfg.use_kernels
        self.in_proj = nn.Linear(D, 2 * E, bias=False)
        self.conv1d = nn.Conv1d(E, E, cfg.d_conv, groups=E, padding=cfg.d_conv - 1)
        self.x_proj = nn.Linear(E, R + 2 * N, bias=False)
        self.dt_proj = nn.Linear(R, E)
        # Mamba's delta init: weights U(+-R^-1/2); bias = softplus^-1(dt), dt log-uniform.
        nn.init.uniform_(self.dt_proj.weight, -(R**-0.5), R**-0.5)
        dt = torch.exp(
            torch.rand(E) * (math.log(cfg.dt_max) - math.log(cfg.dt_min)) + math.log(cfg.dt_min)
        ).clamp(min=1e-4)
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        # S4D-Real: A_n = -(n + 1), stored as log so that A stays negative.
        A = torch.arange(1, N + 1, dtype=torch.float32, device="cpu").expand(E, -1)
        self.A_log = tag_parameter(nn.Parameter(torch.log(A).clone()), weight_decay=0.0)  # (E, N)
        self.D = tag_parameter(nn.Parameter(torch.ones(E)), weight_decay=0.0)  # (E,)
        self.out_proj = nn.Linear(E, D, bias=False)

    def _select(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``x: (..., E)`` -> pre-softplus ``delta: (..., E)``, ``B, C: (..., N)``."""
        dt, Bm, Cm = self.x_proj(x).split([self.R, self.N, self.N], dim=-1)
        return F.linear(dt, self.dt_proj.weight), Bm, Cm

    def forward(self, h: Tensor) -> Tensor:
        L = h.shape[1]
        x, z = self.in_proj(h).chunk(2, dim=-1)  # (B, L, E) each
        x = F.silu(self.conv1d(x.transpose(1, 2))[..., :L].transpose(1, 2))  # causal conv
        dt, Bm, Cm = self._select(x)
        A = -torch.exp(self.A_log.to(torch.promote_types(x.dtype, torch.float32)))  # (E, N)
        fused = _mamba_ssm_scan() if (x.is_cuda and self.use_kernels) else None
        if fused is not None:
            y = fused(
                x.transpose(1, 2).contiguous(), dt.transpose(1, 2).contiguous(), A,
                Bm.transpose(1, 2).contiguous(), Cm.transpose(1, 2).contiguous(),
                self.D.float(), z=z.transpose(1, 2).contiguous(),
                delta_bias=self.dt_proj.bias.float(), delta_softplus=True,
            ).transpose(1, 2)  # (B, L, E), gated
        else:
            delta = F.softplus(dt + self.dt_proj.bias)  # (B, L, E)
            y = selective_scan(x, delta, A, Bm, Cm, self.D) * F.silu(z)
        return self.out_proj(y)

    def init_state(self, batch: int, device, dtype):
        """Last ``W - 1`` conv inputs ``(B, E, W-1)`` and the SSM state ``(B, E, N)``."""
        conv = torch.zeros(batch, self.E, self.W - 1, device=device, dtype=dtype)
        return conv, torch.zeros(batch, self.E, self.N, device=device, dtype=dtype)

    def step(self, h_t: Tensor, state):
        """``h_t: (B, D)`` -> ``((B, D), state)``: one step of the same recurrence."""
        conv, ssm = state
        x, z = self.in_proj(h_t).chunk(2, dim=-1)  # (B, E)
        window = torch.cat([conv, x.unsqueeze(-1)], dim=-1)  # (B, E, W)
        x = F.silu((window * self.conv1d.weight[:, 0]).sum(-1) + self.conv1d.bias)
        dt, Bm, Cm = self._select(x)
        delta = F.softplus(dt + self.dt_proj.bias)  # (B, E)
        A = -torch.exp(self.A_log.to(x.dtype))  # (E, N)
        ssm = torch.exp(delta.unsqueeze(-1) * A) * ssm + (delta * x).unsqueeze(-1) * Bm.unsqueeze(1)
        y = torch.einsum("ben,bn->be", ssm, Cm) + self.D * x
        return self.out_proj(y * F.silu(z)), (window[..., 1:], ssm)


class MambaBlock(nn.Module):
    """``h + Dropout(Mixer(RMSNorm(h)))`` (Mamba's residual block)."""

    def __init__(self, cfg: MambaConfig):
        super().__init__()
        self.norm = nn.RMSNorm(cfg.d_model, eps=1e-5)
        self.mixer = MambaMixer(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, h: Tensor) -> Tensor:
        return h + self.drop(self.mixer(self.norm(h)))

    def step(self, h_t: Tensor, state):
        y, state = self.mixer.step(self.norm(h_t), state)
        return h_t + y, state


class MambaBackbone(nn.Module):
    """A stack of Mamba blocks: ``(B, L, D) -> (B, L, D)``; causal, so padding needs nothing."""

    def __init__(self, cfg: MambaConfig):
        super().__init__()
        self.d_out = cfg.d_model
        self.blocks = nn.ModuleList(MambaBlock(cfg) for _ in range(cfg.n_layers))

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        # Right padding comes after every real step, and every layer is causal.
        for block in self.blocks:
            h = block(h)
        return h

    def init_state(self, batch_size: int, device, dtype):
        return [b.mixer.init_state(batch_size, device, dtype) for b in self.blocks]

    def step(self, h_t: Tensor, state):
        """``h_t: (B, D)`` -> ``((B, D), state)``."""
        return step_layers(self.blocks, h_t, state)


@register_model(
    ModelCard(
        name="mamba",
        family="ssm",
        year=2023,
        time_complexity="O(L)",
        memory_complexity="O(L)",
        causal=True,
        streaming=True,
        requires_causal=True,
        max_len=None,
        summary="Selective state space model (S6): input-dependent delta, B, C give "
        "content-based selection (what S4/S4D cannot do); linear-time parallel scan, O(1) "
        "per step streaming; mamba_ssm CUDA kernels when present, pure PyTorch elsewhere.",
        paper="Gu & Dao 2023, Mamba: Linear-Time Sequence Modeling with Selective State Spaces",
    ),
    MambaConfig,
)
def mamba(spec: ModelSpec, cfg: MambaConfig) -> SequenceModel:
    return SequenceModel(spec, cfg.d_model, MambaBackbone(cfg), "last")
