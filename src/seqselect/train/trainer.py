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
  50 times over a step or epoch budget; with a seconds budget at most every 1/50 (unless
  ``eval_every`` is given) and at least every 1/10 of it) and at the end; the best state by the task metric
  on validation (ties: lower validation loss) is restored before the test evaluation.
  ``patience`` stops after that many evaluations without improvement.
* evaluation covers every example, including the last partial batch.
* a non-finite training loss ends the run: ``status="diverged"`` with the step.
"""

from __future__ import annotations

import logging
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqselect.data.types import DatasetSplits, SequenceData
from seqselect.train.metrics import (
    better,
    classification_metrics,
    per_step_targets,
    regression_metrics,
    task_metric,
)

log = logging.getLogger(__name__)

__all__ = ["Budget", "TrainResult", "evaluate", "resolve_device", "seed_everything", "train"]


# ---- budget ---------------------------------------------------------------------------------
_UNITS = {
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hour": 3600.0, "hours": 3600.0,
}


@dataclass(frozen=True)
class Budget:
    """How long to train: whichever of ``epochs``, ``steps`` and ``seconds`` ends first."""

    epochs: int | None = None
    steps: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.epochs is None and self.steps is None and self.seconds is None:
            raise ValueError("a Budget needs at least one of epochs, steps, seconds")
        for name in ("epochs", "steps", "seconds"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"Budget {name} must be positive, got {value}")

    @classmethod
    def parse(cls, text: str | Budget) -> Budget:
        """``"10m"``, ``"90s"``, ``"1.5h"``, ``"5 epochs"``, ``"200 steps"``, or several
        joined by ``,`` or ``+`` (``"5 epochs, 10m"``). A bare number is seconds.

        Raises:
            ValueError: text that is none of these, with the accepted forms.
        """
        if isinstance(text, Budget):
            return text
        parts = [p.strip() for p in re.split(r"[,+]", str(text)) if p.strip()]
        values: dict[str, Any] = {}
        for part in parts:
            m = re.fullmatch(r"(\d+(?:\.\d+)?(?:e\d+)?)\s*([a-z]*)", part.lower())
            if m is None:
                raise ValueError(
                    f"cannot read budget {text!r}; use e.g. 90s, 10m, 1h, '5 epochs', '200 steps'"
                )
            number, unit = float(m.group(1)), m.group(2) or "s"
            if unit in ("epoch", "epochs", "ep", "e"):
                values["epochs"] = int(number)
            elif unit in ("step", "steps", "it", "iters", "iterations"):
                values["steps"] = int(number)
            elif unit in _UNITS:
                values["seconds"] = number * _UNITS[unit]
            else:
                raise ValueError(
                    f"unknown budget unit {unit!r} in {text!r}; use s, m, h, epochs or steps"
                )
        if not values:
            raise ValueError(f"empty budget {text!r}; use e.g. 90s, 10m, '5 epochs', '200 steps'")
        return cls(**values)

    def __str__(self) -> str:
        parts = []
        if self.epochs is not None:
            parts.append(f"{self.epochs} epochs")
        if self.steps is not None:
            parts.append(f"{self.steps} steps")
        if self.seconds is not None:
            parts.append(f"{self.seconds:g}s")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- result ---------------------------------------------------------------------------------
@dataclass
class TrainResult:
    """Everything a run produced; ``to_dict()`` is JSON-ready."""

    status: str  # "ok" | "diverged"
    seed: int
    steps: int
    epochs: float  # steps / steps-per-epoch
    train_seconds: float  # wall time of the training loop, validation included
    test_metrics: dict[str, float]
    val_metrics: dict[str, float]
    history: list[dict[str, Any]]
    best_step: int | None
    diverged_at_step: int | None = None
    stopped_by: str = ""  # "epochs" | "steps" | "seconds" | "early_stopping" | "diverged"
    task: str = ""
    task_metric: str = ""
    higher_is_better: bool = True
    budget: dict[str, Any] = field(default_factory=dict)
    hparams: dict[str, Any] = field(default_factory=dict)
    n_params: int = 0
    device: str = "cpu"
    dataset: str = ""
    param_groups: str = ""  # where the optimizer groups came from

    @property
    def test_score(self) -> float | None:
        """The task metric on the test split (None when the run diverged)."""
        return self.test_metrics.get(self.task_metric)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- helpers --------------------------------------------------------------------------------
def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"auto"`` picks CUDA, then MPS, then CPU; a named device must be available."""
    if device is None or str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        from seqselect.errors import SeqSelectError

        raise SeqSelectError(f"device {device!r} requested but CUDA is not available here; use --device cpu")
    return dev


