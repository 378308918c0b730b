"""Whole-split evaluation: every example scored (the last partial batch included).

Symbols: B batch, L length, C channels, O outputs (classes for classification),
M scored entries.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from seqselect.data.types import IGNORE_INDEX, SequenceData
from seqselect.system import resolve_device
from seqselect.train.metrics import classification_metrics, per_step_targets, regression_metrics
from seqselect.vocabulary import TRAIN_TASKS, model_task_for

__all__ = ["DeviceBatch", "evaluate", "model_task_of", "to_device"]


class DeviceBatch(NamedTuple):
    """A batch on the device the model runs on."""

    x: Tensor  # (B, L, C) float, or (B, L) long tokens
    model_mask: Tensor | None  # (B, L) bool, or None when no step is padded (fast paths)
    mask: Tensor  # (B, L) bool, True = real step; always given, for losses and metrics
    y: Tensor  # (B,) long classes, (B, O) real targets, or per step (B, L) / (B, L, O)


def to_device(batch: SequenceData, device: torch.device) -> DeviceBatch:
    """Move ``batch`` to ``device``; the model sees no mask when nothing is padded."""
    mask = batch.mask.to(device, non_blocking=True)
    model_mask = None if bool(batch.mask.all()) else mask
    return DeviceBatch(
        batch.x.to(device, non_blocking=True),
        model_mask,
        mask,
        batch.y.to(device, non_blocking=True),
    )


def model_task_of(task: str) -> str:
    """The model task (``classify``, ``regress``, ``per_step``) a trainer task word means.

    Raises:
        ValueError: a word that is not in ``seqselect.vocabulary.TRAIN_TASKS``.
    """
    if task not in TRAIN_TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TRAIN_TASKS)}")
    return "per_step" if task == "per_step" else model_task_for(task)


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    data: SequenceData,
    task: str,
    *,
    batch_size: int = 256,
    device: str | torch.device | None = "cpu",
) -> dict[str, float]:
    """Metrics of ``model`` on every example of ``data`` (the last partial batch included).

    Args:
        model: ``forward(x, mask=None)`` -> ``(B, O)``, or ``(B, L, O)`` for ``per_step``.
        task: ``classify``, ``regress``, ``forecast`` or ``per_step`` (the model's task).
        device: where to run; None = where the model's parameters are.

    Returns:
        classify: ``accuracy``, ``macro_f1``, ``cross_entropy``; per-step classification
        the same over every scored step, plus ``n_steps`` and ``sequence_accuracy`` (all
        steps right); regress/forecast (and per-step real targets): ``mse``, ``mae``.
        Always ``n``, the number of sequences evaluated.
    """
    task = model_task_of(task)
    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
    else:
        device = resolve_device(device)
    n_sequences = len(data)
    was_training = model.training
    model.eval()
    model.to(device)
    outputs, targets, sequences_right = [], [], []
    try:
        for start in range(0, n_sequences, batch_size):  # ceil(n / batch_size): none dropped
            batch = data.subset(torch.arange(start, min(start + batch_size, n_sequences)))
            scored = _scored_outputs(model, to_device(batch, device), task)
            outputs.append(scored[0])
            targets.append(scored[1])
            if scored[2] is not None:
                sequences_right.append(scored[2])
    finally:
        model.train(was_training)
    if n_sequences == 0:
        return _empty_metrics(task, data)
    output, target = torch.cat(outputs), torch.cat(targets)
    if task == "classify" or (task == "per_step" and target.dtype == torch.long):
        metrics = classification_metrics(output, target)
        if task == "per_step":
            metrics["n_steps"] = metrics["n"]
            metrics["sequence_accuracy"] = float(torch.cat(sequences_right).double().mean())
    else:
        metrics = regression_metrics(output, target)
    metrics["n"] = n_sequences
    return metrics


def _scored_outputs(
    model: nn.Module, batch: DeviceBatch, task: str
) -> tuple[Tensor, Tensor, Tensor | None]:
    """``(outputs (M, O), targets (M,) or (M, O), all-steps-right (B,) or None)`` on CPU.

    Per-step tasks keep only the scored steps (real, and for classes not ``IGNORE_INDEX``);
    the third item is given for per-step classification only.
    """
    output = model(batch.x, mask=batch.model_mask).float()  # (B, O) or (B, L, O)
    if task == "per_step" and batch.y.dtype == torch.long:
        target = per_step_targets(batch.y, batch.mask)  # (B, L)
        scored = target != IGNORE_INDEX  # (B, L)
        right = (output.argmax(dim=-1) == target) | ~scored  # (B, L)
        return output[scored].cpu(), target[scored].cpu(), right.all(dim=1).cpu()
    if task == "per_step":
        return output[batch.mask].cpu(), batch.y[batch.mask].cpu(), None
    return output.cpu(), batch.y.cpu(), None


def _empty_metrics(task: str, data: SequenceData) -> dict[str, float]:
    """The metric names of ``task`` with NaN values and ``n = 0``."""
    if task == "regress" or (task == "per_step" and data.y.dtype != torch.long):
        return regression_metrics(torch.zeros(0), torch.zeros(0))
    return classification_metrics(torch.zeros(0, 1), torch.zeros(0, dtype=torch.long))
