"""The bake-off: train the candidates on the user's data under an equal budget and several
seeds, measure what each costs, and pick a winner under the user's constraints.

The stages, in the order the data flows through them:

1. :mod:`~seqselect.bakeoff.plan`: check the request, load and profile the data, ask
   the advisor, build each candidate once;
2. :mod:`~seqselect.bakeoff.schedule`: share the budget among the trials still to run;
3. :mod:`~seqselect.bakeoff.run`: run them on an executor, each committed to the store;
4. :mod:`~seqselect.bakeoff.decide`: leaderboard, winner and the verdict's sentences;
5. :mod:`~seqselect.bakeoff.result`: the result from the store, and the winner's export.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from seqselect.bakeoff.executors import Executor, make_executor
from seqselect.bakeoff.plan import (
    BakeoffRequest,
    Plan,
    check_resume,
    dataset_info,
    default_run_name,
    make_plan,
)
from seqselect.bakeoff.result import BakeoffResult, result_from_store, run_summary
from seqselect.bakeoff.run import Event, emit, record_run, run_trials, scaling_cells
from seqselect.bakeoff.schedule import Schedule, make_schedule, timing
from seqselect.bakeoff.store import DEFAULT_STORE, ResultsStore

__all__ = ["bakeoff"]


def bakeoff(
    data: str | Any,
    *,
    task: str | None = None,
    target: str | None = None,
    models: str | list[str] | None = "auto",
    budget: str | float = "10m",
    seeds: int = 3,
    params: int | None = None,
    max_latency_ms: float | None = None,
    max_memory_mb: float | None = None,
    max_params: int | None = None,
    executor: str = "local",
    jobs: int = 1,
    ray_address: str | None = None,
    ray_cpus: int | None = None,
    cpus_per_trial: int | None = None,
    store: str | Path = DEFAULT_STORE,
    run: str | None = None,
    device: str = "cpu",
    max_epochs: int | None = 500,
    train_options: dict[str, Any] | None = None,
    data_options: dict[str, Any] | None = None,
    export: str | Path | None = None,
    scaling: list[int] | None = None,
    on_event: Event | None = None,
) -> BakeoffResult:
    """Train ``models`` on ``data`` and rank them (the stages: see the module docstring).

    ``data`` is a file path, a bundled name (``ucr:GunPoint``, ``task:adding?length=50``)
    or loaded ``DatasetSplits``; ``task``/``target``/``data_options`` go to the loader.
    ``models`` is ``"auto"`` (the advisor's shortlist plus one baseline) or names;
    ``budget`` the wall time of all trials together (``"10m"``, seconds), shared as
    :mod:`~seqselect.bakeoff.schedule` says; ``seeds`` trials per model; ``params`` every
    candidate's parameter count (±10%); ``max_*`` the winner's constraints;
    ``executor``/``jobs``/``ray_*``/``cpus_per_trial`` where trials run; ``store``/``run``
    the results database and run name (an existing run resumes); ``export`` a folder for
    the winner; ``scaling`` lengths to benchmark inference at afterwards (outside the
    budget); ``on_event(kind, payload)`` progress (setup, skip, trial_start, trial_done,
    scaling, done).

    Raises:
        SeqSelectError: bad input (data, model names, budget, options), before any training.
    """
    setup_start = time.perf_counter()
    request = BakeoffRequest(
        budget=budget, task=task, target=target, models=models, seeds=seeds, params=params,
        max_latency_ms=max_latency_ms, max_memory_mb=max_memory_mb, max_params=max_params,
        executor=executor, jobs=jobs, device=device, run=run, max_epochs=max_epochs,
        train_options=train_options or {}, data_options=data_options or {},
    )
    plan = make_plan(data, request)
    db = ResultsStore(store)
    run_name = run or default_run_name(plan.splits.name)
    check_resume(db.get_run(run_name), plan.args)
    workers = make_executor(
        executor, jobs=jobs, ray_address=ray_address, ray_cpus=ray_cpus,
        cpus_per_trial=cpus_per_trial, device=request.device,
    )
    schedule, setup_s, trials_s = _set_up_and_run(
        workers, db, plan, run_name, setup_start, on_event
    )
    if scaling:
        emit(on_event, "scaling", lengths=list(scaling))
        db.add_bench_cells(run_name, scaling_cells(
            plan.splits, plan.runnable, scaling, params=params, device=request.device
        ))
    result = result_from_store(
        db, run_name, timing=timing(schedule, setup_s=setup_s, trials_s=trials_s),
        splits_info=dataset_info(plan.splits, plan.source),
    )
    if export is not None:
        result.export_winner(export, plan.splits)
    db.finish_run(run_name, run_summary(result))
    emit(on_event, "done", result=result)
    return result


def _set_up_and_run(
    workers: Executor,
    db: ResultsStore,
    plan: Plan,
    run_name: str,
    setup_start: float,
    on_event: Event | None,
) -> tuple[Schedule, float, float]:
    """Start the workers, record the run, share the budget, run the trials; the workers
    are closed whatever happens. Returns the schedule, set-up and trial-phase seconds."""
    done = db.finished_trials(run_name)
    try:
        workers.start(plan.splits, max(1, len([p for p in plan.trials if p not in done])))
        record_run(db, run_name, plan, workers)
        schedule = make_schedule(
            plan, run_name, done=done, slots=workers.slots, threads=workers.threads,
            runs_dir=db.runs_dir,
        )
        setup_s = time.perf_counter() - setup_start
        _announce(on_event, plan, schedule, workers.describe(), setup_s, done)
        trials_s = run_trials(workers, db, schedule, on_event)
    finally:
        workers.close()
    return schedule, setup_s, trials_s


def _announce(
    on_event: Event | None,
    plan: Plan,
    schedule: Schedule,
    executor: dict[str, Any],
    setup_s: float,
    done: set[tuple[str, int]],
) -> None:
    """The ``setup`` event, then a ``skip`` for each trial kept from an earlier run."""
    emit(
        on_event,
        "setup",
        run=schedule.run,
        dataset=plan.splits.name,
        candidates=plan.candidates,
        seeds=plan.args["seeds"],
        trials=schedule.n_trials,
        todo=len(schedule.todo),
        share_s=schedule.nominal_s,
        budget_s=plan.args["budget_s"],
        setup_s=setup_s,
        executor=executor,
        advisor_pick=plan.advice.get("pick"),
    )
    for model, seed in sorted(done):
        if (model, seed) in plan.trials:
            emit(on_event, "skip", model=model, seed=seed)
