"""Whole-split evaluation: every example scored (the last partial batch included).

Symbols: B batch, L length, C channels, O outputs (classes for classification),
M scored entries; forecasting: N windows, W window steps, H horizon, K target channels.

Forecasting (``task="forecast"``) adds ``mase`` (the leaderboard's metric) and ``smape``
to ``mse``/``mae``, by :func:`seqselect.train.metrics.forecast_metrics`, the definition the
forecasting baselines use too. :func:`evaluate_split` reads what they need (the layout and
the windows' offsets) from the splits' metadata.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from seqselect.data.types import IGNORE_INDEX, DatasetSplits, SequenceData
from seqselect.data.windows import ForecastLayout, window_offsets
from seqselect.system import resolve_device
from seqselect.train.metrics import (
    classification_metrics,
    forecast_metrics,
    per_step_targets,
    regression_metrics,
)
from seqselect.vocabulary import TRAIN_TASKS, model_task_for

__all__ = [
    "DeviceBatch", "evaluate", "evaluate_split", "example_losses", "forecast_layout_of",
    "model_task_of", "to_device",
]


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
    layout: ForecastLayout | None = None,
    offsets: np.ndarray | None = None,
) -> dict[str, float]:
    """Metrics of ``model`` on every example of ``data`` (the last partial batch included).

    Args:
        model: ``forward(x, mask=None)`` -> ``(B, O)``, or ``(B, L, O)`` for ``per_step``.
        task: ``classify``, ``regress``, ``forecast`` or ``per_step`` (the model's task).
        device: where to run; None = where the model's parameters are.
        layout: forecasting only: horizon, target channels, season, offset mode and
            standardisation (None = every channel a target, no season, offsets unknown).
        offsets: forecasting only: ``(N, C)`` each window's subtracted values (for sMAPE on
            the series' values; None = sMAPE is NaN for offset windows).

    Returns:
        classify: ``accuracy``, ``macro_f1``, ``cross_entropy``; per-step classification
        the same over every scored step, plus ``n_steps`` and ``sequence_accuracy`` (all
        steps right); regress (and per-step real targets): ``mse``, ``mae``; forecast:
        ``mse``, ``mae``, ``mase``, ``smape``. Always ``n``, the number of sequences.
    """
    data_task, task = task, model_task_of(task)
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
        metrics = _empty_metrics(task, data)
        if data_task == "forecast":
            metrics.update(mase=float("nan"), smape=float("nan"))
        return metrics
    output, target = torch.cat(outputs), torch.cat(targets)
    if task == "classify" or (task == "per_step" and target.dtype == torch.long):
        metrics = classification_metrics(output, target)
        if task == "per_step":
            metrics["n_steps"] = metrics["n"]
            metrics["sequence_accuracy"] = float(torch.cat(sequences_right).double().mean())
    else:
        metrics = regression_metrics(output, target)
    if data_task == "forecast":
        layout = layout or forecast_layout_of(data, output.shape[-1])
        metrics.update(
            forecast_metrics(output.double().numpy(), target.double().numpy(),
                             data.x.double().numpy(), layout, offsets)
        )
    metrics["n"] = n_sequences
    return metrics


@torch.inference_mode()
def example_losses(
    model: nn.Module,
    data: SequenceData,
    *,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Each sequence's cross-entropy under a sequence classifier, ``(N,)`` float64, in the
    order of ``data``: the terms whose mean is :func:`evaluate`'s ``cross_entropy`` (the
    same float32 forward pass), kept so two models can be compared example by example."""
    device = resolve_device(device)
    was_training = model.training
    model.eval()
    model.to(device)
    losses = []
    try:
        for start in range(0, len(data), batch_size):
            batch = data.subset(torch.arange(start, min(start + batch_size, len(data))))
            output, target, _ = _scored_outputs(model, to_device(batch, device), "classify")
            losses.append(F.cross_entropy(output.float(), target, reduction="none"))  # (B,)
    finally:
        model.train(was_training)
    if not losses:
        return np.zeros(0)
    return torch.cat(losses).double().numpy()


def forecast_layout_of(data: SequenceData, d_output: int) -> ForecastLayout:
    """A layout for windows without metadata: every input channel a target, no season."""
    channels = int(data.x.shape[-1])
    return ForecastLayout(d_output // channels, tuple(range(channels)), None, "last")


def evaluate_split(
    model: nn.Module,
    splits: DatasetSplits,
    split: str,
    *,
    batch_size: int = 256,
    device: str | torch.device | None = "cpu",
) -> dict[str, float]:
    """:func:`evaluate` on ``splits.<split>`` (``"train"``, ``"val"`` or ``"test"``) with
    the task the splits say: a forecasting dataset gets its layout and the windows'
    offsets from the metadata (so ``mase`` and ``smape`` are there); any other, its
    model task."""
    data = getattr(splits, split)
    if splits.task != "forecast":
        return evaluate(model, data, splits.model_task, batch_size=batch_size, device=device)
    layout = ForecastLayout.from_splits(splits)
    return evaluate(
        model, data, "forecast", batch_size=batch_size, device=device, layout=layout,
        offsets=window_offsets(splits.metadata, split, len(data)),
    )


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
