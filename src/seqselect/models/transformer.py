"""Pre-norm Transformer encoder (Vaswani et al. 2017; pre-norm as in Xiong et al. 2020).

Symbols: B batch, L length, D model width, H heads, F feed-forward width.

The block takes any attention core (see ``attention/``), so the sparse and efficient
Transformers in ``sparse.py`` reuse this file and differ only in their core.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor, nn

from seqselect.models.attention import DenseAttention, MultiHeadAttention
from seqselect.models.base import ModelSpec, SequenceModel, sinusoidal_positions, step_layers
from seqselect.models.registry import ModelCard, register_model


@dataclass
class TransformerConfig:
    d_model: int = 128  # width; params= searches it (in multiples of n_heads)
    n_layers: int = 2  # encoder blocks
    n_heads: int = 4  # attention heads; d_model must divide by it
    dropout: float = 0.1  # on attention and feed-forward outputs (standard 0.1)
    ff_mult: int = 4  # feed-forward width F = ff_mult * D, as in the original paper

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}"
            )


def heads_multiple(cfg: TransformerConfig) -> int:
    """What ``d_model`` must be a multiple of (for ``params=``): the head count."""
    return cfg.n_heads


class FeedForward(nn.Module):
    """``(B, L, D) -> (B, L, D)``: D -> F -> D with GELU."""

    def __init__(self, d_model: int, ff_mult: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(d_model, ff_mult * d_model),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(ff_mult * d_model, d_model),
        )

    def forward(self, h: Tensor) -> Tensor:
        return self.net(h)


class TransformerBlock(nn.Module):
    """Pre-norm block: ``h + attn(LN(h))`` then ``h + ff(LN(h))``; ``(B, L, D) -> (B, L, D)``."""

    def __init__(self, d_model: int, n_heads: int, core: nn.Module, causal: bool, cfg):
        super().__init__()
        self.norm_attn = nn.LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, n_heads, core, causal)
        self.norm_ff = nn.LayerNorm(d_model)
        self.ff = FeedForward(d_model, cfg.ff_mult, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        h = h + self.drop(self.attn(self.norm_attn(h), mask))
        return h + self.drop(self.ff(self.norm_ff(h)))

    def step(self, h_t: Tensor, state):
        a_t, state = self.attn.step(self.norm_attn(h_t), state)  # (B, D)
        h_t = h_t + a_t
        return h_t + self.ff(self.norm_ff(h_t)), state


class TransformerBackbone(nn.Module):
    """Sinusoidal positions + a stack of blocks: ``(B, L, D) -> (B, L, D)``.

    Args:
        make_core: builds one attention core per block (dense, sliding window, ...).
    """

    def __init__(self, cfg, causal: bool, make_core: Callable[[], nn.Module]):
        super().__init__()
        self.d_model = cfg.d_model
        self.d_out = cfg.d_model
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(
            TransformerBlock(cfg.d_model, cfg.n_heads, make_core(), causal, cfg)
            for _ in range(cfg.n_layers)
        )

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        B, L, D = h.shape
        h = self.drop(h + sinusoidal_positions(L, D, device=h.device).to(h.dtype))
        for block in self.blocks:
            h = block(h, mask)
        return h

    def init_state(self, batch_size: int, device, dtype):
        return {
            "t": 0,
            "layers": [b.attn.init_state(batch_size, device, dtype) for b in self.blocks],
        }

    def step(self, h_t: Tensor, state):
        """``h_t: (B, D)`` at position ``state["t"]`` -> ``((B, D), state)``."""
        pos = sinusoidal_positions(1, self.d_model, offset=state["t"], device=h_t.device)
        h_t = h_t + pos[0].to(h_t.dtype)
        h_t, layers = step_layers(self.blocks, h_t, state["layers"])
        return h_t, {"t": state["t"] + 1, "layers": layers}


def transformer_model(spec: ModelSpec, cfg, make_core: Callable[[], nn.Module]) -> SequenceModel:
    """A Transformer zoo model around ``make_core``; pooling follows causality."""
    backbone = TransformerBackbone(cfg, spec.causal, make_core)
    return SequenceModel(spec, cfg.d_model, backbone, "last" if spec.causal else "mean")


@register_model(
    ModelCard(
        name="transformer",
        family="transformer",
        year=2017,
        time_complexity="O(L^2)",
        # The score matrix is O(L^2) when materialised; fused SDPA keeps activations O(L).
        memory_complexity="O(L^2)",
        causal=True,
        streaming=True,
        max_len=None,
        summary="Pre-norm Transformer encoder on fused SDPA; the standard for language and "
        "medium-length sequences with enough data.",
        paper="Vaswani et al. 2017, Attention Is All You Need",
    ),
    TransformerConfig,
    width_multiple=heads_multiple,
)
def transformer(spec: ModelSpec, cfg: TransformerConfig) -> SequenceModel:
    return transformer_model(spec, cfg, DenseAttention)

