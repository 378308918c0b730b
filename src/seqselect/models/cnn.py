"""1-D CNN: the guide's short-text and short-series baseline, as an FCN-style stack
(Wang, Yan & Oates 2017) of convolution -> BatchNorm -> ReLU blocks.

Symbols: B batch, L length, D channels (model width), K kernel size.

Three undilated convolutions with kernels 8, 5, 3 (the FCN's), each followed by a
BatchNorm whose statistics use real steps only (:class:`~seqselect.models.norm.
MaskedBatchNorm1d`) and a ReLU; global average pooling over real steps (``last`` when
causal). Why not the residual conv + GELU + max-pooling stack this family had before:
on ArrowHead (36 training series) it could not fit its training set in 12 s (train
accuracy 0.77, test 0.61) where this stack reached 1.00 / 0.73-0.81; normalisation was
what mattered, and average pooling beat max pooling on GunPoint and BasicMotions
(recipe issue 13). Its receptive field grows only linearly with depth, which is why it
suits short sequences; it reuses the TCN's ``TemporalConv`` for padding, causality and
streaming.

Long series (sequence-level tasks, non-causal): the stack runs on the input averaged over
windows of ``stride`` real steps, ``stride = round(length / pool_to)`` (``pool_to = 256``),
and its features are repeated back to full length before the head's pooling. The stride is
fixed by the first training batch (its longest real sequence) and kept in the state dict
(``backbone.stride``), so evaluation and a reloaded model use the same one; windows start
at step 0 and average real steps only, so padding still never changes a real output.
Why: in a fixed time budget, OSULeaf (427 steps) went from 0.72-0.80 to 0.95-0.96 test
accuracy with stride 2 (more steps per second, a wider receptive field); GunPoint,
JapaneseVowels and BasicMotions (stride 1) are unchanged (recipe issue 13).

With ``patch`` set (the bake-off's recipe sets it to that same stride,
:func:`seqselect.train.recipe.architecture_for`), the windows are embedded by learned
patches (:mod:`seqselect.models.patching`) instead of averaged: averaging blurs the short
spikes that tell ACSF1's appliances apart (1,460 steps, stride 6: 0.61 test accuracy at
60 epochs, 0.78-0.79 with the learned patches at the same speed; OSULeaf unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from seqselect.models.base import ModelSpec, SequenceModel
from seqselect.models.norm import MaskedBatchNorm1d
from seqselect.models.patching import PatchEmbed, patch_size
from seqselect.models.registry import ModelCard, register_model
from seqselect.models.tcn import TemporalConv

FCN_KERNELS = (8, 5, 3)  # Wang et al. 2017


@dataclass
class CNNConfig:
    d_model: int = 64  # channels; params= searches it
    n_layers: int = 3  # conv -> BN -> ReLU blocks
    kernel_size: int | None = None  # one size for every layer; None: 8, 5, 3, then 3
    dropout: float = 0.0  # after each activation; the FCN uses none (BN regularises)
    pool_to: int | None = 256  # long series: average windows down to about this many steps
    # long series: instead of averaging, a learned patch embedding of this many steps
    # (a depthwise convolution, kernel = stride = patch); the recipe sets it from the length
    patch: int | None = None

    def __post_init__(self) -> None:
        if self.kernel_size is not None and self.kernel_size < 1:
            raise ValueError(f"kernel_size must be >= 1, got {self.kernel_size}")
        if self.n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {self.n_layers}")
        if self.patch is not None and self.patch < 1:
            raise ValueError(f"patch must be >= 1, got {self.patch}")

    def kernels(self) -> list[int]:
        """The kernel size of each layer."""
        if self.kernel_size is not None:
            return [self.kernel_size] * self.n_layers
        return [FCN_KERNELS[min(i, len(FCN_KERNELS) - 1)] for i in range(self.n_layers)]


class CNNBackbone(nn.Module):
    """``(B, L, D) -> (B, L, D)``: ``ReLU(BN(conv(h)))`` per layer."""

    def __init__(self, cfg: CNNConfig, causal: bool, per_step: bool = False):
        super().__init__()
        self.d_out = cfg.d_model
        # per-step outputs and causal models keep every step
        self.pool_to = None if causal or per_step else cfg.pool_to
        self.register_buffer("stride", torch.tensor(0))  # 0: not fixed yet
        kernels = cfg.kernels()
        self.receptive_field = 1 + sum(k - 1 for k in kernels)
        self.convs = nn.ModuleList(
            TemporalConv(cfg.d_model, cfg.d_model, k, 1, causal, norm=False) for k in kernels
        )
        self.norms = nn.ModuleList(MaskedBatchNorm1d(cfg.d_model) for _ in kernels)
        self.drop = nn.Dropout(cfg.dropout)
        patch = patch_size(cfg.patch, causal, per_step)
        self.patch = None if patch is None else PatchEmbed(cfg.d_model, patch)

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        x = h.transpose(1, 2).contiguous()  # (B, D, L); contiguous: see tcn.py
        length = x.shape[2]
        if self.patch is not None:  # the model itself takes the fast path (patching.py)
            x, mask = self.patch(x, mask)  # (B, D, W)
            return self.patch.unpatch(self.forward_patches(x, mask), length).transpose(1, 2)
        stride = self._stride(mask, length)
        if stride > 1:
            x, mask = _window_mean(x, mask, stride)  # (B, D, ceil(L / stride))
        x = self.forward_patches(x, mask)
        if stride > 1:
            x = x.repeat_interleave(stride, dim=2)[:, :, :length]  # back to (B, D, L)
        return x.transpose(1, 2)  # (B, L, D)

    def forward_patches(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """The stack over ``x (B, D, W)`` (steps, averaged windows or patches), mask
        ``(B, W)`` -> ``(B, D, W)``."""
        for conv, norm in zip(self.convs, self.norms, strict=True):
            x = self.drop(torch.relu(norm(conv(x, mask), mask)))
        return x

    def _stride(self, mask: Tensor | None, length: int) -> int:
        """The window of the long-series averaging (1: none); fixed by the first training
        batch from its longest real sequence."""
        if self.pool_to is None:
            return 1
        if int(self.stride) == 0 and self.training:
            longest = length if mask is None else int(mask.sum(dim=1).max())
            self.stride.fill_(max(1, round(longest / self.pool_to)))
        return max(1, int(self.stride))

    def init_state(self, batch_size: int, device, dtype):
        return [conv.init_state(batch_size, device, dtype) for conv in self.convs]

    def step(self, h_t: Tensor, state):
        new_state = []
        for conv, norm, buffer in zip(self.convs, self.norms, state, strict=True):
            y, buffer = conv.step(h_t, buffer)
            h_t = torch.relu(norm.step(y))
            new_state.append(buffer)
        return h_t, new_state


def _window_mean(x: Tensor, mask: Tensor | None, stride: int) -> tuple[Tensor, Tensor]:
    """``x: (B, D, L)`` averaged over windows of ``stride`` real steps from step 0 ->
    ``((B, D, W), mask (B, W))`` with ``W = ceil(L / stride)``; a window is real when any
    of its steps is."""
    batch, channels, length = x.shape
    real = (
        torch.ones(batch, length, dtype=x.dtype, device=x.device)
        if mask is None else mask.to(x.dtype)
    )
    extra = -length % stride
    x = torch.nn.functional.pad(x * real.unsqueeze(1), (0, extra))
    real = torch.nn.functional.pad(real, (0, extra))
    windows = length // stride + (extra > 0)
    counts = real.view(batch, windows, stride).sum(dim=-1)  # (B, W)
    sums = x.view(batch, channels, windows, stride).sum(dim=-1)  # (B, D, W)
    return sums / counts.clamp(min=1).unsqueeze(1), counts > 0


@register_model(
    ModelCard(
        name="cnn1d",
        family="cnn",
        year=2017,
        time_complexity="O(L)",
        memory_complexity="O(L)",
        causal=True,
        streaming=True,
        max_len=None,
        summary="FCN-style 1-D CNN (conv-BatchNorm-ReLU x3, kernels 8/5/3, average pooling):"
        " a fast, strong baseline for short series and text.",
        paper="Wang, Yan & Oates 2017, Time Series Classification from Scratch with Deep "
        "Neural Networks: A Strong Baseline (after Kim 2014)",
    ),
    CNNConfig,
)
def cnn1d(spec: ModelSpec, cfg: CNNConfig) -> SequenceModel:
    pooling = "last" if spec.causal else "mean"
    backbone = CNNBackbone(cfg, spec.causal, per_step=spec.task == "per_step")
    return SequenceModel(spec, cfg.d_model, backbone, pooling, False)