def _optimizer_groups(model: nn.Module, lr: float, weight_decay: float) -> tuple[list[dict[str, Any]], str]:
    """Groups from ``seqselect.models.optim.param_groups`` (honours ``p._optim`` tags)."""
    try:
        from seqselect.models.optim import param_groups
    except ImportError as exc:  # keep training possible, but say so
        log.warning("seqselect.models.optim unavailable (%s): one parameter group, tags ignored", exc)
        params = [p for p in model.parameters() if p.requires_grad]
        return [{"params": params, "lr": lr, "weight_decay": weight_decay}], "fallback (single group)"
    return param_groups(model, lr, weight_decay), "seqselect.models.optim.param_groups"


def _make_optimizer(name: str, groups: list[dict[str, Any]], lr: float) -> torch.optim.Optimizer:
    name = name.lower()
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr)
    if name == "rmsprop":  # Bai et al. 2018's copy-memory setting
        return torch.optim.RMSprop(groups, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=0.9)
    raise ValueError(f"unknown optimizer {name!r}; use adamw, adam, rmsprop or sgd")


def _to_device(batch: SequenceData, device: torch.device) -> tuple[Tensor, Tensor | None, Tensor, Tensor]:
    mask = batch.mask.to(device, non_blocking=True)
    model_mask = None if bool(batch.mask.all()) else mask
    return batch.x.to(device, non_blocking=True), model_mask, mask, batch.y.to(device, non_blocking=True)


def _loss(out: Tensor, y: Tensor, mask: Tensor, task: str) -> Tensor:
    """Training loss: cross-entropy (per step: over real, scored steps) or MSE."""
    if task == "classify":
        return F.cross_entropy(out, y)
    if task == "per_step":
        if y.dtype == torch.long:  # (B, L) classes; ignored: padding and IGNORE_INDEX
            target = per_step_targets(y, mask)
            return F.cross_entropy(out.reshape(-1, out.shape[-1]), target.reshape(-1))
        weights = mask.unsqueeze(-1).to(out.dtype)  # (B, L, 1)
        return ((out - y) ** 2 * weights).sum() / (weights.sum() * out.shape[-1]).clamp(min=1)
    return F.mse_loss(out, y)


def _model_task(task: str) -> str:
    return "regress" if task == "forecast" else task


