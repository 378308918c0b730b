"""``seqselect bakeoff --tune N|auto``: an Optuna search per candidate inside the equal
budget, then the seeds on the chosen configuration.

The rule (the protocol of issue 13: selection on validation only):

* the networks' budget (what set-up and the baselines leave) is split: :data:`TUNE_SHARE`
  for the searches, the rest for the seeds, as without ``--tune``;
* every runnable candidate gets the same wall time for its search (``search_s``); ``N``
  configurations share it in waves of the executor's slots, ``auto`` gives each
  configuration ``search_s / AUTO_CONFIGS`` (per wave) and runs as many as fit — a pruned
  configuration ends early and frees its time for the next;
* the first configuration of every search is the recipe's own (the defaults), so a search
  can only keep or improve the validation score the seeds would otherwise start from;
* Optuna's TPE sampler proposes, the median (or successive-halving) pruner stops a
  configuration early on its validation score at each validation point
  (:mod:`~seqselect.bakeoff.tune_worker`); a configuration is scored on the protocol's
  fold 0 (cv) or the validation split (hold-out), never on the test split;
* the chosen configuration is the best COMPLETE one on validation; the seeds then build the
  candidate with its config and train with its optimiser values (:func:`apply_choice`).

Each finished configuration is committed to the store as it ends
(:mod:`~seqselect.bakeoff.tune_store`); a resumed run replays them into the study and
spends only the search time they left.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seqselect.bakeoff.records import Trial
from seqselect.bakeoff.trial import TrialSpec
from seqselect.bakeoff.tune_store import ConfigRow, TuneStore
from seqselect.errors import SeqSelectError
from seqselect.models.search_spaces import TRAIN_SPACE, Param, search_space
from seqselect.train.recipe import train_options_for
from seqselect.vocabulary import ranking_task, task_metric

if TYPE_CHECKING:
    import optuna

__all__ = [
    "AUTO_CONFIGS", "TUNE_SHARE", "Choice", "apply_choice", "parse_tune", "run_tuning",
    "tuning_summary",
]

#: Part of the networks' budget the searches get (the seeds get the rest).
TUNE_SHARE = 0.5
#: ``--tune auto``: each configuration's wall time is the search's time / this (per wave).
AUTO_CONFIGS = 6
#: A configuration is started only with at least this part of its planned time left.
_START_FRACTION = 0.5
#: Part of a configuration's wall time given to its trainer (the rest: build, last pass).
_TRAIN_FRACTION = 0.85
PRUNERS = ("median", "halving")


def parse_tune(value: Any) -> int | str | None:
    """``--tune``: None/"none"/"0" (no search), ``"auto"`` or a count >= 1."""
    if value is None or str(value).strip().lower() in ("", "none", "0", "off"):
        return None
    text = str(value).strip().lower()
    if text == "auto":
        return "auto"
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise SeqSelectError(
            f"--tune must be a number of configurations (>= 1) or 'auto', got {value!r}"
        )
    return count


@dataclass(frozen=True)
class Choice:
    """A candidate's chosen configuration and the search behind it."""

    model: str
    number: int | None  # the chosen configuration (None: none finished; defaults kept)
    params: dict[str, Any]
    value: float | None  # its validation score
    config: dict[str, Any]  # the model config the seeds build
    train_options: dict[str, Any]  # the optimiser values the seeds train with
    n_configs: int
    n_pruned: int
    wall_s: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _distribution(p: Param) -> optuna.distributions.BaseDistribution:
    import optuna  # lazily: a bake-off without --tune never loads it
    if p.kind == "float":
        return optuna.distributions.FloatDistribution(p.low, p.high, log=p.log)
    if p.kind == "int":
        return optuna.distributions.IntDistribution(int(p.low), int(p.high))
    return optuna.distributions.CategoricalDistribution(list(p.choices))


def _space(plan, model: str) -> tuple[Param, ...]:
    """The declared space less the training values the user fixed (``train_options``)."""
    fixed = plan.args.get("train_options") or {}
    space = search_space(model, plan.prepared[model]["config"])
    return tuple(p for p in space if not (p.target == "train" and p.name in fixed))


def _defaults(plan, model: str, space: tuple[Param, ...]) -> dict[str, Any]:
    """The recipe's values of ``space`` (those inside it): the search's first config."""
    known = {**train_options_for(model, plan.splits), **plan.prepared[model]["config"]}
    out = {}
    for p in space:
        value = known.get(p.name)
        if value is None:
            continue
        inside = value in p.choices if p.kind == "categorical" else p.low <= value <= p.high
        if inside:
            out[p.name] = value
    return out


