"""Stage 3 of the bake-off: fit the baselines, then run the network trials phase by phase,
each committed to the store as it finishes.

:func:`run_baselines` fits the baseline rows here, one after another (about a second
each). :func:`run_phases` runs the protocol's phases in order (hold-out: one; cv: every
"fold" trial, then each (model, seed)'s "refit" for as many epochs as its folds trained,
see :func:`~seqselect.bakeoff.protocol.refit_epochs`); :func:`run_trials` keeps ``slots``
trials of a phase in flight on the executor. Every finished trial is one store
transaction, so a killed bake-off loses none of them and a resume repeats none.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch

from seqselect.bakeoff.baseline_trials import run_baseline_trial
from seqselect.bakeoff.executors import Executor
from seqselect.bakeoff.plan import Plan, dataset_info
from seqselect.bakeoff.protocol import fold_of, refit_epochs
from seqselect.bakeoff.records import ScalingCell, Trial
from seqselect.bakeoff.schedule import Schedule
from seqselect.bakeoff.store import FINISHED, ResultsStore
from seqselect.bakeoff.trial import TrialSpec
from seqselect.bakeoff.tune import apply_choice  # issue 16
from seqselect.bench import run_bench
from seqselect.system import describe_environment

__all__ = [
    "Event", "emit", "record_run", "run_baselines", "run_environment", "run_phases",
    "run_trials", "scaling_cells",
]

#: ``fn(kind, payload)``: progress for displays (kinds: setup, skip, trial_start,
#: trial_done, scaling, done).
Event = Callable[[str, dict[str, Any]], None]


def emit(on_event: Event | None, kind: str, **payload: Any) -> None:
    if on_event is not None:
        on_event(kind, payload)


def run_environment(device: str, executor: Executor) -> dict[str, Any]:
    """What the run's timings depend on: the machine, torch's threads and the executor."""
    return {
        **describe_environment(device),
        "torch_threads": torch.get_num_threads(),
        **executor.describe(),
    }


def record_run(db: ResultsStore, run: str, plan: Plan, executor: Executor) -> None:
    """Store the run (a resumed one is refreshed), its protocol and test targets and, at
    once, the trials of candidates that cannot run here: they take no share of the
    budget."""
    db.create_run(
        run,
        dataset=plan.splits.name,
        args=plan.args,
        profile=plan.profile,
        advisor=plan.advice,
        environment={
            **run_environment(plan.args["device"], executor),
            "dataset": dataset_info(plan.splits, plan.source),
        },
    )
    db.save_protocol(run, plan.protocol, plan.splits.test.y.tolist())
    for model in plan.candidates:
        info = plan.prepared[model]
        if "error" in info:
            for _, seed, role in plan.keys([model], plan.roles[-1]):
                db.finish_trial(run, Trial(
                    run=run, model=model, seed=seed, role=role, status="failed",
                    error=info["error"], extra={"causal": info.get("causal"), "skipped": True},
                ))


def run_baselines(
    db: ResultsStore, run: str, plan: Plan, done: set, on_event: Event | None
) -> float:
    """Fit every baseline key of the plan not in ``done`` here, one after another, each
    committed as it ends. Returns the wall seconds (charged to the budget)."""
    start = time.perf_counter()
    for model, seed, role in plan.baseline_trials:
        if (model, seed, role) in done:
            continue
        db.start_trial(run, model, seed, role=role, kind="baseline")
        emit(on_event, "trial_start", model=model, seed=seed, role=role, baseline=True)
        trial = run_baseline_trial(
            model, plan.splits, plan.protocol, seed=seed, role=role,
            fold=fold_of(seed, plan.protocol) if role == "fold" else None, run=run,
        )
        db.finish_trial(run, trial)
        emit(on_event, "trial_done", model=model, seed=seed, role=role, result=trial)
    return time.perf_counter() - start


def _worker_failure(spec: TrialSpec, exc: BaseException) -> Trial:
    return Trial(
        model=spec.model,
        seed=spec.seed,
        role=spec.role,
        fold=spec.fold,
        status="failed",
        error=f"worker failed: {type(exc).__name__}: {exc}",
        extra={"budget_s": spec.train_seconds},
    )


def run_phases(
    executor: Executor, db: ResultsStore, schedule: Schedule, on_event: Event | None
) -> dict[str, float]:
    """Run the schedule's trials phase by phase (cv: every fold trial, then the refits,
    each as long as its model's folds trained); seconds per phase."""
    start = time.perf_counter()
    roles = schedule.plan.roles
    seconds: dict[str, float] = {}
    for index, role in enumerate(roles):
        keys = [key for key in schedule.todo if key[2] == role]
        later = sum(1 for key in schedule.todo if key[2] in roles[index + 1:])
        epochs = _refit_epochs(db, schedule) if role == "refit" else {}
        tick = time.perf_counter()
        run_trials(executor, db, schedule, on_event, keys=keys, later=later, start=start,
                   epochs=epochs)
        seconds["folds" if role == "fold" else "refits" if role == "refit" else "trials"] = (
            time.perf_counter() - tick
        )
    return seconds


