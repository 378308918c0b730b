"""Metrics over a whole split: accuracy, macro-F1, cross-entropy, MSE, MAE.

Leaderboards rank by one "task metric" per task (:func:`task_metric`): accuracy for
classification (higher is better, including per-step classification), MSE for regression
and forecasting (lower is better). Regression metrics are in the units of the targets as
the dataset gives them: loaders standardise real targets with training statistics, so an
MSE of 1.0 equals predicting the training mean.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from seqselect.data.types import IGNORE_INDEX

#: task -> (metric name, higher is better)
TASK_METRICS: dict[str, tuple[str, bool]] = {
    "classify": ("accuracy", True),
    "per_step": ("accuracy", True),
    "regress": ("mse", False),
    "forecast": ("mse", False),
}


def task_metric(task: str) -> tuple[str, bool]:
    """``(name, higher_is_better)`` of the leaderboard metric for ``task``."""
    if task not in TASK_METRICS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASK_METRICS)}")
    return TASK_METRICS[task]


def better(a: float, b: float | None, higher_is_better: bool) -> bool:
    """Is ``a`` strictly better than ``b`` (None = nothing yet)?"""
    if b is None:
        return True
    return a > b if higher_is_better else a < b


def macro_f1(pred: Tensor, target: Tensor, n_classes: int | None = None) -> float:
    """Unweighted mean of per-class F1 over the classes present in ``target`` or ``pred``
    (scikit-learn's ``f1_score(average="macro")`` with its default labels)."""
    k = int(n_classes or (int(max(pred.max(), target.max())) + 1 if len(target) else 1))
    conf = torch.bincount(target * k + pred, minlength=k * k).reshape(k, k).double()
    tp = conf.diag()
    support = conf.sum(dim=1)  # true count per class
    predicted = conf.sum(dim=0)
    present = (support + predicted) > 0
    denom = support + predicted
    f1 = torch.where(denom > 0, 2 * tp / denom.clamp(min=1), torch.zeros_like(tp))
    return float(f1[present].mean()) if bool(present.any()) else 0.0


def classification_metrics(logits: Tensor, target: Tensor) -> dict[str, float]:
    """``logits: (M, K)``, ``target: (M,)`` long (already without ignored entries)."""
    if len(target) == 0:
        return {"accuracy": float("nan"), "macro_f1": float("nan"), "cross_entropy": float("nan"), "n": 0}
    logits = logits.float()
    pred = logits.argmax(dim=-1)
    return {
        "accuracy": float((pred == target).double().mean()),
        "macro_f1": macro_f1(pred, target, logits.shape[-1]),
        "cross_entropy": float(F.cross_entropy(logits, target, reduction="mean")),
        "n": len(target),
    }


def regression_metrics(pred: Tensor, target: Tensor) -> dict[str, float]:
    """``pred`` and ``target`` of one shape ``(M, O)``; errors averaged over all entries."""
    if target.numel() == 0:
        return {"mse": float("nan"), "mae": float("nan"), "n": 0}
    diff = pred.double() - target.double()
    return {"mse": float((diff**2).mean()), "mae": float(diff.abs().mean()), "n": int(target.shape[0])}


def per_step_targets(y: Tensor, mask: Tensor) -> Tensor:
    """Per-step class targets with padded steps set to ``IGNORE_INDEX``."""
    return y.masked_fill(~mask, IGNORE_INDEX)