# ---- evaluation -------------------------------------------------------------------------------
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
        task: ``classify``, ``regress``, ``forecast`` or ``per_step`` (the model's task).
        device: where to run; None = where the model's parameters are.

    Returns:
        classify: ``accuracy``, ``macro_f1``, ``cross_entropy``; per-step classification
        the same over every scored step, plus ``sequence_accuracy`` (all steps right);
        regress/forecast (and per-step real targets): ``mse``, ``mae``. Always ``n``, the
        number of sequences evaluated.
    """
    task = _model_task(task)
    if device is None:
        p = next(model.parameters(), None)
        dev = p.device if p is not None else torch.device("cpu")
    else:
        dev = resolve_device(device)
    was_training = model.training
    model.eval()
    model.to(dev)
    n = len(data)
    outs, targets, seq_ok = [], [], []
    try:
        for start in range(0, n, batch_size):  # ceil(n / batch_size) batches: none dropped
            batch = data.subset(torch.arange(start, min(start + batch_size, n)))
            x, model_mask, mask, y = _to_device(batch, dev)
            out = model(x, mask=model_mask).float()
            if task == "per_step" and y.dtype == torch.long:
                target = per_step_targets(y, mask)  # (B, L)
                scored = target != -100
                pred = out.argmax(dim=-1)
                seq_ok.append(((pred == target) | ~scored).all(dim=1).cpu())
                outs.append(out[scored].cpu())
                targets.append(target[scored].cpu())
            elif task == "per_step":
                outs.append(out[mask].cpu())
                targets.append(y[mask].cpu())
            else:
                outs.append(out.cpu())
                targets.append(y.cpu())
    finally:
        model.train(was_training)
    if n == 0:
        if task == "regress" or (task == "per_step" and data.y.dtype != torch.long):
            return regression_metrics(torch.zeros(0), torch.zeros(0))
        return classification_metrics(torch.zeros(0, 1), torch.zeros(0, dtype=torch.long))
    out, target = torch.cat(outs), torch.cat(targets)
    if task == "classify" or (task == "per_step" and target.dtype == torch.long):
        metrics = classification_metrics(out, target)
        if task == "per_step":
            metrics["n_steps"] = metrics["n"]
            metrics["sequence_accuracy"] = float(torch.cat(seq_ok).double().mean())
    else:
        metrics = regression_metrics(out, target)
    metrics["n"] = n
    return metrics


# ---- training ---------------------------------------------------------------------------------
def _default_eval_every(budget: Budget, steps_per_epoch: int) -> int:
    """Validate once per epoch, but 10 to 50 times in a step or epoch budget."""
    total = budget.steps
    if budget.epochs is not None:
        total = min(total or math.inf, budget.epochs * steps_per_epoch)
    if total is None or math.isinf(total):
        return steps_per_epoch
    return int(min(max(steps_per_epoch, math.ceil(total / 50)), math.ceil(total / 10)))


def _progress(enabled: bool, total: float, description: str):
    from contextlib import nullcontext

    if not enabled:
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


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
) -> TrainResult:
    """Train ``model`` on ``splits.train``, select on ``splits.val``, test on ``splits.test``.

    Args:
        model: a module, or a zero-argument callable that builds one after seeding.
        budget: a :class:`Budget` or its text form (``"90s"``, ``"5 epochs"``).
        lr, weight_decay: base values; tagged parameters (``p._optim``) get their own via
            ``seqselect.models.optim.param_groups``.
        clip: gradient-norm clipping (None or 0: off).
        patience: stop after this many validations without improvement (None: never).
        seed: recorded in the result; the same seed gives the same metrics.
        device: ``cpu``, ``cuda``, ``cuda:1``, ``mps`` or ``auto``.
        threads: torch intra-op threads during the run (restored afterwards).
        optimizer: ``adamw`` (default), ``adam``, ``rmsprop`` or ``sgd``.
        eval_every: validate every this many steps (default: see the module docstring).

    Returns:
        A :class:`TrainResult`; ``status="diverged"`` (with ``diverged_at_step`` and empty
        test metrics) when the loss became NaN or infinite.
    """
    budget = Budget.parse(budget)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    task = splits.model_task
    metric_name, higher = task_metric(task)
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(max(1, int(threads)))
    try:
        seed_everything(seed)
        dev = resolve_device(device)
        if not isinstance(model, nn.Module):
            model = model()
        model.to(dev)
        model.train()
        groups, groups_source = _optimizer_groups(model, lr, weight_decay)
        opt = _make_optimizer(optimizer, groups, lr)
        gen = torch.Generator().manual_seed(seed)
        train_data = splits.train
        n_train = len(train_data)
        if n_train == 0:
            raise ValueError(f"{splits.name}: the training split is empty")
        steps_per_epoch = math.ceil(n_train / batch_size)
        # Seconds budgets: validate at most every seconds/50 (unless eval_every is given)
        # and at least every seconds/10.
        min_gap = budget.seconds / 50 if budget.seconds is not None and eval_every is None else 0.0
        max_gap = budget.seconds / 10 if budget.seconds is not None else math.inf
        eval_every = eval_every or _default_eval_every(budget, steps_per_epoch)
        has_val = len(splits.val) > 0

        history: list[dict[str, Any]] = []
        best_score: float | None = None
        best_loss: float | None = None
        best_state: dict[str, Tensor] | None = None
        best_step: int | None = None
        bad_evals = 0
        step = 0
        epoch = 0
        status, stopped_by, diverged_at = "ok", "", None
        running, running_n = 0.0, 0
        start = time.perf_counter()
        last_eval_time = start
        last_eval_step = -1
        total = budget.steps or (budget.epochs * steps_per_epoch if budget.epochs else None)

        def validate() -> bool:
            """Record a validation point; returns True when patience has run out."""
            nonlocal best_score, best_loss, best_state, best_step, bad_evals, running, running_n
            nonlocal last_eval_time, last_eval_step
            entry: dict[str, Any] = {
                "step": step,
                "epoch": round(step / steps_per_epoch, 4),
                "elapsed_s": round(time.perf_counter() - start, 4),
                "train_loss": running / running_n if running_n else None,
                "val_loss": None,
                "val_metric": None,
            }
            running, running_n = 0.0, 0
            last_eval_step, last_eval_time = step, time.perf_counter()
            if not has_val:
                history.append(entry)
                return False
            vm = evaluate(model, splits.val, task, batch_size=eval_batch_size, device=dev)
            val_loss = vm.get("cross_entropy", vm.get("mse"))
            entry["val_loss"], entry["val_metric"] = val_loss, vm.get(metric_name)
            history.append(entry)
            score = vm.get(metric_name)
            improved = better(score, best_score, higher) or (
                score == best_score and best_loss is not None and val_loss < best_loss
            )
            if improved:
                best_score, best_loss, best_step, bad_evals = score, val_loss, step, 0
                best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            else:
                bad_evals += 1
            return patience is not None and bad_evals >= patience

        with _progress(progress, total or budget.seconds or 1, splits.name) as bar:
            bar_task = bar.add_task(f"train {type(model).__name__}", total=total or budget.seconds, status="") if bar else None
            done = False
            while not done:
                order = torch.randperm(n_train, generator=gen)
                for i in range(0, n_train, batch_size):
                    batch = train_data.subset(order[i : i + batch_size])
                    x, model_mask, mask, y = _to_device(batch, dev)
                    out = model(x, mask=model_mask)
                    loss = _loss(out, y, mask, task)
                    step += 1
                    value = float(loss.detach())
                    if not math.isfinite(value):
                        status, stopped_by, diverged_at = "diverged", "diverged", step
                        log.warning("%s: loss became %s at step %d; run ends as diverged", splits.name, value, step)
                        done = True
                        break
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    if clip:
                        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
                    opt.step()
                    running += value
                    running_n += 1
                    if log_every and step % log_every == 0:
                        log.info("step %d epoch %.2f loss %.5f", step, step / steps_per_epoch, value)
                    now = time.perf_counter()
                    if bar is not None:
                        done_units = step if total else now - start
                        bar.update(bar_task, completed=min(done_units, total or budget.seconds), status=f"loss {value:.4f}")
                    end_of_epoch = i + batch_size >= n_train
                    since = now - last_eval_time
                    due = (step % eval_every == 0 and since >= min_gap) or since >= max_gap
                    if due and validate():
                        stopped_by, done = "early_stopping", True
                        break
                    if budget.steps is not None and step >= budget.steps:
                        stopped_by, done = "steps", True
                        break
                    if budget.seconds is not None and time.perf_counter() - start >= budget.seconds:
                        stopped_by, done = "seconds", True
                        break
                    if end_of_epoch:
                        epoch += 1
                        if budget.epochs is not None and epoch >= budget.epochs:
                            stopped_by, done = "epochs", True
                            break
        if status == "ok" and last_eval_step != step:
            validate()
        train_seconds = time.perf_counter() - start
        val_metrics: dict[str, float] = {}
        test_metrics: dict[str, float] = {}
        if status == "ok":
            if best_state is not None:
                model.load_state_dict(best_state)
            if has_val:
                val_metrics = evaluate(model, splits.val, task, batch_size=eval_batch_size, device=dev)
            test_metrics = evaluate(model, splits.test, task, batch_size=eval_batch_size, device=dev)
        from seqselect.models.registry import count_parameters

        return TrainResult(
            status=status,
            seed=seed,
            steps=step,
            epochs=round(step / steps_per_epoch, 4),
            train_seconds=round(train_seconds, 4),
            test_metrics=test_metrics,
            val_metrics=val_metrics,
            history=history,
            best_step=best_step if best_step is not None else (step if status == "ok" else None),
            diverged_at_step=diverged_at,
            stopped_by=stopped_by,
            task=splits.task,
            task_metric=metric_name,
            higher_is_better=higher,
            budget=budget.to_dict(),
            hparams={
                "lr": lr, "weight_decay": weight_decay, "batch_size": batch_size, "clip": clip,
                "patience": patience, "optimizer": optimizer, "eval_every": eval_every,
                "threads": torch.get_num_threads(),
            },
            n_params=count_parameters(model),
            device=str(dev),
            dataset=splits.source or splits.name,
            param_groups=groups_source,
        )
    finally:
        torch.set_num_threads(old_threads)
