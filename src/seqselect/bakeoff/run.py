"""Stage 3 of the bake-off: run the trials, each committed to the store as it finishes.

:func:`run_trials` keeps ``slots`` trials in flight on the executor; every finished trial
is one store transaction, so a killed bake-off loses none of them.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch

from seqselect.bakeoff.executors import Executor
from seqselect.bakeoff.plan import Plan, dataset_info
from seqselect.bakeoff.records import ScalingCell, Trial
from seqselect.bakeoff.schedule import Schedule
from seqselect.bakeoff.store import FINISHED, ResultsStore
from seqselect.bakeoff.trial import TrialSpec
from seqselect.bench import run_bench
from seqselect.system import describe_environment

__all__ = ["Event", "emit", "record_run", "run_environment", "run_trials", "scaling_cells"]

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
    """Store the run (a resumed one is refreshed) and, at once, the trials of candidates
    that cannot run here: they take no share of the budget."""
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
    for model in plan.candidates:
        info = plan.prepared[model]
        if "error" in info:
            for seed in plan.seeds:
                db.finish_trial(run, Trial(
                    run=run, model=model, seed=seed, status="failed", error=info["error"],
                    extra={"causal": info.get("causal"), "skipped": True},
                ))


def _worker_failure(spec: TrialSpec, exc: BaseException) -> Trial:
    return Trial(
        model=spec.model,
        seed=spec.seed,
        status="failed",
        error=f"worker failed: {type(exc).__name__}: {exc}",
        extra={"budget_s": spec.train_seconds},
    )


def run_trials(
    executor: Executor, db: ResultsStore, schedule: Schedule, on_event: Event | None
) -> float:
    """Dispatch the schedule's trials keeping ``slots`` in flight; commit each as it ends.

    Returns the wall seconds of the phase.
    """
    start = time.perf_counter()
    pending = list(schedule.todo)
    in_flight: dict[cf.Future, tuple[TrialSpec, float, float]] = {}
    excess: list[float] = []  # observed trial wall time beyond its share

    def dispatch() -> None:
        while pending and len(in_flight) < schedule.slots:
            model, seed = pending.pop(0)
            share = schedule.share(time.perf_counter() - start, len(pending) + 1 + len(in_flight))
            spec = schedule.spec(model, seed, share, excess)
            db.start_trial(schedule.run, model, seed)
            emit(on_event, "trial_start", model=model, seed=seed, share_s=share,
                 train_s=spec.train_seconds)
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
            if trial.status in FINISHED:
                excess.append(wall - share)
            trial = replace(trial, extra={**trial.extra, "wall_s": round(wall, 3)})
            db.finish_trial(schedule.run, trial)
            emit(on_event, "trial_done", model=spec.model, seed=spec.seed, result=trial)
        dispatch()
    return time.perf_counter() - start


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