def replay(rows: list[ConfigRow], space: tuple[Param, ...], direction: str, seed: int):
    """A fresh study (TPE sampler) holding the stored configurations ``rows``."""
    import optuna  # lazily: a bake-off without --tune never loads it
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction=direction,
        sampler=optuna.samplers.TPESampler(n_startup_trials=3, seed=seed),
    )
    dists = {p.name: _distribution(p) for p in space}
    for row in rows:
        params = {k: v for k, v in row.params.items() if k in dists}
        state = optuna.trial.TrialState[row.state]
        study.add_trial(optuna.trial.create_trial(
            params=params, distributions={k: dists[k] for k in params},
            value=row.value if state == optuna.trial.TrialState.COMPLETE else None,
            intermediate_values=row.intermediate, state=state,
        ))
    return study


@dataclass
class _Search:
    """One candidate's search in flight (the driver's side)."""

    model: str
    space: tuple[Param, ...]
    study: Any
    rows: list[ConfigRow]
    limit: int | None  # configurations to run in all (None: as many as fit)
    config_s: float
    next_number: int
    defaults: dict[str, Any]

    @property
    def finished(self) -> list[dict[str, Any]]:
        """The finished configurations, as the worker's pruner takes them."""
        return [
            {"state": r.state, "value": r.value, "intermediate": r.intermediate}
            for r in self.rows if r.state in ("COMPLETE", "PRUNED")
        ]


def _spec(plan, run: str, search: _Search, trial, seconds: float) -> TrialSpec:
    params = {p.name: trial.params[p.name] for p in search.space}
    model = search.model
    train_part = {p.name: params[p.name] for p in search.space if p.target == "train"}
    options = {**train_options_for(model, plan.splits), **plan.args["train_options"]}
    options.update(train_part, restore_best=False)  # scored on its final state
    number = search.next_number
    search.next_number += 1
    return TrialSpec(
        run=run, model=model, seed=number, train_seconds=round(seconds, 3),
        measure_seconds=0.0, params=plan.args.get("build_params", plan.args["params"]),
        causal=plan.prepared[model]["causal"], max_epochs=plan.args["max_epochs"],
        device=plan.args["device"], train_options=options, role="tune",
        fold=0 if plan.protocol.kind == "cv" else None, protocol=plan.protocol.to_dict(),
        tune={
            "number": number, "params": params,
            "model_params": {p.name: params[p.name] for p in search.space
                             if p.target == "model"},
            "direction": search.study.direction.name.lower(),
            "pruner": plan.args.get("tune_pruner") or "median",
            "finished": search.finished,
        },
    )


def _row(search: _Search, result, wall: float) -> ConfigRow:
    extra = result.extra or {}
    state = extra.get("state", "FAIL") if result.status != "failed" else "FAIL"
    value = next(iter((result.val_metrics or {}).values()), None) if state != "FAIL" else None
    return ConfigRow(
        model=search.model, number=int(result.seed), state=state,
        params=extra.get("tune_params", {}), value=value,
        intermediate={int(k): v for k, v in (extra.get("intermediate") or {}).items()},
        config=extra.get("config") or {}, wall_s=round(wall, 3),
        extra={"error": result.error, "stopped_by": extra.get("stopped_by"),
               "epochs": extra.get("epochs"), "train_s": result.train_s},
    )


def _tried(rows: list[ConfigRow], values: dict[str, Any]) -> bool:
    """Whether a stored configuration already has ``values`` (the defaults)."""
    return any(all(r.params.get(k) == v for k, v in values.items()) for r in rows)


def _worker_failure(spec: TrialSpec, exc: BaseException) -> Trial:
    return Trial(model=spec.model, seed=spec.seed, role="tune", status="failed",
                 error=f"worker failed: {type(exc).__name__}: {exc}",
                 extra={"tune_params": spec.tune["params"]})


def _tell(search: _Search, trial, row: ConfigRow) -> None:
    """Give the driver's study the configuration's outcome (its sampler learns from it)."""
    import optuna  # lazily: a bake-off without --tune never loads it
    for step, value in sorted(row.intermediate.items()):
        trial.report(value, step)
    state = optuna.trial.TrialState[row.state]
    search.study.tell(trial, row.value if state == optuna.trial.TrialState.COMPLETE else None,
                      state=state)


def _run_search(executor, store: TuneStore, plan, run: str, search: _Search,
                seconds: float, on_event) -> None:
    """Run ``search``'s configurations, ``executor.slots`` at a time, until its limit or its
    ``seconds`` (less what stored configurations spent) run out; each committed as it ends."""
    start = time.perf_counter()
    # configurations run ``slots`` at a time: their wall times add up ``slots`` per wave
    spent = sum(r.wall_s for r in search.rows) / max(1, executor.slots)
    in_flight: dict[cf.Future, tuple[Any, float, TrialSpec]] = {}

    def left() -> float:
        return seconds - spent - (time.perf_counter() - start)

    def more() -> bool:
        count = len(search.rows) + len(in_flight)
        under = search.limit is None or count < search.limit
        return under and left() >= _START_FRACTION * search.config_s

    while True:
        while len(in_flight) < executor.slots and more():
            if search.defaults and not _tried(search.rows, search.defaults):
                search.study.enqueue_trial(search.defaults)
                search.defaults = {}  # enqueued once (a resumed search: if not yet tried)
            trial = search.study.ask({p.name: _distribution(p) for p in search.space})
            wall = min(search.config_s, left())
            spec = _spec(plan, run, search, trial, _TRAIN_FRACTION * wall)
            in_flight[executor.submit(spec)] = (trial, time.perf_counter(), spec)
        if not in_flight:
            return
        finished, _ = cf.wait(list(in_flight), return_when=cf.FIRST_COMPLETED)
        for future in finished:
            trial, began, spec = in_flight.pop(future)
            try:
                result = future.result()
            # A worker can die in any way (killed, out of memory): the configuration is a
            # recorded failure and the search goes on, as a trial's would.
            except Exception as exc:
                result = _worker_failure(spec, exc)
            row = _row(search, result, time.perf_counter() - began)
            store.add(run, row)
            search.rows.append(row)
            _tell(search, trial, row)
            if on_event is not None:
                on_event("tune_done", {"model": search.model, "row": row})


