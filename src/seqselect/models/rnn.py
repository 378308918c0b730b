"""Recurrent networks: Elman RNN, LSTM, GRU and BiLSTM on torch's fused modules.

Symbols: B batch, L length, D model width (hidden size per direction), N layers.

Masks: padded steps never reach a real step's output, and the last real state is exact
(:mod:`seqselect.models.masked_rnn`: packed batches on CUDA, the padded tensor on CPU,
where oneDNN's fused kernel takes no packed batch).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from seqselect.models.base import ModelSpec, SequenceModel
from seqselect.models.masked_rnn import masked_rnn
from seqselect.models.registry import ModelCard, register_model


@dataclass
class RNNConfig:
    d_model: int = 128  # hidden size per direction; params= searches it
    n_layers: int = 2  # stacked layers; the guide's example uses 2
    dropout: float = 0.0  # between stacked layers (torch applies none after the last)


_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RecurrentBackbone(nn.Module):
    """A fused multi-layer RNN: ``(B, L, D) -> (B, L, d_out)``, ``d_out = D * directions``."""

    def __init__(self, cell: str, cfg: RNNConfig, bidirectional: bool = False):
        super().__init__()
        self.cell = cell
        kwargs = {"nonlinearity": "tanh"} if cell == "rnn" else {}
        self.rnn = _CELLS[cell](
            cfg.d_model,
            cfg.d_model,
            num_layers=cfg.n_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=cfg.dropout if cfg.n_layers > 1 else 0.0,
            **kwargs,
        )
        self.d_out = cfg.d_model * (2 if bidirectional else 1)

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        if mask is None:
            out, _ = self.rnn(h)  # (B, L, d_out)
            return out
        return masked_rnn(self.rnn, h, mask.sum(dim=1))  # (B, L, d_out), zeros at padding

    def init_state(self, batch_size: int, device, dtype):
        """Zero hidden state ``(N, B, D)`` (and cell state for LSTM)."""
        zeros = torch.zeros(
            self.rnn.num_layers, batch_size, self.rnn.hidden_size, device=device, dtype=dtype
        )
        return (zeros, zeros.clone()) if self.cell == "lstm" else zeros

    def step(self, h_t: Tensor, state):
        """``h_t: (B, D)`` -> ``((B, D), state)``: one step of the same fused module."""
        out, state = self.rnn(h_t.unsqueeze(1), state)  # (B, 1, D)
        return out.squeeze(1), state


def _recurrent(cell: str, bidirectional: bool = False):
    def build(spec: ModelSpec, cfg: RNNConfig) -> SequenceModel:
        backbone = RecurrentBackbone(cell, cfg, bidirectional)
        # Unidirectional: the last real step has seen the whole sequence. Bidirectional:
        # no single step has, so average the real steps.
        pooling = "mean" if bidirectional else "last"
        return SequenceModel(spec, cfg.d_model, backbone, pooling)

    return build


_RNN_COMMON = dict(
    time_complexity="O(L)",
    memory_complexity="O(L)",
    max_len=None,
)

register_model(
    ModelCard(
        name="rnn",
        family="rnn",
        year=1990,
        causal=True,
        streaming=True,
        requires_causal=True,
        summary="Elman RNN: the historical baseline; vanishing gradients, never for production.",
        paper="Elman 1990, Finding Structure in Time",
        **_RNN_COMMON,
    ),
    RNNConfig,
)(_recurrent("rnn"))

register_model(
    ModelCard(
        name="lstm",
        family="rnn",
        year=1997,
        causal=True,
        streaming=True,
        requires_causal=True,
        summary="LSTM: gated recurrence; small data, short sequences, edge; sequential in L.",
        paper="Hochreiter & Schmidhuber 1997, Long Short-Term Memory",
        **_RNN_COMMON,
    ),
    RNNConfig,
)(_recurrent("lstm"))

register_model(
    ModelCard(
        name="gru",
        family="rnn",
        year=2014,
        causal=True,
        streaming=True,
        requires_causal=True,
        summary="GRU: two gates instead of three; fewer parameters than LSTM, similar accuracy.",
        paper="Cho et al. 2014, Learning Phrase Representations using RNN Encoder-Decoder",
        **_RNN_COMMON,
    ),
    RNNConfig,
)(_recurrent("gru"))

register_model(
    ModelCard(
        name="bilstm",
        family="rnn",
        year=1997,
        causal=False,
        streaming=False,
        summary="Bidirectional LSTM: reads both ways; strong on short text, 2x the inference cost.",
        paper="Schuster & Paliwal 1997, Bidirectional Recurrent Neural Networks",
        **_RNN_COMMON,
    ),
    RNNConfig,
)(_recurrent("lstm", bidirectional=True))
