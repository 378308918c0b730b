"""The optimizer of a run: parameter groups from the models' tags, then one of four rules."""

from __future__ import annotations

import torch
from torch import nn

from seqselect.models.optim import param_groups

__all__ = ["OPTIMIZERS", "PARAM_GROUPS_SOURCE", "make_optimizer"]

#: The optimizer names ``train(optimizer=...)`` accepts.
OPTIMIZERS: tuple[str, ...] = ("adamw", "adam", "rmsprop", "sgd")
#: Where the groups come from, recorded in ``TrainResult.param_groups``.
PARAM_GROUPS_SOURCE = "seqselect.models.optim.param_groups"


def make_optimizer(
    name: str, model: nn.Module, *, lr: float, weight_decay: float
) -> torch.optim.Optimizer:
    """``name`` over ``model``'s trainable parameters, grouped by their ``_optim`` tags.

    Raises:
        ValueError: a name not in :data:`OPTIMIZERS`.
    """
    name = name.lower()
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; use adamw, adam, rmsprop or sgd")
    groups = param_groups(model, lr, weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, fused=_can_fuse(model))
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr, fused=_can_fuse(model))
    if name == "rmsprop":  # Bai et al. 2018's copy-memory setting
        return torch.optim.RMSprop(groups, lr=lr)
    return torch.optim.SGD(groups, lr=lr, momentum=0.9)


def _can_fuse(model: nn.Module) -> bool | None:
    """Use torch's fused Adam(W) kernel (one pass over all parameters per step, not a loop
    of a dozen ops per tensor) where it runs: float parameters on CPU or CUDA. On a small
    network the loop was 0.8-1.8 ms of a 9-27 ms CPU step, the kernel 0.13-0.32 ms
    (``benchmarks/norm_optim_step_speed.py``). The same update rule: the loop is its twin
    in ``tests/train/test_optimizer.py``. None: torch's default elsewhere (MPS, XLA)."""
    params = [p for p in model.parameters() if p.requires_grad]
    fusable = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
    return True if params and fusable else None