def _new_search(plan, run: str, model: str, rows: list[ConfigRow], tune, seconds: float,
                slots: int) -> _Search:
    space = _space(plan, model)
    higher = _higher(plan)
    # Seeded by run, model and what is stored: a resumed search proposes new values
    # rather than the ones its first run already tried.
    seed = zlib.crc32(f"{run}/{model}/{len(rows)}".encode())
    planned = AUTO_CONFIGS if tune == "auto" else int(tune)
    waves = math.ceil(planned / max(1, slots))
    return _Search(
        model=model, space=space,
        study=replay(rows, space, "maximize" if higher else "minimize", seed),
        rows=list(rows), limit=None if tune == "auto" else int(tune),
        config_s=seconds / max(1, waves),
        next_number=max((r.number for r in rows), default=-1) + 1,
        defaults=_defaults(plan, model, space),
    )


def choose(rows: list[ConfigRow], model: str, *, higher: bool,
           default_config: dict[str, Any] | None = None) -> Choice:
    """The best COMPLETE configuration of ``rows`` on validation (ties: the earlier one);
    without one, the defaults (``default_config``) stay."""
    done = [r for r in rows if r.state == "COMPLETE" and r.value is not None]
    best = None
    for row in done:
        if best is None or (row.value > best.value if higher else row.value < best.value):
            best = row
    train_names = {p.name for p in TRAIN_SPACE}
    return Choice(
        model=model,
        number=best.number if best else None,
        params=dict(best.params) if best else {},
        value=best.value if best else None,
        config=dict(best.config) if best else dict(default_config or {}),
        train_options={k: v for k, v in (best.params if best else {}).items()
                       if k in train_names},
        n_configs=len(rows),
        n_pruned=sum(r.state == "PRUNED" for r in rows),
        wall_s=round(sum(r.wall_s for r in rows), 3),
    )


def run_tuning(executor, store_path: str | Path, plan, run: str, *, seconds: float,
               on_event=None) -> dict[str, Choice]:
    """Search every runnable candidate for ``seconds / candidates`` wall seconds each (the
    same for all), then record each choice in ``plan.prepared[model]`` (``config`` is what
    the seeds build, ``tuned`` the choice). Returns the choices."""
    tune = plan.args.get("tune")
    models = plan.runnable
    store = TuneStore(store_path)
    per_model = seconds / max(1, len(models))
    choices = {}
    for model in models:
        rows = store.rows(run, model)
        search = _new_search(plan, run, model, rows, tune, per_model, executor.slots)
        _run_search(executor, store, plan, run, search, per_model, on_event)
        choice = choose(search.rows, model, higher=_higher(plan),
                        default_config=plan.prepared[model]["config"])
        plan.prepared[model]["config"] = choice.config
        plan.prepared[model]["tuned"] = choice.to_dict()
        choices[model] = choice
    return choices


def apply_choice(spec: TrialSpec, plan) -> TrialSpec:
    """A seed trial of a tuned candidate trains with the chosen optimiser values (its
    config already came from ``plan.prepared``); untuned candidates pass unchanged."""
    tuned = plan.prepared.get(spec.model, {}).get("tuned")
    if tuned:
        spec.train_options = {**spec.train_options, **tuned["train_options"]}
    return spec


def tuning_summary(store_path: str | Path, run: str, *, higher: bool) -> dict[str, Any]:
    """Every search of ``run``: its configurations (``history``) and the chosen one per
    model, as the JSON document and the report show them ({} without a search)."""
    if not Path(store_path).exists():
        return {}
    rows = TuneStore(store_path).rows(run)
    out: dict[str, Any] = {}
    for model in dict.fromkeys(r.model for r in rows):
        mine = [r for r in rows if r.model == model]
        chosen = choose(mine, model, higher=higher).to_dict()
        out[model] = {"history": [r.to_dict() for r in mine], "chosen": chosen}
    return out


def _higher(plan) -> bool:
    return task_metric(ranking_task(plan.splits.task, plan.splits.model_task))[1]
