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

The fast path (:meth:`PatchEmbed.from_input`): the model's input projection is linear and
the patch embedding is linear per channel, so the two compose into one map from a raw
window of ``P x C`` inputs to D features. The model calls it instead of projecting every
step to D channels and patching that: no ``(B, L, D)`` tensor is made before the stack.
The same parameters are used, so the result equals :meth:`PatchEmbed.forward` of the
projection to round-off (tested against it).
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
        real, steps = self._real_steps(mask, x.shape[0], x.shape[2], x)  # (B, L), (B, W, P)
        x = torch.nn.functional.pad(x * real.unsqueeze(1), (0, -x.shape[2] % self.patch))
        return self.embed(x), steps.amax(dim=-1) > 0  # (B, D, W), (B, W)

    def _real_steps(
        self, mask: Tensor | None, batch: int, length: int, like: Tensor
    ) -> tuple[Tensor, Tensor]:
        """1 on real steps, 0 on padding: ``(B, L)``, and per window ``(B, W, P)`` with the
        last window's zero-filled end counted as padding."""
        real = (
            torch.ones(batch, length, dtype=like.dtype, device=like.device)
            if mask is None else mask.to(like.dtype)
        )
        steps = torch.nn.functional.pad(real, (0, -length % self.patch))
        return real, steps.view(batch, -1, self.patch)

    def from_input(
        self, x: Tensor, mask: Tensor | None, proj: nn.Linear
    ) -> tuple[Tensor, Tensor]:
        """``x (B, L, C)`` raw inputs, mask ``(B, L)`` -> ``(B, D, W)`` and each window's
        real steps ``(B, W)`` (float; > 0 is :meth:`forward`'s window mask): the windows
        :meth:`forward` gives for ``proj(x)``.

        Window w of channel d is ``sum_p k[d,p] m[p] (x[p] . W[d] + b[d]) + c[d]``
        (``W, b``: the projection; ``k, c``: the patch filter; ``m``: 1 on real steps, 0 on
        padding and on the zero-filled end of the last window), so it is the windows'
        ``P*C`` inputs times a ``(P*C, D)`` matrix, plus the windows' real-step mask
        ``(B, W, P)`` times ``b[d] k[d, p]``.
        """
        batch, length, channels = x.shape
        size = self.patch
        per_step, real = self._real_steps(mask, batch, length, x)  # (B, L), (B, W, P)
        if mask is not None:  # (B, L, C) is small: zeroing its padding again costs nothing
            x = x * per_step.unsqueeze(-1)
        windows = torch.nn.functional.pad(x, (0, 0, 0, -length % size))
        windows = windows.reshape(batch, -1, size * channels)  # (B, W, P*C): p major, c minor
        kernel = self.embed.weight.squeeze(1)  # (D, P)
        fused = kernel.unsqueeze(2) * proj.weight.unsqueeze(1)  # (D, P, C)
        out = windows @ fused.reshape(fused.shape[0], -1).t()  # (B, W, D)
        if proj.bias is not None:
            out = out + real @ (kernel * proj.bias.unsqueeze(1)).t()  # (B, W, P) @ (P, D)
        out = out + self.embed.bias
        return out.transpose(1, 2).contiguous(), real.sum(dim=-1)  # (B, D, W), (B, W)

    def unpatch(self, x: Tensor, length: int) -> Tensor:
        """``(B, D, W) -> (B, D, L)``: step s reads window ``s // P``."""
        return x.repeat_interleave(self.patch, dim=2)[:, :, :length]

    def unpatch_last(self, x: Tensor, length: int) -> Tensor:
        """``(B, W, D) -> (B, L, D)`` (channels last): step s reads window ``s // P``."""
        return x.repeat_interleave(self.patch, dim=1)[:, :length]

