"""Temporal Convolutional Network (Bai, Kolter & Koltun 2018), optional WaveNet gating.

Symbols: B batch, L length, C channels (= D, the model width), K kernel size,
d dilation, N levels.

A level is a residual block of two weight-normalised dilated convolutions with dilation
2^i, so N levels see ``1 + 2 (K - 1) (2^N - 1)`` steps (the receptive field). Causal
convolutions pad on the left only; the non-causal variant centres the kernel.
Streaming keeps, per convolution, the last ``(K - 1) d`` inputs.

Long series (sequence-level, non-causal; ``patch`` set by the bake-off's recipe): the
levels run over learned patches of ``patch`` steps (:mod:`seqselect.models.patching`), so
an epoch costs ``patch`` times less and fewer levels cover the sequence. On ACSF1 (1,460
steps) a TCN with 8 levels over every step got 31 epochs in its 14 s share and tested
0.40-0.58 (issue 13).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize

from seqselect.models.base import ModelSpec, SequenceModel, step_layers
from seqselect.models.patching import PatchEmbed, patch_size
from seqselect.models.registry import ModelCard, register_model


@dataclass
class TCNConfig:
    d_model: int = 64  # channels at every level; params= searches it
    n_layers: int = 4  # levels; level i has dilation 2^i
    kernel_size: int = 3  # taps per convolution (Bai et al. use 2-8)
    dropout: float = 0.0  # after each activation, as in the paper
    gated: bool = False  # WaveNet gated activation tanh(a) * sigmoid(b) instead of ReLU
    use_weight_norm: bool = True  # the paper's weight normalisation
    # Bai et al.'s head reads the last block directly; a LayerNorm there slowed the adding
    # problem at T=200 from solved (MSE 1e-4) to stuck at the constant predictor's 0.16
    # within the same 3,000 steps (benchmarks/reproduce_bai.py).
    final_norm: bool = False
    # long series, sequence-level and non-causal only: the levels run over learned patches
    # of this many steps (:mod:`seqselect.models.patching`); the recipe sets it
    patch: int | None = None

    def __post_init__(self) -> None:
        if self.kernel_size < 1:
            raise ValueError(f"kernel_size must be >= 1, got {self.kernel_size}")


def receptive_field(kernel_size: int, n_levels: int, convs_per_level: int = 2) -> int:
    """Steps one output sees: ``1 + convs (K - 1) (2^N - 1)``."""
    return 1 + convs_per_level * (kernel_size - 1) * (2**n_levels - 1)


class _WeightNorm(nn.Module):
    """``w = g v / ||v||`` per output channel (Salimans & Kingma 2016).

    The same parametrization as ``torch.nn.utils.parametrizations.weight_norm`` (same
    state-dict keys), except that registering it on the meta device computes no norm:
    torch's meta norm is a slow Python decomposition, which made the ``params=`` width
    search (it builds models on the meta device) take seconds per TCN.
    """

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return torch._weight_norm(weight_v, weight_g, 0)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        if weight.is_meta:
            return weight.new_empty(weight.shape[0], *([1] * (weight.dim() - 1))), weight
        return torch.norm_except_dim(weight, 2, 0), weight


def weight_norm(module: nn.Module) -> nn.Module:
    """Weight-normalise ``module.weight`` through ``torch.nn.utils.parametrize``."""
    parametrize.register_parametrization(module, "weight", _WeightNorm(), unsafe=True)
    return module


class TemporalConv(nn.Module):
    """One dilated 1-D convolution over ``(B, C, L)``, causal (left padding) or centred.

    Non-causal inputs are zeroed at padded steps first, so the real outputs equal those of
    the unpadded sequence (which the convolution pads with zeros).
    """

    def __init__(
        self, c_in: int, c_out: int, kernel_size: int, dilation: int, causal: bool, norm: bool
    ):
        super().__init__()
        conv = nn.Conv1d(c_in, c_out, kernel_size, dilation=dilation)
        self.conv = weight_norm(conv) if norm else conv
        self.causal = causal
        self.span = (kernel_size - 1) * dilation  # steps of context besides the current one
        self.dilation = dilation

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """``x: (B, C_in, L)``, ``mask: (B, L)`` -> ``(B, C_out, L)``."""
        if self.causal:
            pad = (self.span, 0)
        else:
            if mask is not None:
                x = x.masked_fill(~mask.unsqueeze(1), 0.0)
            pad = (self.span // 2, self.span - self.span // 2)
        return self.conv(F.pad(x, pad))

    def init_state(self, batch: int, device, dtype) -> Tensor:
        """The last ``span`` inputs ``(B, C_in, span)``, zeros before the stream starts."""
        return torch.zeros(batch, self.conv.in_channels, self.span, device=device, dtype=dtype)

    def step(self, x_t: Tensor, buffer: Tensor) -> tuple[Tensor, Tensor]:
        """``x_t: (B, C_in)`` -> ``((B, C_out), buffer)``: the causal output at this step."""
        window = torch.cat([buffer, x_t.unsqueeze(-1)], dim=-1)  # (B, C_in, span + 1)
        taps = window[:, :, :: self.dilation]  # (B, C_in, K): the dilated taps
        weight = self.conv.weight  # (C_out, C_in, K), weight norm applied
        y = torch.einsum("bik,oik->bo", taps, weight) + self.conv.bias
        return y, window[:, :, 1:]


class TCNBlock(nn.Module):
    """Residual block: (conv -> act -> dropout) x 2, plus the input. ``(B, C, L)`` in and out."""

    def __init__(self, channels: int, dilation: int, causal: bool, cfg: TCNConfig):
        super().__init__()
        width = 2 * channels if cfg.gated else channels  # gating splits into two halves
        conv_args = (cfg.kernel_size, dilation, causal, cfg.use_weight_norm)
        self.conv1 = TemporalConv(channels, width, *conv_args)
        self.conv2 = TemporalConv(channels, width, *conv_args)
        self.gated = cfg.gated
        self.drop = nn.Dropout(cfg.dropout)

    def _act(self, y: Tensor, dim: int) -> Tensor:
        if self.gated:
            a, b = y.chunk(2, dim=dim)
            return torch.tanh(a) * torch.sigmoid(b)
        return torch.relu(y)

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        y = self.drop(self._act(self.conv1(x, mask), dim=1))
        y = self.drop(self._act(self.conv2(y, mask), dim=1))
        return torch.relu(x + y)

    def step(self, x_t: Tensor, state):
        y, s1 = self.conv1.step(x_t, state[0])
        y, s2 = self.conv2.step(self._act(y, dim=-1), state[1])
        return torch.relu(x_t + self._act(y, dim=-1)), (s1, s2)


class TCNBackbone(nn.Module):
    """N residual levels with dilation 2^i: ``(B, L, D) -> (B, L, D)``."""

    def __init__(self, cfg: TCNConfig, causal: bool, per_step: bool = False):
        super().__init__()
        self.d_out = cfg.d_model
        patch = patch_size(cfg.patch, causal, per_step)
        self.patch = None if patch is None else PatchEmbed(cfg.d_model, patch)
        # in steps: a window's level sees receptive_field windows of `patch` steps
        self.receptive_field = receptive_field(cfg.kernel_size, cfg.n_layers) * (patch or 1)
        self.blocks = nn.ModuleList(
            TCNBlock(cfg.d_model, 2**i, causal, cfg) for i in range(cfg.n_layers)
        )

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        # (B, D, L), made contiguous: a transposed view keeps a channels-last layout that
        # oneDNN convolutions and the residual adds run slower on (measured ~15%).
        x = h.transpose(1, 2).contiguous()
        length = x.shape[2]
        if self.patch is not None:  # the model itself takes the fast path (patching.py)
            x, mask = self.patch(x, mask)  # (B, D, W)
            return self.patch.unpatch(self.forward_patches(x, mask), length).transpose(1, 2)
        return self.forward_patches(x, mask).transpose(1, 2)  # (B, L, D)

    def forward_patches(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """The levels over ``x (B, D, W)`` (steps or patches), mask ``(B, W)`` ->
        ``(B, D, W)``."""
        for block in self.blocks:
            x = block(x, mask)
        return x

    def init_state(self, batch_size: int, device, dtype):
        return [
            (
                b.conv1.init_state(batch_size, device, dtype),
                b.conv2.init_state(batch_size, device, dtype),
            )
            for b in self.blocks
        ]

    def step(self, h_t: Tensor, state):
        return step_layers(self.blocks, h_t, state)


@register_model(
    ModelCard(
        name="tcn",
        family="tcn",
        year=2018,
        time_complexity="O(L)",
        memory_complexity="O(L)",
        causal=True,
        streaming=True,
        max_len=None,
        summary="Dilated causal residual convolutions: parallel training, linear memory, "
        "receptive field 1 + 2(K-1)(2^N-1); strong and fast on time series.",
        paper="Bai, Kolter & Koltun 2018, arXiv:1803.01271",
    ),
    TCNConfig,
)
def tcn(spec: ModelSpec, cfg: TCNConfig) -> SequenceModel:
    pooling = "last" if spec.causal else "mean"
    backbone = TCNBackbone(cfg, spec.causal, per_step=spec.task == "per_step")
    model = SequenceModel(spec, cfg.d_model, backbone, pooling, cfg.final_norm)
    model.receptive_field = model.backbone.receptive_field
    return model
