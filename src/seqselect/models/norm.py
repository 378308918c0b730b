"""Normalisation layers that padding cannot reach.

Symbols: B batch, C channels, L length.

:class:`MaskedBatchNorm1d` is BatchNorm over ``(B, C, L)`` whose training statistics
average real steps only, so padding never changes a real output, in training or in
evaluation. In evaluation it applies the running statistics, a fixed per-channel affine
map, so it is also causal and streams step by step (:meth:`MaskedBatchNorm1d.step`).
In training the batch statistics pool every real step of the batch (past and future),
as BatchNorm does; causality is a property of the evaluated model.

Why BatchNorm and not LayerNorm over channels: on small UCR sets an FCN-like stack with
this BatchNorm fitted and generalised where per-step LayerNorm lost 6-20 points (ArrowHead
0.73 vs 0.65, ACSF1 0.76 vs 0.54, 12 s runs) and no normalisation could not fit
ArrowHead's 36 training series at all (recipe issue 13).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["MaskedBatchNorm1d"]


class MaskedBatchNorm1d(nn.Module):
    """``(B, C, L)`` -> ``(B, C, L)``: BatchNorm with statistics over real steps only.

    The state-dict keys are BatchNorm1d's (``weight bias running_mean running_var
    num_batches_tracked``). Statistics are computed in float32 under autocast (float64
    inputs stay float64).
    """

    #: take torch's fused kernel where every step is real (False: our formulas, its twin)
    fused: bool = True

    def __init__(self, channels: int, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """``x: (B, C, L)``, ``mask: (B, L)`` bool (True = real; None: all real)."""
        if not self.training:
            return self._affine(x, self.running_mean, self.running_var)
        if self.fused and mask is None and x.element_size() >= 4 and x.shape[0] * x.shape[2] > 1:
            # Every step real, float32/64: torch's fused kernel computes the same statistics
            # and running-average update in one pass (our formulas were ~15% of a cnn1d
            # step at OSULeaf's shape; benchmarks/norm_optim_step_speed.py). The masked
            # path below is its twin (tests/models/test_norm.py). One value per channel:
            # torch refuses; we do not.
            self.num_batches_tracked += 1
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight,
                                self.bias, True, self.momentum, self.eps)
        # bf16/fp16 under autocast: statistics in float32; float64 stays float64
        xf = x.float() if x.element_size() < 4 else x
        if mask is None:
            count = torch.tensor(float(xf.shape[0] * xf.shape[2]), device=x.device)
            mean = xf.mean(dim=(0, 2))
            var = ((xf - mean[None, :, None]) ** 2).mean(dim=(0, 2))
        else:
            weights = mask.unsqueeze(1).to(xf.dtype)  # (B, 1, L)
            count = weights.sum().clamp(min=1)
            mean = (xf * weights).sum(dim=(0, 2)) / count
            var = (((xf - mean[None, :, None]) ** 2) * weights).sum(dim=(0, 2)) / count
        with torch.no_grad():
            unbiased = var * count / (count - 1).clamp(min=1)
            stats = self.running_mean.dtype
            self.running_mean.lerp_(mean.detach().to(stats), self.momentum)
            self.running_var.lerp_(unbiased.detach().to(stats), self.momentum)
            self.num_batches_tracked += 1
        return self._affine(xf, mean, var).to(x.dtype)

    def _affine(self, x: Tensor, mean: Tensor, var: Tensor) -> Tensor:
        scale = self.weight * torch.rsqrt(var + self.eps)  # (C,)
        shift = self.bias - mean * scale
        return x * scale[None, :, None].to(x.dtype) + shift[None, :, None].to(x.dtype)

    def step(self, x_t: Tensor) -> Tensor:
        """``x_t: (B, C)`` -> ``(B, C)`` with the running statistics (evaluation only)."""
        return self._affine(x_t.unsqueeze(-1), self.running_mean, self.running_var)[..., 0]
