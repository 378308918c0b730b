"""The training loop as an object: one optimisation step, one validation point, and the
reason to stop, each a method, so each rule of the protocol (``seqselect.train.trainer``)
can be read and tested on its own.

Symbols: B batch, L length, C channels, O outputs.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from seqselect.budget import Budget
from seqselect.data.types import DatasetSplits, SequenceData
from seqselect.train.evaluate import evaluate_split, to_device
from seqselect.train.loss import training_loss
from seqselect.train.metrics import is_better
from seqselect.train.progress import TrainingProgress
from seqselect.train.schedule import LRSchedule, StepPlanner
from seqselect.train.work import WorkRecord
from seqselect.vocabulary import ranking_task, task_metric

log = logging.getLogger(__name__)

__all__ = [
    "BestState",
    "LoopSettings",
    "TrainingLoop",
    "ValidationSchedule",
    "default_eval_every",
]


@dataclass(frozen=True)
class LoopSettings:
    """How the loop trains and validates (everything but the budget and the optimizer)."""

    batch_size: int = 32  # training examples per step; the last batch of an epoch may be short
    clip: float | None = 1.0  # gradient-norm clipping; None or 0: off
    patience: int | None = None  # validations without improvement before stopping; None: never
    eval_every: int | None = None  # validate every this many steps; None: default_eval_every
    eval_batch_size: int = 256  # evaluation only: bigger is faster and changes no metric
    log_every: int | None = None  # log the loss every this many steps; None: never
    lr_schedule: str = "constant"  # see seqselect.train.schedule
    precision: str = "fp32"  # "bf16": training forward passes under CPU/CUDA bf16 autocast
    restore_best: bool = True  # test the best-on-validation weights (False: the final ones)
    label_smoothing: float = 0.0  # classification targets (Szegedy et al. 2016)
    # issue 16 (tuning): called with each validation point; True stops the run as "pruned"
    on_validate: Callable[[dict[str, Any]], bool] | None = None

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


def default_eval_every(budget: Budget, steps_per_epoch: int) -> int:
    """Validate once per epoch, but 10 to 50 times in a step or epoch budget."""
    total = budget.steps
    if budget.epochs is not None:
        total = min(total or math.inf, budget.epochs * steps_per_epoch)
    if total is None or math.isinf(total):
        return steps_per_epoch
    return int(min(max(steps_per_epoch, math.ceil(total / 50)), math.ceil(total / 10)))


@dataclass(frozen=True)
class ValidationSchedule:
    """When a validation point is due: every ``every_steps`` steps, but on a seconds budget
    no sooner than ``min_gap_s`` after the last one and no later than ``max_gap_s``; a
    replay (``at_steps``): exactly after the steps its run validated at."""

    every_steps: int
    min_gap_s: float = 0.0
    max_gap_s: float = math.inf
    at_steps: frozenset[int] | None = None

    @classmethod
    def for_budget(
        cls, budget: Budget, steps_per_epoch: int, eval_every: int | None = None
    ) -> ValidationSchedule:
        """Seconds budgets validate at most every 1/50 of the budget (unless ``eval_every``
        is given) and at least every 1/10 of it."""
        seconds = budget.seconds
        return cls(
            every_steps=eval_every or default_eval_every(budget, steps_per_epoch),
            min_gap_s=seconds / 50 if seconds is not None and eval_every is None else 0.0,
            max_gap_s=seconds / 10 if seconds is not None else math.inf,
        )

    def is_due(self, step: int, seconds_since_last: float) -> bool:
        if self.at_steps is not None:
            return step in self.at_steps
        on_cadence = step % self.every_steps == 0 and seconds_since_last >= self.min_gap_s
        return on_cadence or seconds_since_last >= self.max_gap_s


class BestState:
    """The best validation point so far and a CPU copy of the weights it had."""

    def __init__(self, higher_is_better: bool) -> None:
        self.higher_is_better = higher_is_better
        self.score: float | None = None
        self.loss: float | None = None
        self.step: int | None = None
        self.weights: dict[str, Tensor] | None = None

    def offer(self, score: float, loss: float, step: int, model: nn.Module) -> bool:
        """Keep ``model``'s weights if ``score`` beats the best (ties: a lower ``loss``)."""
        improved = is_better(score, self.score, self.higher_is_better) or (
            score == self.score and self.loss is not None and loss < self.loss
        )
        if improved:
            self.score, self.loss, self.step = score, loss, step
            self.weights = {
                name: value.detach().to("cpu", copy=True)
                for name, value in model.state_dict().items()
            }
        return improved

    def restore(self, model: nn.Module) -> None:
        """Load the kept weights into ``model`` (nothing kept: leave it as it is)."""
        if self.weights is not None:
            model.load_state_dict(self.weights)


