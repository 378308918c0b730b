"""One configuration of a candidate's hyper-parameter search, run wherever the bake-off's
executor runs trials (this process, a spawned worker, a Ray task).

:func:`run_config` trains the candidate built with the configuration on the search's
split (validation data only: the protocol's fold 0 in cross-validation, the validation
split in hold-out; the test split is replaced by an empty one before training, so it is
never read) and reports the validation score of every validation point to Optuna's pruner.
The pruner decides in the worker: it gets the finished configurations of the search (plain
numbers, ``spec.tune["finished"]``) in a throw-away in-memory study, so the same median or
successive-halving rule runs in any process, and the trainer stops a pruned configuration
at once (``train(on_validate=...)``), which frees its time for the next configuration.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

import torch

from seqselect.bakeoff.protocol import trial_splits
from seqselect.bakeoff.records import Protocol, Trial
from seqselect.models import count_parameters, create_model
from seqselect.train import Budget, train
from seqselect.vocabulary import ranking_task, task_metric

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    import optuna

__all__ = ["make_pruner", "run_config", "search_splits"]

#: The seed every configuration trains with: configurations differ by their values only.
SEARCH_SEED = 0


def search_splits(splits, protocol: Protocol):
    """What a configuration trains and is scored on: cv: the pool minus fold 0 / fold 0;
    hold-out: the training / validation splits. The test split is empty in both."""
    if protocol.kind == "cv":
        return trial_splits(splits, protocol, "fold", 0)
    empty = splits.train.subset(torch.zeros(0, dtype=torch.long))  # the test split unread
    return replace(splits, test=empty)


def make_pruner(kind: str) -> optuna.pruners.BasePruner:
    """``median`` (the default): a configuration stops when its score at a validation point
    is worse than the median of the finished ones there (after 2 finished configurations
    and from its 4th validation point: the first ones, in the learning rate's warm-up, rank
    configurations by how fast they start, not where they end); ``halving``: asynchronous
    successive halving."""
    import optuna  # lazily: a bake-off without --tune never loads it
    if kind == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=4, reduction_factor=3)
    return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=3)


def _pruning_trial(tune: dict[str, Any]) -> optuna.trial.Trial:
    """A live trial in a throw-away study holding the search's finished configurations."""
    import optuna  # lazily: a bake-off without --tune never loads it
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction=tune["direction"], pruner=make_pruner(tune.get("pruner", "median"))
    )
    for done in tune.get("finished", []):
        state = optuna.trial.TrialState[done["state"]]
        study.add_trial(optuna.trial.create_trial(
            state=state,
            value=done["value"] if state == optuna.trial.TrialState.COMPLETE else None,
            intermediate_values={int(k): float(v) for k, v in done["intermediate"].items()},
        ))
    return study.ask()


def run_config(spec, splits) -> Trial:
    """Train configuration ``spec.tune["number"]`` of ``spec.model``; a role "tune"
    :class:`Trial` (never raises: a failure is a ``"failed"`` trial). ``extra`` holds the
    Optuna state (COMPLETE, PRUNED, FAIL), the score per validation point and the config."""
    tune = spec.tune
    extra: dict[str, Any] = {"state": "FAIL", "intermediate": {}, "tune_params": tune["params"]}
    row: dict[str, Any] = {
        "run": spec.run, "model": spec.model, "seed": int(tune["number"]), "role": "tune",
        "status": "failed", "extra": extra,
    }
    old_threads = torch.get_num_threads()
    try:
        data = search_splits(splits, Protocol.from_dict(spec.protocol or {"kind": "holdout"}))
        _train_config(spec, data, row)
    # The configuration boundary: a configuration that cannot be built or trained (a
    # depth no width of the parameter budget meets, out of memory) fails alone.
    except Exception as exc:
        log.debug("config %s of %s failed", tune["number"], spec.model, exc_info=True)
        row.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        extra["traceback"] = traceback.format_exc(limit=6)
    finally:
        torch.set_num_threads(old_threads)
    return Trial.from_dict(row)


def _train_config(spec, data, row: dict[str, Any]) -> None:
    tune, extra = spec.tune, row["extra"]
    torch.manual_seed(SEARCH_SEED)
    model = create_model(
        spec.model, **data.model_kwargs(), causal=spec.causal, params=spec.params,
        **tune["model_params"],
    )
    extra["config"] = asdict(model.config)
    row["params"] = count_parameters(model)
    metric, _ = task_metric(ranking_task(data.task, data.model_task))
    pruning = _pruning_trial(tune)
    scores: dict[int, float] = extra["intermediate"]

    def on_validate(entry: dict[str, Any]) -> bool:
        score = entry.get("val_metric")
        if score is None or score != score:  # no validation split, or NaN
            return False
        step = len(scores)
        scores[step] = float(score)
        pruning.report(float(score), step)
        return pruning.should_prune()

    budget = Budget(seconds=max(0.1, spec.train_seconds), epochs=spec.max_epochs or None)
    result = train(
        model, data, budget=budget, seed=SEARCH_SEED, device=spec.device,
        threads=spec.threads, progress=False, on_validate=on_validate, **spec.train_options,
    )
    value = (result.val_metrics or {}).get(metric)
    if result.stopped_by == "pruned":
        extra["state"], value = "PRUNED", scores[max(scores)]
    elif result.status == "ok" and value is not None and value == value:
        extra["state"] = "COMPLETE"
    row.update(
        status="ok" if extra["state"] != "FAIL" else "diverged",
        val_metrics={metric: value} if value is not None else {},
        train_s=float(result.train_seconds),
        history=list(result.history or []),
    )
    extra.update(stopped_by=result.stopped_by, epochs=result.epochs, metric=metric)
