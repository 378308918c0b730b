"""CRNN: a convolutional front-end over log-mel frames, then a BiLSTM (the guide's
"CNN + BiLSTM" for spectrograms; Choi et al. 2017, arXiv:1609.04243).

Symbols: B batch, L samples, T frames, F features per frame (C * M mel bands),
D model width (LSTM hidden size per direction), K kernel size.

The model takes raw waveforms ``(B, L, C)``; its first layer is the log-mel front-end
(``models/frontend.py``). Convolutions run over time with the frame's features as
channels and do not subsample, so every frame keeps its own output; padded frames are
zeroed before each convolution, which is what the unpadded sequence's zero padding
holds, so padding never changes a real output.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from seqselect.models.base import ModelSpec, zero_padding
from seqselect.models.frontend import FramedModel, LogMelSettings, build_frontend
from seqselect.models.registry import ModelCard, register_model
from seqselect.models.rnn import RecurrentBackbone, RNNConfig


@dataclass
class CRNNConfig:
    d_model: int = 64  # conv channels and LSTM hidden size per direction; params= searches it
    n_conv: int = 2  # convolution layers before the LSTM (Choi et al. use 4 on music)
    kernel_size: int = 3  # frames each convolution sees (3 = 30 ms of context at 10 ms hop)
    n_layers: int = 1  # BiLSTM layers; one suffices on keyword-length clips
    dropout: float = 0.1  # after each convolution
    frontend: str = "logmel"  # "logmel" spectrogram frames, or "waveform" (every sample)
    sample_rate: int = 16_000  # Hz the mel filterbank is laid out for
    n_fft: int = 400  # STFT window: 25 ms at 16 kHz
    hop: int = 160  # STFT hop: 10 ms at 16 kHz
    n_mels: int = 40  # mel bands per channel
    spec_augment: bool = True  # SpecAugment masks while training (never in eval)

    def __post_init__(self) -> None:
        if self.n_conv < 1 or self.kernel_size < 1:
            raise ValueError("n_conv and kernel_size must be >= 1")

    def logmel(self) -> LogMelSettings:
        masks = 2 if self.spec_augment else 0
        return LogMelSettings(self.sample_rate, self.n_fft, self.hop, self.n_mels,
                              freq_masks=masks, time_masks=masks)


class ConvFrames(nn.Module):
    """``n`` same-length 1-D convolutions over frames: ``(B, T, F) -> (B, T, D)``."""

    def __init__(self, d_in: int, d_model: int, n: int, kernel_size: int, dropout: float):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv1d(d_in if i == 0 else d_model, d_model, kernel_size,
                      padding=kernel_size // 2)
            for i in range(n)
        )
        self.trim = 1 - kernel_size % 2  # an even kernel yields one extra step; drop it
        self.drop = nn.Dropout(dropout)

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        for conv in self.convs:
            x = zero_padding(h, mask).transpose(1, 2)  # (B, F, T)
            y = conv(x)[..., : x.shape[-1]]  # (B, D, T)
            h = self.drop(torch.relu(y)).transpose(1, 2)  # (B, T, D)
        return h


class CRNNBackbone(nn.Module):
    """Convolutions then a BiLSTM over frames: ``(B, T, F) -> (B, T, 2D)``."""

    def __init__(self, d_in: int, cfg: CRNNConfig):
        super().__init__()
        self.conv = ConvFrames(d_in, cfg.d_model, cfg.n_conv, cfg.kernel_size, cfg.dropout)
        rnn_cfg = RNNConfig(d_model=cfg.d_model, n_layers=cfg.n_layers)
        self.rnn = RecurrentBackbone("lstm", rnn_cfg, bidirectional=True)
        self.d_out = self.rnn.d_out

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        return self.rnn(self.conv(h, mask), mask)  # packed: padded frames never enter


@register_model(
    ModelCard(
        name="crnn",
        family="cnn-rnn",
        year=2017,
        time_complexity="O(L)",
        memory_complexity="O(L)",
        causal=False,
        streaming=False,
        max_len=None,
        summary="Log-mel front-end, convolutions over frames, then a BiLSTM: the guide's "
        "CNN + BiLSTM for spectrograms (keyword spotting, sound events).",
        paper="Choi, Fazekas, Sandler & Cho 2017, arXiv:1609.04243",
    ),
    CRNNConfig,
)
def crnn(spec: ModelSpec, cfg: CRNNConfig) -> FramedModel:
    frontend = build_frontend(spec, cfg.frontend, cfg.logmel(), cfg.d_model)
    return FramedModel(spec, frontend, CRNNBackbone(frontend.d_features, cfg), "mean")
