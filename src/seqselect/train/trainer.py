"""One trainer for every model: budgets, AdamW with tagged parameter groups, clipping,
validation with early stopping, whole-set evaluation, seeds, divergence.

Symbols: B batch, L length, C channels, O outputs.

Protocol (the same for every model, so that results compare):

* ``seed`` seeds Python, NumPy and torch, and a ``torch.Generator`` that alone decides
  the order of training examples. Give ``model`` as a zero-argument callable to have
  it built after seeding, so the seed also fixes the initialisation; the same seed then
  gives the same metrics (on CPU; GPU kernels may add noise).
* the budget (epochs, steps or wall seconds, whichever ends first) counts training
  steps; validation time counts toward a seconds budget, so "60s" means 60 s of wall time.
* validation runs every ``eval_every`` steps (default: once per epoch, but between 10 and
  50 times over a step or epoch budget; with a seconds budget at most every 1/50 of it,
  unless ``eval_every`` is given, and at least every 1/10 of it) and at the end. With
  ``restore_best`` the best state by the task metric on validation (ties: lower validation
  loss) is restored before the test evaluation; by default only when the validation split
  has at least :data:`MIN_RANKING_VAL` (50) sequences: with fewer, one example flips the
  accuracy by 2+ points, so the "best" point is mostly noise, and on small UCR sets it
  restored barely trained early states (issue 13). Otherwise the final weights are tested.
  ``patience`` stops after that many evaluations without improvement.
* the learning rate follows ``lr_schedule`` over the steps the budget plans
  (:mod:`seqselect.train.schedule`; a seconds budget plans them from a throughput probe).
* ``precision`` (:mod:`seqselect.train.precision`): ``auto`` trains under bfloat16
  autocast where that was measured faster and as accurate; the result's
  ``hparams["precision"]`` says which ran.
* evaluation covers every example, including the last partial batch.
* a non-finite training loss ends the run: ``status="diverged"`` with the step.
* on CPU the training loop runs with subnormal floats flushed to zero
  (:func:`flushed_subnormals`).
* the result's ``work`` records what the clock decided (steps, schedule plans, validation
  points, threads); ``replay=`` that record redoes exactly that work, so a seconds-budget
  run can be repeated to the bit in another process (:mod:`seqselect.train.work`).

The pieces: :class:`~seqselect.train.loop.TrainingLoop` (step, validate, should_stop),
:func:`~seqselect.train.evaluate.evaluate`, :func:`~seqselect.train.loss.training_loss`,
:func:`~seqselect.train.optimizer.make_optimizer`; :func:`train` wires them together.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from seqselect.budget import Budget
from seqselect.data.types import DatasetSplits
from seqselect.models.registry import count_parameters
from seqselect.system import resolve_device
from seqselect.train.loop import LoopSettings, TrainingLoop
from seqselect.train.optimizer import PARAM_GROUPS_SOURCE, make_optimizer
from seqselect.train.precision import resolve_precision
from seqselect.train.progress import training_progress
from seqselect.train.result import TrainResult
from seqselect.train.work import WorkRecord

__all__ = ["MIN_RANKING_VAL", "resolve_restore_best", "seed_everything", "torch_threads", "train"]

#: The validation sequences a split needs before ``restore_best=None`` restores the best
#: state: at 50, one example moves accuracy by 2 points (at 5, by 20).
MIN_RANKING_VAL = 50


def resolve_restore_best(restore_best: bool | None, splits: DatasetSplits) -> bool:
    """``restore_best`` as given, or (None) whether the validation split can rank states."""
    if restore_best is None:
        return len(splits.val) >= MIN_RANKING_VAL
    return bool(restore_best)


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """torch's intra-op threads set to ``threads`` (None: unchanged), restored on exit."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(max(1, int(threads)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def flushed_subnormals(device: torch.device) -> Iterator[None]:
    """On CPU, subnormal floats (below ~1e-38 in float32) flushed to zero while training,
    then torch's default (off) again.

    Why: gradients that decay through thousands of gates (GLA, Mamba-2, the SSMs) fall
    into the subnormal range, where x86 matrix multiplies run many times slower: a GLA
    step at L=4,096 took 17.7x its L=2,048 time, and with the flush the five frontier
    models' training time grew linearly in L (exponents 0.95-1.03, against 1.25-1.37
    without; benchmarks/results/frontier-scaling.md). Values that small change no metric.
    """
    if device.type != "cpu" or not torch.set_flush_denormal(True):
        yield
        return
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def train(
    model: nn.Module | Callable[[], nn.Module],
    splits: DatasetSplits,
    *,
    budget: Budget | str,
    lr: float = 1e-3,
    weight_decay: float = 0.01,
    batch_size: int = 32,
    clip: float | None = 1.0,
    patience: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    threads: int | None = None,
    progress: bool = True,
    log_every: int | None = None,
    optimizer: str = "adamw",
    eval_every: int | None = None,
    eval_batch_size: int = 256,
    lr_schedule: str = "constant",
    restore_best: bool | None = None,
    precision: str = "fp32",
    label_smoothing: float = 0.0,
    on_validate: Callable[[dict[str, Any]], bool] | None = None,
    replay: WorkRecord | dict[str, Any] | None = None,
) -> TrainResult:
    """Train ``model`` on ``splits.train``, select on ``splits.val``, test on ``splits.test``.

    Args:
        model: a module, or a zero-argument callable that builds one after seeding; it
            takes ``x (B, L, C)`` (or ``(B, L)`` tokens) and ``mask (B, L)`` and returns
            ``(B, O)``, or ``(B, L, O)`` when ``splits.model_task`` is ``per_step``.
        budget: a :class:`~seqselect.budget.Budget` or its text form (``"90s"``, ``"5 epochs"``).
        lr, weight_decay: base values (``seqselect.models.optim.param_groups``: tagged).
        clip, patience: gradient-norm clipping (None or 0: off); stop after this many
            validations without improvement (None: never). seed: the same, same metrics.
        device, threads: ``cpu``, ``cuda[:n]``, ``mps`` or ``auto``; torch threads (restored).
        optimizer: ``adamw`` (default), ``adam``, ``rmsprop`` or ``sgd``.
        eval_every: validate every this many steps (default: see the module docstring).
        lr_schedule: ``onecycle``, ``cosine`` or ``constant`` over the budget's planned steps.
        restore_best: test the best-on-validation weights (None: only with at least
            :data:`MIN_RANKING_VAL` validation sequences; False: the final weights).
        precision: ``auto``, ``bf16`` (autocast) or ``fp32``; the one used is in hparams.
        label_smoothing: of classification targets in the training loss.
        on_validate: called with each validation point; True ends the run as "pruned".
        replay: a run's ``work`` record: redo its steps, plans, validation points and
            threads instead of ``budget`` (same seed and data: the same metrics).

    Returns:
        A :class:`TrainResult`; ``status="diverged"`` (with ``diverged_at_step`` and empty
        test metrics) when the loss became NaN or infinite.
    """
    budget, replay, threads = _work_to_do(Budget.parse(budget), replay, threads)
    with torch_threads(threads):
        seed_everything(seed)
        run_device = resolve_device(device)
        module = model if isinstance(model, nn.Module) else model()
        module.to(run_device).train()
        settings = LoopSettings(
            batch_size, clip, patience, eval_every, eval_batch_size, log_every,
            lr_schedule=lr_schedule, precision=resolve_precision(precision, module, run_device),
            restore_best=resolve_restore_best(restore_best, splits),
            label_smoothing=label_smoothing, on_validate=on_validate,
        )
        loop = TrainingLoop(
            module, splits, make_optimizer(optimizer, module, lr=lr, weight_decay=weight_decay),
            budget=budget, settings=settings, device=run_device,
            generator=torch.Generator().manual_seed(seed), replay=replay,
        )
        description = f"train {type(module).__name__}"
        with training_progress(progress, description, loop.progress_total) as bar, \
                flushed_subnormals(run_device):
            stopped_by = loop.run(bar)
        val_metrics, test_metrics = loop.finish()
        given = {"lr": lr, "weight_decay": weight_decay, "batch_size": batch_size, "clip": clip,
                 "patience": patience, "optimizer": optimizer, "lr_schedule": lr_schedule,
                 "label_smoothing": label_smoothing, "replayed": replay is not None}
        result = _result_of(loop, stopped_by, val_metrics, test_metrics, seed=seed,
                            hparams=_hparams(loop, given))
    return result


