"""Metrics over a whole split: accuracy, macro-F1, cross-entropy, MSE, MAE.

Symbols: M scored entries (sequences, or scored steps), K classes, O outputs.

Leaderboards rank by one "task metric" per task (``seqselect.vocabulary.task_metric``):
accuracy for classification (higher is better, including per-step classification), MSE for
regression and forecasting (lower is better). Regression metrics are in the units of the
targets as the dataset gives them: loaders standardise real targets with training
statistics, so an MSE of 1.0 equals predicting the training mean.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from seqselect.data.types import IGNORE_INDEX

__all__ = [
    "classification_metrics",
    "is_better",
    "macro_f1",
    "per_step_targets",
    "regression_metrics",
]


def is_better(candidate: float, incumbent: float | None, higher_is_better: bool) -> bool:
    """Is ``candidate`` strictly better than ``incumbent`` (None = nothing yet)?"""
    if incumbent is None:
        return True
    return candidate > incumbent if higher_is_better else candidate < incumbent


def macro_f1(pred: Tensor, target: Tensor, n_classes: int | None = None) -> float:
    """Unweighted mean of per-class F1 over the classes present in ``target`` or ``pred``
    (scikit-learn's ``f1_score(average="macro")`` with its default labels).

    Args:
        pred, target: ``(M,)`` long class indices.
        n_classes: K; None (or 0) = one more than the largest index seen.
    """
    if not n_classes:
        n_classes = int(max(pred.max(), target.max())) + 1 if len(target) else 1
    confusion = torch.bincount(target * n_classes + pred, minlength=n_classes**2)
    confusion = confusion.reshape(n_classes, n_classes).double()  # (K true, K predicted)
    true_positives = confusion.diag()
    support = confusion.sum(dim=1)  # true count per class
    predicted = confusion.sum(dim=0)
    denominator = support + predicted
    present = denominator > 0
    f1 = torch.where(
        present, 2 * true_positives / denominator.clamp(min=1), torch.zeros_like(true_positives)
    )
    return float(f1[present].mean()) if bool(present.any()) else 0.0


def classification_metrics(logits: Tensor, target: Tensor) -> dict[str, float]:
    """Accuracy, macro-F1, mean cross-entropy and the count ``n``.

    Args:
        logits: ``(M, K)``.
        target: ``(M,)`` long, already without ignored entries.
    """
    if len(target) == 0:
        nan = float("nan")
        return {"accuracy": nan, "macro_f1": nan, "cross_entropy": nan, "n": 0}
    logits = logits.float()
    pred = logits.argmax(dim=-1)  # (M,)
    return {
        "accuracy": float((pred == target).double().mean()),
        "macro_f1": macro_f1(pred, target, logits.shape[-1]),
        "cross_entropy": float(F.cross_entropy(logits, target, reduction="mean")),
        "n": len(target),
    }


def regression_metrics(pred: Tensor, target: Tensor) -> dict[str, float]:
    """MSE and MAE averaged over every entry, and the count ``n`` of rows.

    Args:
        pred, target: one shape, ``(M, O)`` (or ``(M,)``).
    """
    if target.numel() == 0:
        return {"mse": float("nan"), "mae": float("nan"), "n": 0}
    error = pred.double() - target.double()
    return {
        "mse": float((error**2).mean()),
        "mae": float(error.abs().mean()),
        "n": int(target.shape[0]),
    }


def per_step_targets(y: Tensor, mask: Tensor) -> Tensor:
    """Per-step class targets ``(B, L)`` with padded steps set to ``IGNORE_INDEX``.

    Args:
        y: ``(B, L)`` long; ``mask``: ``(B, L)`` bool, True = real step.
    """
    return y.masked_fill(~mask, IGNORE_INDEX)
