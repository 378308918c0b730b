"""WaveNet: gated dilated causal convolutions with residual and skip connections
(van den Oord et al. 2016, arXiv:1609.03499), as a sequence classifier/regressor on raw
waveforms.

Symbols: B batch, L samples, C residual channels (= D, the model width), S skip
channels, K kernel size, N layers per stack, R stacks.

A layer computes ``z = tanh(W_f * x) . sigmoid(W_g * x)`` with a dilated convolution
(dilation 2^i within a stack, the cycle repeated R times), then a 1x1 convolution back to
the residual stream (``x + W_r z``) and another to the skip stream (``W_s z``). The skips
are summed, passed through ReLU -> 1x1 -> ReLU (the paper's output stack) and read by the
head. The dilated convolution is TCN's :class:`TemporalConv` (same causal padding, the
same streaming buffer), so a stack of N layers sees ``1 + (K - 1)(2^N - 1)`` samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqselect.models.base import ModelSpec, SequenceModel
from seqselect.models.registry import ModelCard, register_model
from seqselect.models.tcn import TemporalConv


@dataclass
class WaveNetConfig:
    d_model: int = 32  # residual channels (the paper's 32-64 at 16 kHz); params= searches it
    n_layers: int = 8  # layers per stack, dilations 1, 2, ..., 2^(n_layers - 1)
    n_stacks: int = 2  # repeats of the dilation cycle (the paper stacks several)
    kernel_size: int = 2  # taps per dilated convolution (the paper uses 2)
    dropout: float = 0.0  # on the gated activation; WaveNet used none

    def __post_init__(self) -> None:
        if self.kernel_size < 1 or self.n_layers < 1 or self.n_stacks < 1:
            raise ValueError("kernel_size, n_layers and n_stacks must be >= 1")


def wavenet_receptive_field(cfg: WaveNetConfig) -> int:
    """Samples one output sees: ``1 + R (K - 1)(2^N - 1)``."""
    return 1 + cfg.n_stacks * (cfg.kernel_size - 1) * (2**cfg.n_layers - 1)


class GatedResidualLayer(nn.Module):
    """One WaveNet layer: ``(B, C, L) -> ((B, C, L) residual out, (B, C, L) skip)``."""

    def __init__(
        self, channels: int, dilation: int, causal: bool, cfg: WaveNetConfig, last: bool
    ):
        super().__init__()
        self.conv = TemporalConv(channels, 2 * channels, cfg.kernel_size, dilation, causal,
                                 norm=False)
        # Only the skips leave the last layer, so it has no residual projection.
        self.residual = None if last else nn.Conv1d(channels, channels, 1)
        self.skip = nn.Conv1d(channels, channels, 1)
        self.drop = nn.Dropout(cfg.dropout)

    @staticmethod
    def _gate(y: Tensor, dim: int) -> Tensor:
        filt, gate = y.chunk(2, dim=dim)
        return torch.tanh(filt) * torch.sigmoid(gate)

    def forward(self, x: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        z = self.drop(self._gate(self.conv(x, mask), dim=1))  # (B, C, L)
        if self.residual is None:
            return x, self.skip(z)
        return x + self.residual(z), self.skip(z)

    def step(self, x_t: Tensor, buffer: Tensor) -> tuple[tuple[Tensor, Tensor], Tensor]:
        """``x_t: (B, C)`` -> ``((residual (B, C), skip (B, C)), buffer)``."""
        y, buffer = self.conv.step(x_t, buffer)
        z = self._gate(y, dim=-1)
        skip = F.linear(z, self.skip.weight[:, :, 0], self.skip.bias)
        if self.residual is None:
            return (x_t, skip), buffer
        res = F.linear(z, self.residual.weight[:, :, 0], self.residual.bias)
        return (x_t + res, skip), buffer


class WaveNetBackbone(nn.Module):
    """R stacks of N gated layers, skips summed: ``(B, L, D) -> (B, L, D)``."""

    def __init__(self, cfg: WaveNetConfig, causal: bool):
        super().__init__()
        self.d_out = cfg.d_model
        self.receptive_field = wavenet_receptive_field(cfg)
        depth = cfg.n_stacks * cfg.n_layers
        self.layers = nn.ModuleList(
            GatedResidualLayer(cfg.d_model, 2 ** (k % cfg.n_layers), causal, cfg,
                               last=k == depth - 1)
            for k in range(depth)
        )
        self.out = nn.Conv1d(cfg.d_model, cfg.d_model, 1)  # ReLU -> 1x1 -> ReLU

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        x = h.transpose(1, 2).contiguous()  # (B, C, L)
        skips = torch.zeros_like(x)
        for layer in self.layers:
            x, skip = layer(x, mask)
            skips = skips + skip
        return torch.relu(self.out(torch.relu(skips))).transpose(1, 2)  # (B, L, D)

    def init_state(self, batch_size: int, device, dtype) -> list[Tensor]:
        return [layer.conv.init_state(batch_size, device, dtype) for layer in self.layers]

    def step(self, h_t: Tensor, state: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """``h_t: (B, D)`` -> ``((B, D), state)``: each layer's buffer of past inputs."""
        skips = torch.zeros_like(h_t)
        buffers = []
        for layer, buffer in zip(self.layers, state, strict=True):
            (h_t, skip), buffer = layer.step(h_t, buffer)
            skips = skips + skip
            buffers.append(buffer)
        out = F.linear(torch.relu(skips), self.out.weight[:, :, 0], self.out.bias)
        return torch.relu(out), buffers


@register_model(
    ModelCard(
        name="wavenet",
        family="tcn",
        year=2016,
        time_complexity="O(L)",
        memory_complexity="O(L)",
        causal=True,
        streaming=True,
        max_len=None,
        summary="Gated dilated causal convolutions with residual and skip connections on raw "
        "waveforms; streams sample by sample with a buffer per layer.",
        paper="van den Oord et al. 2016, WaveNet, arXiv:1609.03499",
    ),
    WaveNetConfig,
)
def wavenet(spec: ModelSpec, cfg: WaveNetConfig) -> SequenceModel:
    pooling = "last" if spec.causal else "mean"
    # No closing LayerNorm: the output stack ends in ReLU, as in the paper.
    model = SequenceModel(spec, cfg.d_model, WaveNetBackbone(cfg, spec.causal), pooling,
                          final_norm=False)
    model.receptive_field = model.backbone.receptive_field
    return model
