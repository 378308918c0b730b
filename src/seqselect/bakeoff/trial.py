"""One bake-off trial: build a candidate, train it under its share of the budget, evaluate
it on the whole test set, measure its inference cost, save its weights.

:func:`run_trial` runs wherever the executor puts it (this process, a spawned worker, a
Ray task) and never raises for a model's failure: an exception becomes a ``"failed"``
result with the message, a NaN loss the trainer's ``"diverged"``. It returns a
:class:`~seqselect.bakeoff.records.Trial`.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from seqselect.bakeoff.export import save_weights
from seqselect.bakeoff.measure import measure_inference
from seqselect.bakeoff.protocol import trial_splits
from seqselect.bakeoff.records import Protocol, Trial
from seqselect.bakeoff.tune_worker import run_config  # issue 16
from seqselect.models import count_parameters, create_model
from seqselect.train import Budget, evaluate, train
from seqselect.train.evaluate import example_losses, to_device
from seqselect.train.loss import training_loss
from seqselect.train.precision import resolve_precision

log = logging.getLogger(__name__)

__all__ = ["TrialSpec", "predict_labels", "run_trial", "warm_up"]

#: Rows of each split the set-up calibration evaluates (the rest is extrapolated).
_CALIBRATION_ROWS = 32
#: Rows of the training step the set-up calibration times (scaled to the batch size).
_STEP_ROWS = 8


def warm_up() -> float:
    """Pay the one-time cost of a trial before the budget clock starts: torch's optimizer
    machinery (its first AdamW step imports torch._dynamo, seconds on a busy machine).
    Returns the seconds spent."""
    start = time.perf_counter()
    weight = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.AdamW([weight], lr=1e-3)
    weight.sum().backward()
    optimizer.step()
    return time.perf_counter() - start


@dataclass
class TrialSpec:
    """Everything a worker needs besides the data."""

    run: str
    model: str
    seed: int
    train_seconds: float  # the trainer's wall-time budget for this trial
    measure_seconds: float = 1.5  # latency/memory measurement time limit
    params: int | None = None  # parameter-matched width (create_model(params=...))
    overrides: dict[str, Any] = field(default_factory=dict)  # the config found in set-up
    causal: bool = False
    max_epochs: int | None = None
    threads: int | None = None  # torch intra-op threads in this trial
    device: str = "cpu"
    weights_path: str | None = None  # where to save the trained weights (safetensors)
    train_options: dict[str, Any] = field(default_factory=dict)  # lr, batch_size, ...
    # Its part in the protocol (seqselect.bakeoff.protocol): "trial" (hold-out), "fold"
    # (selection on fold ``fold`` of the pool, no test split) or "refit" (the whole pool).
    role: str = "trial"
    fold: int | None = None
    protocol: dict[str, Any] | None = None  # Protocol.to_dict(); None: hold-out
    # issue 16: a search's configuration (seqselect.bakeoff.tune_worker); None: a trial
    tune: dict[str, Any] | None = None
    # A replay (seqselect.bakeoff.replay): the work the original trial recorded, redone
    # in place of ``train_seconds``; None: train for the share
    replay: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _plain_values(value: Any) -> Any:
    """Plain JSON-able numbers (NaN kept as float)."""
    if isinstance(value, dict):
        return {str(k): _plain_values(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_values(v) for v in value]
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (ValueError, TypeError):
            return value
    return value


def build_candidate(
    name: str,
    splits,
    *,
    params: int | None,
    causal: bool,
    seed: int,
    overrides: dict[str, Any] | None = None,
):
    """The untrained candidate for ``splits`` (seeded initialisation). ``overrides`` (a
    full config, as set-up found it) takes the place of the ``params`` width search."""
    torch.manual_seed(seed)
    if overrides:
        return create_model(name, **splits.model_kwargs(), causal=causal, **overrides)
    return create_model(name, **splits.model_kwargs(), causal=causal, params=params)


def run_trial(spec: TrialSpec, splits) -> Trial:
    """Run one trial and return what it produced (the store's trial row).

    A model's failure is a ``"failed"`` trial with the message (and the traceback in
    ``extra``), never an exception; a non-finite loss is the trainer's ``"diverged"``.
    """
    if spec.tune is not None:  # issue 16: one configuration of a hyper-parameter search
        return run_config(spec, splits)
    started = _now()
    row: dict[str, Any] = {
        "run": spec.run,
        "model": spec.model,
        "seed": spec.seed,
        "role": spec.role,
        "fold": spec.fold,
        "started": started,
        "extra": {
            "causal": spec.causal,
            "budget_s": spec.train_seconds,
            "max_epochs": spec.max_epochs,
            "threads": spec.threads,
            "device": spec.device,
            "protocol": (spec.protocol or {}).get("kind", "holdout"),
            "fold_seed": (spec.protocol or {}).get("fold_seed"),
        },
    }
    old_threads = torch.get_num_threads()
    if spec.threads:
        torch.set_num_threads(max(1, int(spec.threads)))
    try:
        protocol = Protocol.from_dict(spec.protocol or {"kind": "holdout"})
        splits = trial_splits(splits, protocol, spec.role, spec.fold)
        _train_measure_save(spec, splits, row)
    # The trial boundary: whatever a candidate raises (a shape it cannot take, out of
    # memory, a bug in one model) becomes this trial's recorded failure, and the rest of
    # the bake-off goes on.
    except Exception as exc:
        log.debug("trial %s seed %s failed", spec.model, spec.seed, exc_info=True)
        row.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        row["extra"]["traceback"] = traceback.format_exc(limit=8)
    finally:
        torch.set_num_threads(old_threads)
    row["finished"] = _now()
    return Trial.from_dict(row)


def _train_measure_save(spec: TrialSpec, splits, row: dict[str, Any]) -> None:
    """Build, train and evaluate the candidate; when it trained, measure and save it.
    Fills ``row`` in as it goes, so a failure keeps what was known before it."""
    phases: dict[str, float] = {}
    row["extra"]["phases_s"] = phases
    tick = time.perf_counter()
    model = build_candidate(
        spec.model, splits, params=spec.params, causal=spec.causal, seed=spec.seed,
        overrides=spec.overrides,
    )
    phases["build"] = round(time.perf_counter() - tick, 4)
    row["params"] = count_parameters(model)
    row["extra"]["config"] = _plain_values(asdict(model.config))
    tick = time.perf_counter()
    result = _train(model, splits, spec)
    phases["train"] = round(time.perf_counter() - tick, 4)
    status = "ok" if result.status == "ok" else "diverged"
    # A fold trial has no test split: the trainer's metrics of an empty split are NaN.
    metrics = dict(result.test_metrics or {}) if len(splits.test) else {}
    if not metrics and len(splits.test):
        metrics = evaluate(model, splits.test, splits.task, device=spec.device)
    row.update(
        status=status,
        metrics=_plain_values(metrics),
        val_metrics=_plain_values(dict(result.val_metrics or {})),
        train_s=float(result.train_seconds),
        history=_plain_values(list(result.history or [])),
    )
    row["extra"].update(
        steps=result.steps,
        epochs=result.epochs,
        best_step=result.best_step,
        diverged_at_step=result.diverged_at_step,
        stopped_by=result.stopped_by,
        precision=(result.hparams or {}).get("precision", "float32"),
        work=result.work,  # what the clock decided: a replay redoes it (train/work.py)
        replayed=spec.replay is not None,
        n_train=len(splits.train),
        n_val=len(splits.val),
    )
    if status != "ok" or not len(splits.test):  # a fold trial: selection only, no test
        if status == "ok" and splits.model_task == "classify" and len(splits.val):
            # per-example terms of the validation cross-entropy, for ties (ranking.py)
            losses = example_losses(model, splits.val, device=spec.device)
            row["val_losses"] = [round(float(v), 6) for v in losses]
        return
    row["predictions"] = predict_labels(
        model, splits.test, splits.model_task, spec.device, task=splits.task
    )
    tick = time.perf_counter()
    cost = measure_inference(
        model, splits.test, device=spec.device, time_limit=spec.measure_seconds
    )
    phases["measure"] = round(time.perf_counter() - tick, 4)
    for key in ("latency_ms", "batch_latency_ms", "step_latency_ms", "peak_mb"):
        row[key] = cost[key]
    row["extra"].update(latency_batch=cost["latency_batch"], memory_method=cost["memory_method"])
    if spec.weights_path:
        tick = time.perf_counter()
        save_weights(model.cpu(), spec.weights_path)
        phases["save"] = round(time.perf_counter() - tick, 4)
        row["weights"] = spec.weights_path


@torch.no_grad()
def predict_labels(
    model, data, model_task: str, device: str, batch_size: int = 256, *, task: str | None = None
) -> list:
    """One prediction per example of ``data`` in order: class ids (classify; per-step
    classification, dataset ``task`` "classify": a list of ids per sequence), else lists of
    values, in the units of the dataset's targets.

    Why ids and not logits per step: on a per-step task (MQAR: 400 test sequences x 256
    steps x 129 classes) the logits made each trial's stored predictions 270 MB of JSON,
    and reading the run back took longer than its whole budget."""
    model.eval()
    out: list = []
    for start in range(0, len(data), batch_size):
        x = data.x[start:start + batch_size].to(device)
        mask = data.mask[start:start + batch_size].to(device)
        logits = model(x, mask=mask).float().cpu()
        labels = model_task == "classify" or (model_task == "per_step" and task == "classify")
        out.extend((logits.argmax(-1) if labels else logits).tolist())
    return out


def _train(model, splits, spec: TrialSpec):
    budget = Budget(seconds=max(0.1, spec.train_seconds), epochs=spec.max_epochs or None)
    return train(
        model,
        splits,
        budget=budget,
        seed=spec.seed,
        device=spec.device,
        threads=spec.threads,
        progress=False,
        replay=spec.replay,
        **spec.train_options,
    )


def calibrate(
    name: str,
    splits,
    prepared: dict[str, Any],
    *,
    measure_seconds: float,
    threads: int | None,
    device: str = "cpu",
    train_options: dict[str, Any] | None = None,
) -> float:
    """Seconds a trial of ``name`` spends outside its training loop, measured once in
    set-up: building the model, the trainer's final validation and test passes, the
    test predictions, the latency measurement (bounded by ``measure_seconds``) and
    saving, plus one training step (``train_options``' batch size and precision): the
    trainer stops on its clock only between steps, so its last step can overrun the
    share by up to one, and the budget fit must see a model whose single step would eat
    the share (``task:listops``' LSTM once took 15 s a step against a 16 s share). The
    scheduler gives every trial the same wall-time share and the trainer the share
    minus this, so the trials end on time without starving the later ones."""
    old = torch.get_num_threads()
    if threads:
        torch.set_num_threads(max(1, int(threads)))
    try:
        start = time.perf_counter()
        model = build_candidate(
            name, splits, params=None, causal=prepared["causal"], seed=0,
            overrides=prepared["config"],
        )
        build = time.perf_counter() - start
        small = splits.test.subset(torch.arange(min(2, len(splits.test))))
        if len(small):
            # warm-up: pay first-call costs before timing the passes
            evaluate(model, small, splits.model_task, device=device)
        # The full passes are estimated from a sample, scaled by the number of rows: on
        # long series a full pass of both splits per model made set-up the budget's
        # largest item.
        start = time.perf_counter()
        rows = 0
        for part in (splits.val, splits.test):
            if len(part):
                sample = part.subset(torch.arange(min(_CALIBRATION_ROWS, len(part))))
                evaluate(model, sample, splits.model_task, device=device)
                rows += len(sample)
        per_row = (time.perf_counter() - start) / max(1, rows)
        # The test split is passed twice in a tested trial: the trainer's metrics, then
        # the per-example predictions (predict_labels); the validation split twice in a
        # fold trial: the trainer's metrics, then the per-example losses.
        passes = per_row * (2 * len(splits.val) + 2 * len(splits.test))
        step = training_step_seconds(model, splits, train_options or {}, device)
    finally:
        torch.set_num_threads(old)
    # measure_inference overruns its limit by about one repeat of each timing; saving
    # and bookkeeping are a few hundredths of a second.
    return build + passes + step + 1.25 * measure_seconds + 0.05


def training_step_seconds(model, splits, options: dict[str, Any], device: str) -> float:
    """Seconds of one training step of ``model`` (forward, loss, backward, optimizer) at
    ``options``' batch size and precision, timed on :data:`_STEP_ROWS` training rows and
    scaled to the batch (a step's cost grows with its rows). The model's weights change;
    calibration builds its own."""
    train_split = splits.train
    batch = min(int(options.get("batch_size", 32)), len(train_split))
    rows = min(batch, _STEP_ROWS)
    if rows < 1:
        return 0.0
    run_device = torch.device(device)
    precision = resolve_precision(options.get("precision", "fp32"), model, run_device)
    sample = train_split.subset(torch.arange(rows))
    x, model_mask, mask, y = to_device(sample, run_device)
    model.to(run_device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-6)
    start = time.perf_counter()
    with torch.autocast(run_device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        output = model(x, mask=model_mask)  # (B, O) or (B, L, O)
    training_loss(output.float(), y, mask, splits.model_task).backward()
    optimizer.step()
    elapsed = time.perf_counter() - start
    model.eval()
    return elapsed * batch / rows
