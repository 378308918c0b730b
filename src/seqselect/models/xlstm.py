"""xLSTM: exponential gating with matrix (mLSTM) and scalar (sLSTM) memories
(Beck et al., NeurIPS 2024, arXiv 2405.04517).

Symbols: B batch, L length, D model width, E = expand * D mLSTM inner channels, H heads,
P channels per head (E / H in an mLSTM block, D / H in an sLSTM block), T steps per chunk.

mLSTM, per head (paper eqs. 19-27), with ``log f_t = logsigmoid(f~_t)`` and input gate
``exp(i~_t)``:

    C_t = f_t C_{t-1} + i_t k_t v_t^T        (P, P) matrix memory (stored as k v^T)
    n_t = f_t n_{t-1} + i_t k_t              normaliser
    h_t = C_t^T q_t / max(|n_t . q_t|, 1)    q scaled by 1/sqrt(P)

Exponential gates overflow, so everything is kept relative to a stabiliser
``m_t = max(log f_t + m_{t-1}, i~_t)`` (the bound ``1`` becomes ``exp(-m_t)``); outputs are
unchanged. :func:`mlstm_chunkwise` trains it in chunks of T steps: inside a chunk the
parallel form (a masked, stabilised T x T "attention" with the log-decay matrix
``segsum(log f) + i~``), between chunks the stabilised recurrence on ``(C, n, m)``. With one
chunk it is the paper's parallel form. :func:`mlstm_recurrent` is the step-by-step twin.

sLSTM (eqs. 8-17): scalar memories with recurrent, block-diagonal (per head) gate
connections, so it cannot be parallelised over L; it runs as a loop, and its ``step`` is
the same cell. The stack is the paper's mix: mostly mLSTM blocks, sLSTM blocks at the
positions ``slstm_at`` (xLSTM[7:1] puts one in eight).

Blocks (paper Figs. 9-10; q, k, v block-diagonal with ``qkv_block`` x ``qkv_block`` blocks):

* mLSTM: ``x, z = up(LN(h))``; ``x_c = SiLU(conv(x))``; ``q, k = W(x_c)``, ``v = W(x)``;
  gates from ``[q, k, v]``; ``h + down((HeadNorm(mLSTM) + s * x_c) * SiLU(z))``.
* sLSTM: ``h + HeadNorm(sLSTM(LN(h)))`` then ``h + GatedMLP(LN(h))`` (4/3 up-projection).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqselect.models.base import ModelSpec, SequenceModel
from seqselect.models.registry import ModelCard, register_model
from seqselect.models.scan import BlockStack, in_float32, segsum

__all__ = ["XLSTMConfig", "mlstm_chunkwise", "mlstm_recurrent", "slstm_step"]


# ---- mLSTM kernel -----------------------------------------------------------------------------


def mlstm_init_state(batch: int, H: int, P: int, device, dtype):
    """``(C (B, H, P, P), n (B, H, P), m (B, H))``; ``m = -inf``: nothing seen yet."""
    C = torch.zeros(batch, H, P, P, device=device, dtype=dtype)
    n = torch.zeros(batch, H, P, device=device, dtype=dtype)
    return C, n, torch.full((batch, H), float("-inf"), device=device, dtype=dtype)


def mlstm_step(q, k, v, pre_i, pre_f, state):
    """One stabilised step: ``q, k, v: (B, H, P)``, ``pre_i, pre_f: (B, H)`` -> ``h (B, H, P)``."""
    C, n, m = state
    log_f = F.logsigmoid(pre_f)
    m_new = torch.maximum(log_f + m, pre_i)
    f = torch.exp(log_f + m - m_new)  # 0 on the first step (m = -inf)
    i = torch.exp(pre_i - m_new)
    C = f[..., None, None] * C + i[..., None, None] * k.unsqueeze(-1) * v.unsqueeze(-2)
    n = f[..., None] * n + i[..., None] * k
    qs = q / math.sqrt(q.shape[-1])
    num = torch.einsum("bhp,bhpv->bhv", qs, C)
    den = torch.maximum((qs * n).sum(-1).abs(), torch.exp(-m_new))
    return num / den[..., None], (C, n, m_new)


def mlstm_recurrent(q, k, v, pre_i, pre_f):
    """Sequential twin of :func:`mlstm_chunkwise` (a loop over L; tests only)."""
    Bsz, H, L, P = q.shape
    state = mlstm_init_state(Bsz, H, P, q.device, q.dtype)
    hs = []
    for t in range(L):
        h, state = mlstm_step(q[:, :, t], k[:, :, t], v[:, :, t], pre_i[:, :, t],
                              pre_f[:, :, t], state)
        hs.append(h)
    return torch.stack(hs, dim=2)


def mlstm_chunkwise(q: Tensor, k: Tensor, v: Tensor, pre_i: Tensor, pre_f: Tensor,
                    chunk: int) -> Tensor:
    """The mLSTM over a sequence, chunk by chunk, from an empty memory.

    Args:
        q, k, v: ``(B, H, L, P)``. pre_i, pre_f: ``(B, H, L)`` gate pre-activations.
        chunk: T; ``chunk >= L`` is the fully parallel form (O(L^2) memory).
    Returns:
        ``h: (B, H, L, P)``.
    """
    Bsz, H, L, P = q.shape
    C, n, m = mlstm_init_state(Bsz, H, P, q.device, q.dtype)
    q = q / math.sqrt(P)
    log_f = F.logsigmoid(pre_f)
    outs = []
    # split, not slicing in the loop: a slice's backward writes a full-length zero tensor
    # per chunk (O(L^2 / T) in all); split's backward is one cat.
    parts = [t.split(chunk, dim=2) for t in (q, k, v, pre_i, log_f)]
    for qc, kc, vc, ic, fc in zip(*parts, strict=True):
        b = fc.cumsum(-1)  # (B, H, T): log-decay from the chunk start to each step
        log_d = segsum(fc) + ic.unsqueeze(-2)  # (B, H, T, T): weight of step s at step t
        from_state = b + m.unsqueeze(-1)  # (B, H, T): weight of the carried memory
        m_t = torch.maximum(log_d.amax(-1), from_state)  # (B, H, T) stabiliser per step
        weights = torch.exp(log_d - m_t.unsqueeze(-1)) * (qc @ kc.transpose(-1, -2))
        carry = torch.exp(from_state - m_t).unsqueeze(-1)  # (B, H, T, 1)
        num = weights @ vc + carry * (qc @ C)  # (B, H, T, P)
        den = weights.sum(-1, keepdim=True) + carry * (qc @ n.unsqueeze(-1))
        outs.append(num / torch.maximum(den.abs(), torch.exp(-m_t).unsqueeze(-1)))
        # The memory after the chunk, relative to its new stabiliser.
        to_end = b[..., -1:] - b + ic  # (B, H, T): log weight of step s at the chunk end
        m_end = torch.maximum(to_end.amax(-1), b[..., -1] + m)  # (B, H)
        w_end = torch.exp(to_end - m_end.unsqueeze(-1))  # (B, H, T)
        keep = torch.exp(b[..., -1] + m - m_end)  # (B, H)
        C = keep[..., None, None] * C + (kc * w_end.unsqueeze(-1)).transpose(-1, -2) @ vc
        n = keep[..., None] * n + (kc * w_end.unsqueeze(-1)).sum(-2)
        m = m_end
    return torch.cat(outs, dim=2)


# ---- sLSTM kernel -----------------------------------------------------------------------------


def slstm_step(pre: Tensor, state) -> tuple[Tensor, tuple]:
    """One sLSTM step from gate pre-activations ``pre: (B, 4, H, P)`` (i, f, z, o, input and
    recurrent parts already summed); state ``(h, c, n, m)``, each ``(B, H, P)``."""
    _, c, n, m = state
    pre_i, pre_f, pre_z, pre_o = pre.unbind(1)
    log_f = F.logsigmoid(pre_f)
    m_new = torch.maximum(log_f + m, pre_i)
    i, f = torch.exp(pre_i - m_new), torch.exp(log_f + m - m_new)
    c = f * c + i * torch.tanh(pre_z)
    n = f * n + i
    h = torch.sigmoid(pre_o) * c / n
    return h, (h, c, n, m_new)


# ---- layers and blocks ------------------------------------------------------------------------


@dataclass
class XLSTMConfig:
    d_model: int = 128  # D: residual width; params= searches it
    n_layers: int = 4  # blocks, mLSTM except those in slstm_at
    dropout: float = 0.0  # on each block's output before the residual
    n_heads: int = 2  # H: heads of both memories (paper: 4; the sLSTM needs D % H == 0, and
    # H = 2 lets params= pick D in steps of 2)
    expand: int = 2  # E = expand * D: the mLSTM block's up-projection (paper: 2)
    d_conv: int = 4  # causal depthwise convolution before q, k (paper: 4)
    slstm_at: tuple[int, ...] = (1,)  # block indices that are sLSTM (paper's mixes, e.g. [1])
    chunk_size: int = 64  # T: mLSTM chunk; inside it the parallel form, T^2 memory per chunk
    qkv_block: int = 4  # S: q, k, v maps are block-diagonal with S x S blocks (paper: 4)

    def __post_init__(self) -> None:
        self.slstm_at = tuple(self.slstm_at)
        for name in ("n_layers", "n_heads", "expand", "d_conv", "chunk_size", "qkv_block"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be a multiple of n_heads={self.n_heads}")
        if (self.expand * self.d_model) % math.lcm(self.n_heads, self.qkv_block):
            raise ValueError(
                f"expand * d_model = {self.expand * self.d_model} must be a multiple of "
                f"n_heads = {self.n_heads} and of qkv_block = {self.qkv_block}"
            )
        bad = [i for i in self.slstm_at if not 0 <= i < self.n_layers]
        if bad:
            raise ValueError(f"slstm_at {bad} outside the {self.n_layers} blocks")


class BlockDiagonal(nn.Module):
    """``(..., E) -> (..., E)`` by ``E / S`` independent ``S x S`` maps (the paper's q, k, v
    projections, ``qkv_proj_blocksize``): O(E S) parameters instead of O(E^2)."""

    def __init__(self, E: int, S: int):
        super().__init__()
        self.S = S
        self.weight = nn.Parameter(torch.randn(E // S, S, S) / math.sqrt(S))

    def forward(self, x: Tensor) -> Tensor:
        blocks = x.unflatten(-1, (-1, self.S))  # (..., E/S, S)
        return torch.einsum("...gs,gso->...go", blocks, self.weight).flatten(-2)


class HeadNorm(nn.Module):
    """LayerNorm over each head's P channels with a per-channel scale (the paper's
    GroupNorm with H groups): ``(..., H, P) -> (..., H * P)``."""

    def __init__(self, H: int, P: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(H, P))

    def forward(self, h: Tensor) -> Tensor:
        return (F.layer_norm(h, h.shape[-1:]) * self.weight).flatten(-2)


class MLSTMBlock(nn.Module):
    """``(B, L, D) -> (B, L, D)``, causal: the mLSTM with pre up-projection."""

    def __init__(self, cfg: XLSTMConfig):
        super().__init__()
        D, H = cfg.d_model, cfg.n_heads
        E = cfg.expand * D
        self.E, self.H, self.P, self.W, self.chunk = E, H, E // H, cfg.d_conv, cfg.chunk_size
        self.norm = nn.LayerNorm(D)
        self.up = nn.Linear(D, 2 * E, bias=False)
        self.conv1d = nn.Conv1d(E, E, cfg.d_conv, groups=E, padding=cfg.d_conv - 1)
        # q, k read the convolved x_c, v reads x itself (paper Fig. 10); block-diagonal.
        self.q, self.k = BlockDiagonal(E, cfg.qkv_block), BlockDiagonal(E, cfg.qkv_block)
        self.v = BlockDiagonal(E, cfg.qkv_block)
        self.gates = nn.Linear(3 * E, 2 * H)  # i~, f~ per head from [q, k, v]
        with torch.no_grad():  # forget gates start open: biases 3..6 (paper code)
            self.gates.bias[H:] = torch.linspace(3.0, 6.0, H)
            self.gates.bias[:H] = 0.0
        self.head_norm = HeadNorm(H, self.P)
        self.skip = nn.Parameter(torch.ones(E))
        self.down = nn.Linear(E, D, bias=False)
        self.drop = nn.Dropout(cfg.dropout)

    def _project(self, x: Tensor, x_c: Tensor):
        """``x, x_c: (..., E)`` -> ``q, k, v: (..., H, P)`` and ``pre_i, pre_f: (..., H)``."""
        H, P = self.H, self.P
        q, k, v = self.q(x_c), self.k(x_c), self.v(x)
        pre_i, pre_f = self.gates(torch.cat([q, k, v], dim=-1)).split(H, dim=-1)
        return *(t.unflatten(-1, (H, P)) for t in (q, k, v)), pre_i, pre_f

    def _output(self, h: Tensor, h_cell: Tensor, x_c: Tensor, z: Tensor) -> Tensor:
        y = (self.head_norm(h_cell) + self.skip * x_c) * F.silu(z)
        return h + self.drop(self.down(y))

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        L = h.shape[1]
        x, z = self.up(self.norm(h)).chunk(2, dim=-1)  # (B, L, E) each
        x_c = F.silu(self.conv1d(x.transpose(1, 2))[..., :L].transpose(1, 2))  # causal conv
        q, k, v, pre_i, pre_f = self._project(x, x_c)
        heads_first = [t.transpose(1, 2) for t in (q, k, v, pre_i, pre_f)]  # (B, H, L, .)
        h_cell = in_float32(mlstm_chunkwise, *heads_first, chunk=self.chunk)
        return self._output(h, h_cell.to(h.dtype).transpose(1, 2), x_c, z)  # (B, L, H, P)

    def init_state(self, batch: int, device, dtype):
        conv = torch.zeros(batch, self.E, self.W - 1, device=device, dtype=dtype)
        return conv, mlstm_init_state(batch, self.H, self.P, device, dtype)

    def step(self, h_t: Tensor, state):
        """``h_t: (B, D)`` -> ``((B, D), state)``."""
        conv, memory = state
        x, z = self.up(self.norm(h_t)).chunk(2, dim=-1)  # (B, E)
        window = torch.cat([conv, x.unsqueeze(-1)], dim=-1)  # (B, E, W)
        x_c = F.silu((window * self.conv1d.weight[:, 0]).sum(-1) + self.conv1d.bias)
        h_cell, memory = mlstm_step(*self._project(x, x_c), memory)
        return self._output(h_t, h_cell, x_c, z), (window[..., 1:], memory)


class SLSTMBlock(nn.Module):
    """``(B, L, D) -> (B, L, D)``, causal: the sLSTM (a loop over L) and a gated MLP."""

    def __init__(self, cfg: XLSTMConfig):
        super().__init__()
        D, H = cfg.d_model, cfg.n_heads
        self.H, self.P = H, D // H
        self.norm = nn.LayerNorm(D)
        self.w_in = nn.Linear(D, 4 * D)  # input parts of i, f, z, o
        # Recurrent parts, block-diagonal: each head reads only its own previous h.
        self.r = nn.Parameter(torch.randn(4, H, self.P, self.P) / math.sqrt(self.P))
        with torch.no_grad():  # forget gates start open (paper code: biases 3..6)
            self.w_in.bias[D : 2 * D] = torch.linspace(3.0, 6.0, H).repeat_interleave(self.P)
        self.head_norm = HeadNorm(H, self.P)
        d_ff = max(1, round(4 * D / 3))
        self.mlp_norm = nn.LayerNorm(D)
        self.mlp_up = nn.Linear(D, 2 * d_ff)
        self.mlp_down = nn.Linear(d_ff, D)
        self.drop = nn.Dropout(cfg.dropout)

    def _cell(self, inputs_t: Tensor, state):
        """``inputs_t: (B, 4, H, P)`` input parts -> ``(h_cell (B, H, P), state)``."""
        recurrent = torch.einsum("ghpq,bhp->bghq", self.r, state[0])  # (B, 4, H, P)
        return slstm_step(inputs_t + recurrent, state)

    def _finish(self, h: Tensor, h_cell: Tensor) -> Tensor:
        h = h + self.drop(self.head_norm(h_cell))
        a, gate = self.mlp_up(self.mlp_norm(h)).chunk(2, dim=-1)
        return h + self.drop(self.mlp_down(F.gelu(a) * gate))

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        Bsz, L, _ = h.shape
        inputs = self.w_in(self.norm(h)).unflatten(-1, (4, self.H, self.P))  # (B, L, 4, H, P)
        state = self.init_state(Bsz, h.device, h.dtype)
        cells = []
        # The recurrence through h_{t-1} admits no parallel form. unbind, not inputs[:, t]:
        # an index's backward fills a full-length zero tensor per step (O(L^2) in all).
        for inputs_t in inputs.unbind(dim=1):
            h_cell, state = self._cell(inputs_t, state)
            cells.append(h_cell)
        return self._finish(h, torch.stack(cells, dim=1))

    def init_state(self, batch: int, device, dtype):
        """``(h, c, n, m)``, each ``(B, H, P)`` zeros (h = c/n, so m's start cancels)."""
        return tuple(torch.zeros(batch, self.H, self.P, device=device, dtype=dtype)
                     for _ in range(4))

    def step(self, h_t: Tensor, state):
        """``h_t: (B, D)`` -> ``((B, D), state)``."""
        inputs_t = self.w_in(self.norm(h_t)).unflatten(-1, (4, self.H, self.P))
        h_cell, state = self._cell(inputs_t, state)
        return self._finish(h_t, h_cell), state


def xlstm_backbone(cfg: XLSTMConfig) -> BlockStack:
    """mLSTM blocks, with sLSTM blocks at ``cfg.slstm_at``: ``(B, L, D) -> (B, L, D)``."""
    blocks = (SLSTMBlock(cfg) if i in cfg.slstm_at else MLSTMBlock(cfg)
              for i in range(cfg.n_layers))
    return BlockStack(blocks, cfg.d_model)


@register_model(
    ModelCard(
        name="xlstm",
        family="rnn",
        year=2024,
        time_complexity="O(L)",
        memory_complexity="O(L)",
        causal=True,
        streaming=True,
        requires_causal=True,
        max_len=None,
        summary="xLSTM: exponentially gated LSTMs; mLSTM blocks (matrix memory, trained "
        "chunkwise in parallel) mixed with sLSTM blocks (scalar memory, recurrent, a loop "
        "over L); O(1)-per-step streaming.",
        paper="Beck et al. 2024, xLSTM: Extended Long Short-Term Memory",
    ),
    XLSTMConfig,
    width_multiple=lambda cfg: math.lcm(
        cfg.n_heads, cfg.qkv_block // math.gcd(cfg.qkv_block, cfg.expand)
    ),
)
def xlstm(spec: ModelSpec, cfg: XLSTMConfig) -> SequenceModel:
    return SequenceModel(spec, cfg.d_model, xlstm_backbone(cfg), "last")