def _work_to_do(
    budget: Budget, replay: WorkRecord | dict[str, Any] | None, threads: int | None
) -> tuple[Budget, WorkRecord | None, int | None]:
    """``(budget, replay, threads)``: a replay's steps and threads replace the budget's."""
    if replay is None:
        return budget, None, threads
    record = replay if isinstance(replay, WorkRecord) else WorkRecord.from_dict(replay)
    return Budget(steps=record.steps), record, record.threads or threads


def _hparams(loop: TrainingLoop, given: dict[str, Any]) -> dict[str, Any]:
    """The run's settings as recorded: the arguments ``given`` and what the loop resolved."""
    settings = loop.settings
    return {
        **given, "eval_every": loop.schedule.every_steps, "threads": torch.get_num_threads(),
        "planned_steps": loop.planner.total, "precision": settings.precision,
        "restore_best": settings.restore_best, "best_val_step": loop.best.step,
    }


def _result_of(
    loop: TrainingLoop,
    stopped_by: str,
    val_metrics: dict[str, float],
    test_metrics: dict[str, float],
    *,
    seed: int,
    hparams: dict[str, Any],
) -> TrainResult:
    """The record of a finished ``loop``."""
    diverged = loop.diverged_at_step is not None
    best_step = loop.tested_step  # the step whose weights were tested
    splits = loop.splits
    return TrainResult(
        status="diverged" if diverged else "ok",
        seed=seed,
        steps=loop.steps,
        epochs=loop.epochs,
        train_seconds=round(loop.train_seconds, 4),
        test_metrics=test_metrics,
        val_metrics=val_metrics,
        history=loop.history,
        best_step=best_step,
        diverged_at_step=loop.diverged_at_step,
        stopped_by=stopped_by,
        task=splits.task,
        task_metric=loop.metric,
        higher_is_better=loop.best.higher_is_better,
        budget=loop.budget.to_dict(),
        hparams=hparams,
        n_params=count_parameters(loop.model),
        device=str(loop.device),
        dataset=splits.source or splits.name,
        param_groups=PARAM_GROUPS_SOURCE,
        work=work.to_dict() if (work := loop.work()) is not None else None,
    )
