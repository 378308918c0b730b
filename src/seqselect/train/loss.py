"""The training loss of each model task.

Symbols: B batch, L length, O outputs (classes for classification).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from seqselect.data.types import IGNORE_INDEX
from seqselect.train.metrics import per_step_targets

__all__ = ["training_loss"]


def training_loss(
    output: Tensor, y: Tensor, mask: Tensor, task: str, *, label_smoothing: float = 0.0
) -> Tensor:
    """Cross-entropy for classes (per step: over real, scored steps), else MSE.

    Args:
        output: ``(B, O)``, or ``(B, L, O)`` for ``per_step``.
        y: ``(B,)`` long classes, ``(B, O)`` real targets, or per step ``(B, L)`` long
            (``IGNORE_INDEX`` = not scored) or ``(B, L, O)`` real.
        mask: ``(B, L)`` bool, True = real step.
        task: the model task, ``classify``, ``regress`` or ``per_step``.
        label_smoothing: of the class targets (classification only; 0: none).

    Returns:
        A scalar tensor.
    """
    if task == "classify":
        return F.cross_entropy(output, y, label_smoothing=label_smoothing)
    if task == "per_step":
        if y.dtype == torch.long:  # (B, L) classes; ignored: padding and IGNORE_INDEX
            target = per_step_targets(y, mask)
            flat_output = output.reshape(-1, output.shape[-1])  # (B * L, O)
            return F.cross_entropy(
                flat_output, target.reshape(-1), ignore_index=IGNORE_INDEX,
                label_smoothing=label_smoothing,
            )
        weights = mask.unsqueeze(-1).to(output.dtype)  # (B, L, 1)
        squared = (output - y) ** 2 * weights  # (B, L, O)
        return squared.sum() / (weights.sum() * output.shape[-1]).clamp(min=1)
    return F.mse_loss(output, y)