class TrainingLoop:
    """Trains ``model`` on ``splits.train`` under ``budget``, validating on ``splits.val``.

    ``run()`` repeats :meth:`step`, :meth:`validate` when due and :meth:`should_stop`;
    ``finish()`` adds the last validation point, restores the best weights and evaluates.
    ``clock`` (seconds, default ``time.perf_counter``) times the seconds budget. ``replay``
    (:mod:`seqselect.train.work`) redoes a recorded run's work: its steps, plans and
    validation points, with no clock deciding anything; :meth:`work` is this run's record.
    """

    def __init__(
        self,
        model: nn.Module,
        splits: DatasetSplits,
        optimizer: torch.optim.Optimizer,
        *,
        budget: Budget,
        settings: LoopSettings,
        generator: torch.Generator,
        device: torch.device,
        clock: Callable[[], float] | None = None,
        replay: WorkRecord | None = None,
    ) -> None:
        if len(splits.train) == 0:
            raise ValueError(f"{splits.name}: the training split is empty")
        self.model, self.splits, self.optimizer = model, splits, optimizer
        self.budget, self.settings, self.device = budget, settings, device
        self._generator = generator
        self.task = splits.model_task
        # forecasting selects on MASE (the dataset task's metric), not the head's MSE
        self.metric, higher_is_better = task_metric(ranking_task(splits.task, self.task))
        self.steps_per_epoch = math.ceil(len(splits.train) / settings.batch_size)
        self.schedule = ValidationSchedule.for_budget(
            budget, self.steps_per_epoch, settings.eval_every
        )
        if replay is not None:
            self.schedule = ValidationSchedule(1, at_steps=frozenset(replay.validations))
        self.validated_in_loop: list[int] = []  # the steps validate() ran after in run()
        self.has_val = len(splits.val) > 0
        self.best = BestState(higher_is_better)
        self.history: list[dict[str, Any]] = []
        self.steps = 0
        self.epochs_done = 0
        self.diverged_at_step: int | None = None
        self.evals_without_improvement = 0
        self._out_of_patience = False
        self._pruned = False  # issue 16: set when settings.on_validate says so
        self._loss_sum, self._loss_count = 0.0, 0  # training loss since the last validation
        self._clock = clock or time.perf_counter
        self.start_time = self._clock()
        self._last_step_time = self.start_time
        self._last_validation_time = self.start_time
        self._last_validation_step = -1
        self._lr_factor = 1.0
        self._validation_s = 0.0  # how long the last validation point took
        # (step, metrics) of the last validation pass: finish() reuses them for that step
        self._val_metrics: tuple[int, dict[str, float]] | None = None
        self.train_seconds = 0.0  # set by finish(): the loop's wall time, validation included
        self.planner = (
            StepPlanner(None, script=replay.plan_at()) if replay is not None
            else StepPlanner(budget.seconds, fixed=self.total_steps)
        )
        self.lr_schedule = LRSchedule(settings.lr_schedule, optimizer, self.planner)

    # ---- the three rules ---------------------------------------------------------------
    def step(self, batch: SequenceData) -> float:
        """One optimisation step on ``batch``; returns its loss.

        A non-finite loss marks the run diverged at this step and leaves the weights alone.
        """
        x, model_mask, mask, y = to_device(batch, self.device)
        lr_factor = self.lr_schedule.apply(self.steps)
        with self._autocast():
            output = self.model(x, mask=model_mask)  # (B, O) or (B, L, O)
        loss = training_loss(
            output.float(), y, mask, self.task, label_smoothing=self.settings.label_smoothing
        )
        self.steps += 1
        value = float(loss.detach())
        if not math.isfinite(value):
            self.diverged_at_step = self.steps
            log.warning(
                "%s: loss became %s at step %d; run ends as diverged",
                self.splits.name, value, self.steps,
            )
            return value
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.settings.clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.clip)
        self.optimizer.step()
        self._loss_sum += value
        self._loss_count += 1
        if self.settings.log_every and self.steps % self.settings.log_every == 0:
            log.info("step %d epoch %.2f loss %.5f", self.steps, self.epochs, value)
        self._last_step_time = self._clock()
        self._lr_factor = lr_factor
        self.planner.observe(self.steps, self._last_step_time - self.start_time)
        return value

    def validate(self) -> bool:
        """Add a validation point to ``history`` (the mean training loss since the last one,
        and the validation loss and task metric); keep the weights if they are the best.

        Returns:
            Whether the validation score improved (False without a validation split).
        """
        entry: dict[str, Any] = {
            "step": self.steps,
            "epoch": self.epochs,
            "elapsed_s": round(self.elapsed(), 4),
            "train_loss": self._loss_sum / self._loss_count if self._loss_count else None,
            "val_loss": None,
            "val_metric": None,
            "lr_factor": round(self._lr_factor, 6),
        }
        self._loss_sum, self._loss_count = 0.0, 0
        self._last_validation_step, self._last_validation_time = self.steps, self._clock()
        if not self.has_val:
            self.history.append(entry)
            return False
        metrics = self._evaluate("val")
        self._val_metrics = (self.steps, metrics)
        self._validation_s = self._clock() - self._last_validation_time
        val_loss = metrics.get("cross_entropy", metrics.get("mse"))
        score = metrics.get(self.metric)
        entry["val_loss"], entry["val_metric"] = val_loss, score
        self.history.append(entry)
        # issue 16: a search's pruner sees every validation point and may end the run
        self._pruned = bool(self.settings.on_validate and self.settings.on_validate(entry))
        improved = self.best.offer(score, val_loss, self.steps, self.model)
        self.evals_without_improvement = 0 if improved else self.evals_without_improvement + 1
        patience = self.settings.patience
        self._out_of_patience = patience is not None and self.evals_without_improvement >= patience
        return improved

    def should_stop(self) -> str | None:
        """Why the run ends now, checked in this order: ``"diverged"``, ``"early_stopping"``
        (patience ran out at the last validation), ``"steps"``, ``"seconds"``, ``"epochs"``;
        None to go on. These are the values of ``TrainResult.stopped_by``."""
        budget = self.budget
        if self.diverged_at_step is not None:
            return "diverged"
        if self._out_of_patience:
            return "early_stopping"
        if self._pruned:  # issue 16: the search's pruner stopped it
            return "pruned"
        if budget.steps is not None and self.steps >= budget.steps:
            return "steps"
        if budget.seconds is not None and self.elapsed() >= budget.seconds:
            return "seconds"
        if budget.epochs is not None and self.epochs_done >= budget.epochs:
            return "epochs"
        if self._schedule_done():
            # the plan ran its course; when the epoch cap bounded the plan, that is the
            # reason (the amount of work did not depend on the machine's speed)
            capped = self.planner.fixed is not None and self.planner.total >= self.planner.fixed
            return "epochs" if capped and budget.epochs is not None else "seconds"
        return None

    # ---- the run -----------------------------------------------------------------------
    def run(self, progress: TrainingProgress | None = None) -> str:
        """Train until :meth:`should_stop` gives a reason, and return it."""
        batches = self._batches()
        reason = None
        while reason is None:
            batch, ends_epoch = next(batches)
            loss = self.step(batch)
            if self.diverged_at_step is None:
                if progress is not None:
                    done = self.steps if self.total_steps else self._since_start()
                    progress.update(done=done, loss=loss)
                since = self._last_step_time - self._last_validation_time
                if self.schedule.is_due(self.steps, since) and not self._validation_overruns():
                    self.validated_in_loop.append(self.steps)
                    self.validate()
            if ends_epoch:
                self.epochs_done += 1
            reason = self.should_stop()
        return reason

    def finish(self) -> tuple[dict[str, float], dict[str, float]]:
        """End the run: a last validation point if the last step has none, the best weights
        restored, then ``(val_metrics, test_metrics)`` (both empty when it diverged)."""
        if self.diverged_at_step is None and self._last_validation_step != self.steps:
            self.validate()
        self.train_seconds = self.elapsed()
        if self.diverged_at_step is not None:
            return {}, {}
        if self.settings.restore_best:
            self.best.restore(self.model)
        tested = self.best.step if self.settings.restore_best else self.steps
        if self._val_metrics is not None and self._val_metrics[0] == tested:
            val_metrics = dict(self._val_metrics[1])  # these weights' pass, done already
        else:
            val_metrics = self._evaluate("val") if self.has_val else {}
        return val_metrics, self._evaluate("test")

    # ---- what the loop knows -------------------------------------------------------------
    def work(self) -> WorkRecord | None:
        """What this run's clock decided, for a replay (None before any step)."""
        if self.steps < 1:
            return None
        return WorkRecord(
            steps=self.steps,
            plans=tuple(self.planner.plans),
            validations=tuple(self.validated_in_loop),
            threads=torch.get_num_threads(),
        )

    @property
    def tested_step(self) -> int | None:
        """The step whose weights finish() tests: the best validation point's when the best
        state is restored, else the last step."""
        if self.settings.restore_best and self.best.step is not None:
            return self.best.step
        return None if self.diverged_at_step is not None else self.steps

    def _schedule_done(self) -> bool:
        """A seconds budget whose planned schedule has run its course (its rate is at its
        floor): stop now rather than spend the rest of the budget at that floor."""
        planner = self.planner
        return (
            self.settings.lr_schedule != "constant"
            and planner.replanned
            and planner.total is not None
            and self.steps >= planner.total
        )

    def _autocast(self):
        enabled = self.settings.precision == "bf16"
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=enabled)

    @property
    def epochs(self) -> float:
        """Steps taken, in epochs (rounded to 4 places)."""
        return round(self.steps / self.steps_per_epoch, 4)

    @property
    def total_steps(self) -> int | None:
        """The steps the budget allows when it counts steps or epochs, else None."""
        if self.budget.steps:
            return self.budget.steps
        return self.budget.epochs * self.steps_per_epoch if self.budget.epochs else None

    @property
    def progress_total(self) -> float:
        """What a progress bar counts to: steps, or seconds on a seconds-only budget."""
        return self.total_steps or self.budget.seconds or 1

    def _validation_overruns(self) -> bool:
        """Whether a validation point now would end past the seconds budget, judged by how
        long the last one took: it is left to finish(), which validates the last step
        anyway (on MQAR one pass took 2.5 s; started near the end, it overran a trial by
        that). A replay validates where its run did, so it is never skipped there."""
        seconds = self.budget.seconds
        if seconds is None or self.schedule.at_steps is not None:
            return False
        return self._since_start() + self._validation_s > seconds

    def elapsed(self) -> float:
        """Wall seconds since the loop was made (a fresh clock reading)."""
        return self._clock() - self.start_time

    def _since_start(self) -> float:
        return self._last_step_time - self.start_time

    def _batches(self) -> Iterator[tuple[SequenceData, bool]]:
        """``(batch, ends_epoch)`` forever; each epoch is a fresh shuffle by the generator."""
        n_train, batch_size = len(self.splits.train), self.settings.batch_size
        while True:
            order = torch.randperm(n_train, generator=self._generator)
            for first in range(0, n_train, batch_size):
                batch = self.splits.train.subset(order[first : first + batch_size])
                yield batch, first + batch_size >= n_train

    def _evaluate(self, split: str) -> dict[str, float]:
        return evaluate_split(
            self.model, self.splits, split, batch_size=self.settings.eval_batch_size,
            device=self.device,
        )
