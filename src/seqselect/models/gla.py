"""GLA: gated linear attention (Yang, Wang, Shen, Panda & Kim, ICML 2024, arXiv 2312.06635).

Symbols: B batch, L length, D model width, H heads, K key channels per head, V value
channels per head, T steps per chunk.

Per head, a linear-attention state with a data-dependent, per-key-channel forget gate:

    S_t = diag(alpha_t) S_{t-1} + k_t^T v_t      S: (K, V)
    o_t = q_t S_t                                 alpha_t = sigmoid(W x_t + b)^(1/tau)

:func:`gla_chunkwise` trains it in chunks of T steps (paper §4, the chunkwise form): inside
a chunk ``o = (q k^T o decay) v`` with the decay ``exp(b_t - b_s)`` per key channel
(``b`` the cumulative log-gate, so every exponent is <= 0: the paper's log-space
"secondary chunking", here at step level, exact in float32); between chunks a recurrence
on the (K, V) state, a loop of L / T steps. Time O(L T K + L K V), memory O(L T K).
:func:`gla_recurrent` is the step-by-step twin. The fused Triton kernels of
flash-linear-attention need a GPU, so only this pure-PyTorch path is here.

A block is ``h + GLA(RMSNorm(h))`` then ``h + SwiGLU(RMSNorm(h))`` (the paper's
Transformer++-style layer); the GLA output is ``W_o(HeadNorm(o) * SiLU(W_r x))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqselect.models.base import ModelSpec, SequenceModel
from seqselect.models.registry import ModelCard, register_model
from seqselect.models.scan import BlockStack, in_float32

__all__ = ["GLAConfig", "gla_chunkwise", "gla_recurrent"]


# ---- kernel ---------------------------------------------------------------------------------


def gla_step(q_t, k_t, v_t, log_alpha_t, S):
    """One step: ``q_t, k_t, log_alpha_t: (B, H, K)``, ``v_t: (B, H, V)``, ``S: (B, H, K, V)``."""
    S = torch.exp(log_alpha_t).unsqueeze(-1) * S + k_t.unsqueeze(-1) * v_t.unsqueeze(-2)
    return torch.einsum("bhk,bhkv->bhv", q_t, S), S


def gla_recurrent(q, k, v, log_alpha):
    """Sequential twin of :func:`gla_chunkwise` (a loop over L; tests only)."""
    Bsz, H, L, K = q.shape
    S = q.new_zeros(Bsz, H, K, v.shape[-1])
    outs = []
    for t in range(L):
        o, S = gla_step(q[:, :, t], k[:, :, t], v[:, :, t], log_alpha[:, :, t], S)
        outs.append(o)
    return torch.stack(outs, dim=2), S


def gla_chunkwise(q: Tensor, k: Tensor, v: Tensor, log_alpha: Tensor,
                  chunk: int) -> tuple[Tensor, Tensor]:
    """Gated linear attention over a sequence from a zero state, in chunks.

    Args:
        q, k: ``(B, H, L, K)``. v: ``(B, H, L, V)``. log_alpha: ``(B, H, L, K)``, <= 0.
        chunk: T; any L (the last chunk may be shorter).
    Returns:
        ``o: (B, H, L, V)`` and the final state ``S: (B, H, K, V)``.
    """
    Bsz, H, L, K = q.shape
    S = q.new_zeros(Bsz, H, K, v.shape[-1])
    outs = []
    # split, not slicing in the loop: a slice's backward writes a full-length zero tensor,
    # which made the L / T chunks cost O(L^2 / T) in the backward pass; split's is one cat.
    parts = [t.split(chunk, dim=2) for t in (q, k, v, log_alpha)]
    for qc, kc, vc, gc in zip(*parts, strict=True):
        T = qc.shape[2]
        b = gc.cumsum(dim=2)  # (B, H, T, K): log-decay from the chunk start
        causal = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
        gap = b.unsqueeze(3) - b.unsqueeze(2)  # (B, H, T, T, K): b_t - b_s
        decay = torch.exp(gap.masked_fill(~causal[..., None], float("-inf")))
        scores = torch.einsum("bhtk,bhsk,bhtsk->bhts", qc, kc, decay)  # (B, H, T, T)
        outs.append(scores @ vc + (qc * torch.exp(b)) @ S)  # intra + from the carried state
        last = b[:, :, -1:]  # (B, H, 1, K)
        k_to_end = kc * torch.exp(last - b)  # (B, H, T, K): keys decayed to the chunk end
        S = torch.exp(last).transpose(-1, -2) * S + k_to_end.transpose(-1, -2) @ vc
    return torch.cat(outs, dim=2), S


# ---- layer, block, backbone -------------------------------------------------------------------


@dataclass
class GLAConfig:
    d_model: int = 128  # D: residual width; params= searches it
    n_layers: int = 4  # blocks
    dropout: float = 0.0  # on each sub-block's output before the residual
    n_heads: int = 4  # H (paper: 4)
    expand_k: float = 0.5  # K = expand_k * D / H: keys half as wide as values (paper)
    expand_v: float = 1.0  # V = expand_v * D / H (paper)
    gate_rank: int = 16  # the forget gate's low-rank projection (paper: 16)
    gate_temperature: float = 16.0  # tau: alpha = sigmoid(.)^(1/tau) keeps gates near 1 (paper)
    chunk_size: int = 16  # T: the chunk; intra-chunk decays cost T * K per step
    mlp_ratio: float = 4.0  # SwiGLU hidden = 2/3 * mlp_ratio * D (Transformer++)

    def __post_init__(self) -> None:
        for name in ("n_layers", "n_heads", "gate_rank", "chunk_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("expand_k", "expand_v", "gate_temperature", "mlp_ratio"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


class GLALayer(nn.Module):
    """Gated linear attention: ``(B, L, D) -> (B, L, D)``, always causal.

    Head widths are ``floor(expand * D / H)`` (at least 1), so any ``d_model`` works and
    ``params=`` can choose it freely.
    """

    def __init__(self, cfg: GLAConfig):
        super().__init__()
        D, H = cfg.d_model, cfg.n_heads
        self.H = H
        self.K = max(1, int(cfg.expand_k * D) // H)
        self.V = max(1, int(cfg.expand_v * D) // H)
        self.chunk, self.tau = cfg.chunk_size, cfg.gate_temperature
        self.q = nn.Linear(D, H * self.K, bias=False)
        self.k = nn.Linear(D, H * self.K, bias=False)
        self.v = nn.Linear(D, H * self.V, bias=False)
        self.gate = nn.Sequential(
            nn.Linear(D, cfg.gate_rank, bias=False), nn.Linear(cfg.gate_rank, H * self.K)
        )
        self.r = nn.Linear(D, H * self.V)  # output gate
        self.head_scale = nn.Parameter(torch.ones(H, self.V))
        self.o = nn.Linear(H * self.V, D, bias=False)

    def _project(self, x: Tensor):
        """``x: (..., D)`` -> ``q, k, log_alpha: (..., H, K)``, ``v: (..., H, V)``."""
        H, K, V = self.H, self.K, self.V
        q = self.q(x).unflatten(-1, (H, K)) / math.sqrt(K)
        log_alpha = F.logsigmoid(self.gate(x)).unflatten(-1, (H, K)) / self.tau
        return q, self.k(x).unflatten(-1, (H, K)), self.v(x).unflatten(-1, (H, V)), log_alpha

    def _output(self, o: Tensor, x: Tensor) -> Tensor:
        """``o: (..., H, V)`` -> ``(..., D)``: per-head RMSNorm, output gate, projection."""
        o = (F.rms_norm(o, o.shape[-1:], eps=1e-5) * self.head_scale).flatten(-2)
        return self.o(o * F.silu(self.r(x)))

    def forward(self, x: Tensor) -> Tensor:
        heads_first = [t.transpose(1, 2) for t in self._project(x)]  # (B, H, L, .)
        o, _ = in_float32(gla_chunkwise, *heads_first, chunk=self.chunk)
        return self._output(o.to(x.dtype).transpose(1, 2), x)  # o: (B, L, H, V)

    def init_state(self, batch: int, device, dtype) -> Tensor:
        return torch.zeros(batch, self.H, self.K, self.V, device=device, dtype=dtype)

    def step(self, x_t: Tensor, S: Tensor) -> tuple[Tensor, Tensor]:
        """``x_t: (B, D)``, ``S: (B, H, K, V)`` -> ``((B, D), S)``."""
        q, k, v, log_alpha = self._project(x_t)
        o, S = gla_step(q, k, v, log_alpha, S)
        return self._output(o, x_t), S


class GLABlock(nn.Module):
    """``h + Drop(GLA(RMSNorm(h)))`` then ``h + Drop(SwiGLU(RMSNorm(h)))``."""

    def __init__(self, cfg: GLAConfig):
        super().__init__()
        D = cfg.d_model
        d_ff = max(1, round(2 * cfg.mlp_ratio * D / 3))
        self.norm1, self.norm2 = nn.RMSNorm(D, eps=1e-5), nn.RMSNorm(D, eps=1e-5)
        self.attn = GLALayer(cfg)
        self.up = nn.Linear(D, 2 * d_ff, bias=False)
        self.down = nn.Linear(d_ff, D, bias=False)
        self.drop = nn.Dropout(cfg.dropout)

    def _mlp(self, h: Tensor) -> Tensor:
        a, gate = self.up(self.norm2(h)).chunk(2, dim=-1)
        return h + self.drop(self.down(F.silu(gate) * a))

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        return self._mlp(h + self.drop(self.attn(self.norm1(h))))

    def init_state(self, batch: int, device, dtype) -> Tensor:
        return self.attn.init_state(batch, device, dtype)

    def step(self, h_t: Tensor, state: Tensor):
        y, state = self.attn.step(self.norm1(h_t), state)
        return self._mlp(h_t + y), state


@register_model(
    ModelCard(
        name="gla",
        family="linear-attention",
        year=2024,
        time_complexity="O(L)",
        memory_complexity="O(L)",
        causal=True,
        streaming=True,
        requires_causal=True,
        max_len=None,
        summary="Gated linear attention: linear attention with a data-dependent forget gate "
        "per key channel, trained chunkwise (matmuls inside chunks, a recurrence across); "
        "O(1)-per-step streaming with a (K, V) state per head. Pure PyTorch (no Triton).",
        paper="Yang, Wang, Shen, Panda & Kim 2024, Gated Linear Attention Transformers with "
        "Hardware-Efficient Training",
    ),
    GLAConfig,
)
def gla(spec: ModelSpec, cfg: GLAConfig) -> SequenceModel:
    backbone = BlockStack((GLABlock(cfg) for _ in range(cfg.n_layers)), cfg.d_model)
    return SequenceModel(spec, cfg.d_model, backbone, "last")
