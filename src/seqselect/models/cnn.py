"""1-D CNN: the guide's short-text and short-series baseline (Kim 2014 style, residual).

Symbols: B batch, L length, D channels (model width), K kernel size.

Undilated convolutions with residual connections and max pooling over real steps
(Kim's max-over-time). Unlike the TCN its receptive field grows only linearly with depth,
which is why it suits short sequences. It reuses the TCN's ``TemporalConv`` for padding,
causality and streaming.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from seqselect.models.base import ModelSpec, SequenceModel
from seqselect.models.registry import ModelCard, register_model
from seqselect.models.tcn import TemporalConv


@dataclass
class CNNConfig:
    d_model: int = 128  # channels; params= searches it
    n_layers: int = 2  # conv layers, each residual
    kernel_size: int = 5  # Kim 2014 uses windows of 3-5 tokens
    dropout: float = 0.1  # after each activation

    def __post_init__(self) -> None:
        if self.kernel_size < 1:
            raise ValueError(f"kernel_size must be >= 1, got {self.kernel_size}")


class CNNBackbone(nn.Module):
    """``(B, L, D) -> (B, L, D)``: residual ``h + GELU(conv(h))`` per layer."""

    def __init__(self, cfg: CNNConfig, causal: bool):
        super().__init__()
        self.d_out = cfg.d_model
        self.receptive_field = 1 + cfg.n_layers * (cfg.kernel_size - 1)
        self.convs = nn.ModuleList(
            TemporalConv(cfg.d_model, cfg.d_model, cfg.kernel_size, 1, causal, norm=False)
            for _ in range(cfg.n_layers)
        )
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        x = h.transpose(1, 2).contiguous()  # (B, D, L); contiguous: see tcn.py
        for conv in self.convs:
            x = x + self.drop(torch.nn.functional.gelu(conv(x, mask)))
        return x.transpose(1, 2)  # (B, L, D)

    def init_state(self, batch_size: int, device, dtype):
        return [conv.init_state(batch_size, device, dtype) for conv in self.convs]

    def step(self, h_t: Tensor, state):
        new_state = []
        for conv, buffer in zip(self.convs, state, strict=True):
            y, buffer = conv.step(h_t, buffer)
            h_t = h_t + torch.nn.functional.gelu(y)
            new_state.append(buffer)
        return h_t, new_state


@register_model(
    ModelCard(
        name="cnn1d",
        family="cnn",
        year=2014,
        time_complexity="O(L)",
        memory_complexity="O(L)",
        causal=True,
        streaming=True,
        max_len=None,
        summary="Residual 1-D CNN with max-over-time pooling: a fast, simple baseline for "
        "short text and short series.",
        paper="Kim 2014, Convolutional Neural Networks for Sentence Classification",
    ),
    CNNConfig,
)
def cnn1d(spec: ModelSpec, cfg: CNNConfig) -> SequenceModel:
    pooling = "last" if spec.causal else "max"
    return SequenceModel(spec, cfg.d_model, CNNBackbone(cfg, spec.causal), pooling)
