"""Conv-Transformer: strided convolutional subsampling of log-mel frames, then a
Transformer encoder (the guide's "CNN + Transformer" for spectrograms; the subsampling
of Dong et al. 2018, Speech-Transformer, and Gulati et al. 2020, Conformer).

Symbols: B batch, L samples, T frames, T' = ceil(T / 2^S) subsampled frames, S strided
convolutions, F features per frame, D model width, H heads.

Each strided convolution (kernel 3, stride 2, padding 1) halves the frame rate, so the
attention runs on T' = T / 4 positions by default. Output j of a layer reads inputs
2j - 1 .. 2j + 1; padded inputs are zeroed first, and j is real when 2j is, so a padded
batch gives the real outputs of each sequence alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from seqselect.models.attention import DenseAttention
from seqselect.models.base import ModelSpec, zero_padding
from seqselect.models.frontend import FramedModel, LogMelSettings, build_frontend
from seqselect.models.registry import ModelCard, register_model
from seqselect.models.transformer import TransformerBackbone


@dataclass
class ConvTransformerConfig:
    d_model: int = 64  # width; params= searches it (in multiples of n_heads)
    n_layers: int = 2  # encoder blocks
    n_heads: int = 4  # attention heads; d_model must divide by it
    dropout: float = 0.1  # on attention and feed-forward outputs (standard 0.1)
    ff_mult: int = 4  # feed-forward width = ff_mult * D (Vaswani et al.)
    n_subsample: int = 2  # stride-2 convolutions: 2 -> 4x fewer positions (Conformer's 40 ms)
    frontend: str = "logmel"  # "logmel" spectrogram frames, or "waveform" (every sample)
    sample_rate: int = 16_000  # Hz the mel filterbank is laid out for
    n_fft: int = 400  # STFT window: 25 ms at 16 kHz
    hop: int = 160  # STFT hop: 10 ms at 16 kHz
    n_mels: int = 40  # mel bands per channel
    spec_augment: bool = True  # SpecAugment masks while training (never in eval)

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}"
            )
        if self.n_subsample < 0:
            raise ValueError(f"n_subsample must be >= 0, got {self.n_subsample}")

    def logmel(self) -> LogMelSettings:
        masks = 2 if self.spec_augment else 0
        return LogMelSettings(self.sample_rate, self.n_fft, self.hop, self.n_mels,
                              freq_masks=masks, time_masks=masks)


def _heads(cfg: ConvTransformerConfig) -> int:
    return cfg.n_heads


class StridedSubsampling(nn.Module):
    """``S`` convolutions of stride 2 with GELU: ``(B, T, F) -> (B, ceil(T / 2^S), D)``."""

    def __init__(self, d_in: int, d_model: int, n: int):
        super().__init__()
        self.proj = nn.Linear(d_in, d_model)  # F -> D before (used alone when S = 0)
        self.convs = nn.ModuleList(
            nn.Conv1d(d_model, d_model, 3, stride=2, padding=1) for _ in range(n)
        )
        self.hop = 2**n

    def forward(self, h: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
        h = self.proj(h)  # (B, T, D)
        for conv in self.convs:
            h = zero_padding(h, mask)
            h = nn.functional.gelu(conv(h.transpose(1, 2))).transpose(1, 2)  # (B, T/2, D)
            if mask is not None:
                mask = mask[:, ::2]  # output j is real when input 2j is
        return h, mask


class ConvTransformerBackbone(nn.Module):
    """Subsampling then a Transformer encoder: ``(B, T, F) -> (B, T', D)``."""

    def __init__(self, d_in: int, cfg: ConvTransformerConfig):
        super().__init__()
        self.subsample = StridedSubsampling(d_in, cfg.d_model, cfg.n_subsample)
        self.encoder = TransformerBackbone(cfg, causal=False, make_core=DenseAttention)
        self.hop = self.subsample.hop
        self.d_out = cfg.d_model

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        h, mask = self.subsample(h, mask)
        return self.encoder(h, mask)


@register_model(
    ModelCard(
        name="conv_transformer",
        family="cnn-transformer",
        year=2018,
        time_complexity="O(L^2)",
        memory_complexity="O(L^2)",
        causal=False,
        streaming=False,
        max_len=None,
        summary="Log-mel front-end, strided convolutions (4x fewer frames), then a "
        "Transformer encoder: the guide's CNN + Transformer for spectrograms and speech.",
        paper="Dong, Xu & Xu 2018, Speech-Transformer (ICASSP); Gulati et al. 2020, "
        "arXiv:2005.08100",
    ),
    ConvTransformerConfig,
    width_multiple=_heads,
)
def conv_transformer(spec: ModelSpec, cfg: ConvTransformerConfig) -> FramedModel:
    frontend = build_frontend(spec, cfg.frontend, cfg.logmel(), cfg.d_model)
    backbone = ConvTransformerBackbone(frontend.d_features, cfg)
    return FramedModel(spec, frontend, backbone, "mean")
