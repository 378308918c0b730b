"""Hierarchical model: the guide's "process in chunks, aggregate" for long documents.

Symbols: B batch, L length, S chunk size, K chunks (ceil(L / S)), D model width.

The sequence is cut into fixed chunks of S steps. A small zoo encoder (the residual 1-D
CNN of :mod:`seqselect.models.cnn`) reads each chunk on its own and max-pools it over its
real steps to one vector; a bidirectional GRU then reads the K chunk vectors, so
information travels between chunks in K recurrent steps rather than L. Every step's
feature is its token feature plus the context of its chunk; the head pools those.
Cost is O(L) in time and memory (O(L·S) work in the encoder's chunks, O(K) in the GRU),
in the spirit of hierarchical attention networks (Yang et al., NAACL 2016) and of chunked
BERT for long documents (Pappagari et al., ASRU 2019).

Padding: the last chunk may be partial and later chunks fully padded; pooling uses real
steps only and the GRU is fed packed chunk sequences, so padding never changes real
outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from seqselect.models.base import ModelSpec, SequenceModel
from seqselect.models.cnn import CNNBackbone, CNNConfig
from seqselect.models.masked_rnn import masked_rnn
from seqselect.models.registry import ModelCard, register_model


@dataclass
class HierarchicalConfig:
    d_model: int = 128  # width of token features and chunk vectors; params= searches it
    n_layers: int = 2  # conv layers of the chunk encoder
    kernel_size: int = 5  # the encoder's window within a chunk (Kim 2014: 3-5 tokens)
    chunk_size: int = 64  # S: steps per chunk; 512 would match a BERT-sized encoder
    dropout: float = 0.1  # in the chunk encoder

    def __post_init__(self) -> None:
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {self.chunk_size}")
        if self.d_model % 2:
            raise ValueError(f"d_model must be even (two GRU directions), got {self.d_model}")


def chunk_pool(h: Tensor, mask: Tensor) -> Tensor:
    """Max over each chunk's real steps: ``h (B, K, S, D)``, ``mask (B, K, S)`` -> ``(B, K, D)``;
    a fully padded chunk gives zeros."""
    pooled = h.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=2)  # (B, K, D)
    return pooled.masked_fill(~mask.any(dim=2, keepdim=True), 0.0)


class HierarchicalBackbone(nn.Module):
    """``(B, L, D) -> (B, L, D)``: chunk encoder, chunk pooling, GRU over chunks."""

    def __init__(self, cfg: HierarchicalConfig):
        super().__init__()
        self.d_out = cfg.d_model
        self.chunk_size = cfg.chunk_size
        encoder_cfg = CNNConfig(cfg.d_model, cfg.n_layers, cfg.kernel_size, cfg.dropout)
        self.encoder = CNNBackbone(encoder_cfg, causal=False)
        self.across = nn.GRU(cfg.d_model, cfg.d_model // 2, batch_first=True,
                             bidirectional=True)

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        batch, length, width = h.shape
        s = self.chunk_size
        k = -(-length // s)  # ceil
        if mask is None:
            mask = torch.ones(batch, length, dtype=torch.bool, device=h.device)
        pad = k * s - length
        h = nn.functional.pad(h, (0, 0, 0, pad))  # (B, K*S, D)
        mask = nn.functional.pad(mask, (0, pad), value=False)  # (B, K*S)
        chunk_mask = mask.view(batch * k, s)
        # Fully padded chunks still go through the encoder (their outputs are discarded):
        # one batched call is faster than gathering the real chunks.
        local = self.encoder(h.view(batch * k, s, width), chunk_mask)  # (B*K, S, D)
        local = local.view(batch, k, s, width)
        chunks = chunk_pool(local, mask.view(batch, k, s))  # (B, K, D)
        n_chunks = mask.view(batch, k, s)[:, :, 0].sum(dim=1).clamp(min=1)  # (B,)
        context = masked_rnn(self.across, chunks, n_chunks)  # (B, K, D), zeros past the last
        out = local + context.unsqueeze(2)  # (B, K, S, D): token feature + its chunk's context
        return out.reshape(batch, k * s, width)[:, :length]  # (B, L, D)


@register_model(
    ModelCard(
        name="hierarchical",
        family="hierarchical",
        year=2016,
        time_complexity="O(L)",
        memory_complexity="O(L)",
        causal=False,
        streaming=False,
        max_len=None,
        summary="Long documents in chunks: a 1-D CNN encodes each chunk, a bidirectional GRU "
        "aggregates the chunk vectors.",
        paper="Yang et al. 2016, Hierarchical Attention Networks for Document Classification",
    ),
    HierarchicalConfig,
    width_multiple=2,
)
def hierarchical(spec: ModelSpec, cfg: HierarchicalConfig) -> SequenceModel:
    return SequenceModel(spec, cfg.d_model, HierarchicalBackbone(cfg), pooling="mean")