def _refit_epochs(db: ResultsStore, schedule: Schedule) -> dict[str, int | None]:
    """Each model's refit epochs, from its stored fold trials (a resumed run included)."""
    trials = [t for t in db.trials(schedule.run) if t.role == "fold" and t.kind == "network"]
    task = schedule.plan.splits.task
    return {
        model: refit_epochs([t for t in trials if t.model == model], task)
        for model in schedule.plan.runnable
    }


def run_trials(
    executor: Executor,
    db: ResultsStore,
    schedule: Schedule,
    on_event: Event | None,
    *,
    keys: list[tuple[str, int, str]] | None = None,
    later: int = 0,
    start: float | None = None,
    epochs: dict[str, int | None] | None = None,
) -> float:
    """Dispatch ``keys`` (default: the whole schedule) keeping ``slots`` in flight; commit
    each as it ends. ``later`` trials of later phases still wait for their shares,
    ``start`` is when the networks' budget clock started, ``epochs`` a refit's epochs per
    model.

    Returns the wall seconds of this call.
    """
    began = time.perf_counter()
    start = began if start is None else start
    pending = list(schedule.todo if keys is None else keys)
    epochs = epochs or {}
    in_flight: dict[cf.Future, tuple[TrialSpec, float, float]] = {}
    excess: list[float] = []  # observed trial wall time beyond its share

    def dispatch() -> None:
        while pending and len(in_flight) < schedule.slots:
            key = pending.pop(0)
            waiting = len(pending) + 1 + len(in_flight)  # of this phase, this trial included
            share = schedule.share(time.perf_counter() - start, waiting, key[2], later)
            spec = schedule.spec(key, share, excess, max_epochs=epochs.get(key[0]))
            spec = apply_choice(spec, schedule.plan)  # issue 16: the --tune choice
            db.start_trial(schedule.run, spec.model, spec.seed, role=spec.role)
            emit(on_event, "trial_start", model=spec.model, seed=spec.seed, role=spec.role,
                 share_s=share, train_s=spec.train_seconds)
            in_flight[executor.submit(spec)] = (spec, time.perf_counter(), share)

    dispatch()
    while in_flight:
        finished, _ = cf.wait(list(in_flight), return_when=cf.FIRST_COMPLETED)
        for future in finished:
            spec, started, share = in_flight.pop(future)
            try:
                trial = future.result()
            # A worker process can die in any way (killed, out of memory, a pickling
            # error): the trial becomes a recorded failure and the bake-off goes on.
            except Exception as exc:
                trial = _worker_failure(spec, exc)
            wall = time.perf_counter() - started
            if _trained_to_its_share(trial, wall, share):
                excess.append(wall - share)
            trial = replace(trial, extra={**trial.extra, "wall_s": round(wall, 3)})
            db.finish_trial(schedule.run, trial)
            emit(on_event, "trial_done", model=spec.model, seed=spec.seed, role=spec.role,
                 result=trial)
        dispatch()
    return time.perf_counter() - began


def _trained_to_its_share(trial: Trial, wall: float, share: float) -> bool:
    """Does ``trial`` say how far a trial's overhead was off? Yes if it finished and ran
    over its share, or trained until its seconds ran out; not when it stopped early
    (epochs reached, early stopping), which would look like an over-estimated overhead."""
    if trial.status not in FINISHED:
        return False
    return wall > share or (trial.extra or {}).get("stopped_by") == "seconds"


def scaling_cells(
    splits, models: list[str], lengths: list[int], *, params: int | None, device: str = "cpu"
) -> list[dict[str, Any]]:
    """Inference time and peak memory of ``models`` at ``lengths`` (the bench harness,
    one subprocess per cell), as store rows."""
    if not models:
        return []
    report = run_bench(
        models,
        sorted({int(n) for n in lengths}),
        batch=8,
        params=params,
        modes=("infer",),
        repeats=3,
        warmup=1,
        device=device,
        d_input=splits.d_input or 1,
        d_output=splits.d_output,
        progress=False,
    )
    return [ScalingCell.from_bench(cell) for cell in report.results]
