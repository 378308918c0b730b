"""Learned patches for long series: a depthwise convolution with kernel = stride = P cuts
``(B, D, L)`` into ``W = ceil(L / P)`` windows from step 0 and embeds each, so a
convolutional stack runs over W windows instead of L steps (the cost of an epoch falls
P-fold), then its features go back to full length for the head's masked pooling.

Symbols: B batch, D channels (model width), L steps, P patch size, W windows.

Depthwise (D filters of P steps): after the model's input projection a full D x D x P
convolution reads one input channel as a rank-1 mix, so on univariate input it is no
more expressive, and its D^2 P weights (76k at P = 62) would crowd out the stack at a
matched parameter count. Used by ``cnn1d`` and ``tcn`` on sequence-level, non-causal
tasks; the bake-off's recipe sets P (:func:`seqselect.train.recipe.architecture_for`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["PatchEmbed", "patch_size"]


def patch_size(patch: int | None, causal: bool, per_step: bool) -> int | None:
    """The patch size a backbone uses: None for causal or per-step models (every step is
    an output there) and for ``patch`` of 1 or None."""
    return None if causal or per_step or (patch or 1) <= 1 else int(patch)


class PatchEmbed(nn.Module):
    """``(B, D, L), mask (B, L) -> (B, D, W), mask (B, W)``; :meth:`unpatch` goes back."""

    def __init__(self, channels: int, patch: int):
        super().__init__()
        self.patch = patch
        self.embed = nn.Conv1d(channels, channels, patch, stride=patch, groups=channels)

    def forward(self, x: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """Padded steps are zeroed and the last window zero-filled, so a real window reads
        the same numbers however much padding follows; a window is real when any of its
        steps is."""
        batch, _, length = x.shape
        real = (
            torch.ones(batch, length, dtype=x.dtype, device=x.device)
            if mask is None else mask.to(x.dtype)
        )
        extra = -length % self.patch
        x = torch.nn.functional.pad(x * real.unsqueeze(1), (0, extra))
        real = torch.nn.functional.pad(real, (0, extra))
        windows = real.view(batch, -1, self.patch).amax(dim=-1) > 0  # (B, W)
        return self.embed(x), windows

    def unpatch(self, x: Tensor, length: int) -> Tensor:
        """``(B, D, W) -> (B, D, L)``: step s reads window ``s // P``."""
        return x.repeat_interleave(self.patch, dim=2)[:, :, :length]
