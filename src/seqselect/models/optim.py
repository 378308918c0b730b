"""Optimizer parameter groups from per-parameter tags (the state-spaces/s4 convention).

Some parameters want their own hyperparameters. The S4 papers train the state space
parameters (A, B, P, dt) with a learning rate of ``min(0.001, lr)`` and no weight decay
(Gu et al. 2022, appendix; Gu et al. 2022 "On the Parameterization and Initialization of
Diagonal State Space Models"); Mamba excludes ``A_log`` and ``D`` from weight decay
(Gu & Dao 2023, mamba_simple.py). A model marks such a parameter with

    p._optim = {"lr": 1e-3, "weight_decay": 0.0}   # any subset of the keys

and :func:`param_groups` turns the tags into ``torch.optim`` parameter groups.
"""

from __future__ import annotations

from typing import Any

from torch import nn

__all__ = ["param_groups", "tag_parameter"]

_KNOWN_KEYS = ("lr", "weight_decay")


def tag_parameter(p: nn.Parameter, **hparams: float) -> nn.Parameter:
    """Attach optimizer hyperparameters to ``p`` (keys: ``lr``, ``weight_decay``).

    A tagged ``lr`` is a ceiling: the parameter trains at ``min(tag, base lr)``, as the S4
    papers prescribe, so a small base learning rate is never raised.

    Raises:
        ValueError: an unknown key.
    """
    unknown = sorted(set(hparams) - set(_KNOWN_KEYS))
    if unknown:
        raise ValueError(f"unknown optimizer tag(s) {unknown}; known: {_KNOWN_KEYS}")
    p._optim = {**getattr(p, "_optim", {}), **hparams}
    return p


def param_groups(model: nn.Module, lr: float, weight_decay: float) -> list[dict[str, Any]]:
    """Parameter groups for ``torch.optim`` built from the ``_optim`` tags of ``model``.

    Untagged parameters form one group with ``lr`` and ``weight_decay``; tagged ones are
    grouped by their resolved hyperparameters (a tagged ``lr`` is capped at ``lr``; a
    tagged ``weight_decay`` replaces ``weight_decay``). Parameters that do not require
    gradients are left out; every trainable parameter appears exactly once.

    Example::

        opt = torch.optim.AdamW(param_groups(model, lr=3e-3, weight_decay=0.05))
    """
    groups: dict[tuple[float, float], list[nn.Parameter]] = {}
    seen: set[int] = set()
    for p in model.parameters():
        if not p.requires_grad or id(p) in seen:
            continue
        seen.add(id(p))
        tag = getattr(p, "_optim", {})
        p_lr = min(float(tag["lr"]), lr) if "lr" in tag else lr
        p_wd = float(tag.get("weight_decay", weight_decay))
        groups.setdefault((p_lr, p_wd), []).append(p)
    # The untagged group first, so that optimizer.param_groups[0] is the base setting.
    ordered = sorted(groups.items(), key=lambda kv: kv[0] != (lr, weight_decay))
    return [{"params": ps, "lr": g_lr, "weight_decay": g_wd} for (g_lr, g_wd), ps in ordered]
