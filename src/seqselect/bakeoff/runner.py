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

from seqselect.bakeoff.budget_fit import BudgetFit, apply_fit, fit_to_budget
from seqselect.bakeoff.executors import Executor, make_executor
from seqselect.bakeoff.plan import (
    BakeoffRequest,
    Plan,
    check_resume,
    check_same_folds,
    dataset_info,
    default_run_name,
    make_plan,
)
from seqselect.bakeoff.replay import ReplaySetup, prepare_replay
from seqselect.bakeoff.result import (
    BakeoffResult,
    mase_test_scale,
    result_from_store,
    run_summary,
)
from seqselect.bakeoff.run import (
    Event,
    emit,
    record_run,
    run_baselines,
    run_phases,
    scaling_cells,
)
from seqselect.bakeoff.schedule import (
    Schedule,
    calibrate_models,
    closing_reserve,
    make_schedule,
    measure_seconds,
    nominal_share,
    phase_weights,
    timing,
    trials_by_role,
    with_closing,
)
from seqselect.bakeoff.store import DEFAULT_STORE, ResultsStore
from seqselect.bakeoff.tune import TUNE_SHARE, run_tuning  # issue 16

__all__ = ["MIN_NETWORK_SHARE", "bakeoff"]

#: The networks always get at least this part of the budget: a set-up (or baselines)
#: costing more than the rest makes the run overrun, which ``timing`` reports, rather
#: than train every candidate for nothing.
MIN_NETWORK_SHARE = 0.25
#: The timing document's phase names and the trial roles they run.
_PHASE_ROLES = {"folds": "fold", "refits": "refit", "trials": "trial"}


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
    baselines: str | list[str] | None = "auto",
    tune: int | str | None = None, tune_pruner: str = "median",  # issue 16
    export: str | Path | None = None,
    scaling: list[int] | None = None,
    on_event: Event | None = None,
    trim_to_budget: bool = True,
    replay: str | None = None,
    clock_start: float | None = None,
) -> BakeoffResult:
    """Train ``models`` on ``data`` and rank them (the stages: see the module docstring).

    ``data``: a file, a bundled name (``ucr:GunPoint``) or loaded ``DatasetSplits``;
    ``task``/``target``/``data_options`` go to the loader. ``models``: ``"auto"`` (the
    advisor's shortlist) or names; ``budget``: the whole bake-off's wall time, shared as
    :mod:`~seqselect.bakeoff.schedule` says, under :mod:`~seqselect.bakeoff.protocol`'s
    protocol; ``baselines``: ``"auto"``, ``"none"`` or names (leaderboard rows); ``tune``:
    :mod:`.tune`; ``seeds`` per model; ``params`` every candidate's size (±10%); ``max_*``
    the winner's constraints; ``executor``/``jobs``/``ray_*``/``cpus_per_trial`` where trials run;
    ``store``/``run`` the database and run name (an existing run resumes); ``export`` the
    winner's folder; ``scaling`` lengths to benchmark afterwards (outside the budget);
    ``on_event(kind, payload)`` progress; ``trim_to_budget=False`` keeps every seed,
    baseline and candidate where fixed costs would starve the trials (:mod:`~seqselect.bakeoff.
    budget_fit`; the budget may then be overrun). ``replay`` names a stored run to
    repeat exactly (:mod:`~seqselect.bakeoff.replay`): its settings replace the others,
    and every network trial redoes its recorded work into the new run ``run`` (default
    ``RUN-replay``); compare the two with :func:`~seqselect.bakeoff.replay.compare_runs`.
    ``clock_start``: the ``perf_counter()`` the budget counts from (default: now; the CLI
    passes its process's start: start-up is charged as set-up, its writing kept back).

    Raises:
        SeqSelectError: bad input (data, model names, budget, options), before any training.
    """
    setup_start = time.perf_counter() if clock_start is None else clock_start
    db = ResultsStore(store)
    request, replaying = _request(db, data, replay, dict(
        budget=budget, task=task, target=target, models=models, seeds=seeds, params=params,
        max_latency_ms=max_latency_ms, max_memory_mb=max_memory_mb, max_params=max_params,
        device=device, max_epochs=max_epochs, train_options=train_options or {},
        data_options=data_options or {}, baselines=baselines, executor=executor, jobs=jobs,
        run=run, tune=tune, tune_pruner=tune_pruner))
    plan = make_plan(data, request)
    if replaying is not None:  # the stored fit, if it had one, and no other
        trim_to_budget = replaying.fit is not None
        plan.args["replay_of"] = replaying.original
    run_name = request.run or default_run_name(plan.splits.name)
    check_resume(db.get_run(run_name), plan.args)
    check_same_folds(db.protocol(run_name)[0], plan.protocol, run_name)
    workers = make_executor(executor, jobs=jobs, ray_address=ray_address, ray_cpus=ray_cpus,
                            cpus_per_trial=cpus_per_trial, device=request.device)
    schedule, seconds = _set_up_and_run(
        workers, db, plan, run_name, setup_start, on_event, trim=trim_to_budget,
        command=clock_start is not None,
        replays=replaying.work if replaying else None, fit=replaying.fit if replaying else None,
    )
    if scaling:
        _add_scaling(db, run_name, plan, scaling, on_event)
    return _finish(db, run_name, plan, timing(schedule, **seconds), export, on_event)


def _finish(
    db: ResultsStore, run_name: str, plan: Plan, timed: dict[str, Any],
    export: str | Path | None, on_event: Event | None,
) -> BakeoffResult:
    """The result from the store (decided there), the winner exported, the run closed;
    the time this takes is the timing's closing phase."""
    tick = time.perf_counter()
    result = result_from_store(
        db, run_name, timing=timed, splits_info=dataset_info(plan.splits, plan.source),
        test_scale=mase_test_scale(plan.splits),  # forecasting: the interval on MASE
    )
    if export is not None:
        result.export_winner(export, plan.splits)
    result.timing = with_closing(result.timing, time.perf_counter() - tick)
    db.finish_run(run_name, run_summary(result))
    emit(on_event, "done", result=result)
    return result


def _request(
    db: ResultsStore, data: Any, replay: str | None, settings: dict[str, Any]
) -> tuple[BakeoffRequest, ReplaySetup | None]:
    """The checked request; a replay's takes the stored run's settings (no tuning)."""
    if replay is None:
        return BakeoffRequest(**settings), None
    replaying = prepare_replay(db, replay, data, settings["run"])
    return BakeoffRequest(**{**settings, **replaying.settings, "run": replaying.run,
                             "tune": None}), replaying


def _add_scaling(
    db: ResultsStore, run_name: str, plan: Plan, lengths: list[int], on_event: Event | None
) -> None:
    """The candidates' inference time and memory at ``lengths``, stored with the run."""
    emit(on_event, "scaling", lengths=list(lengths))
    db.add_bench_cells(run_name, scaling_cells(
        plan.splits, plan.runnable, lengths, params=plan.args.get("params"),
        device=plan.args["device"],
    ))


def _set_up_and_run(
    workers: Executor,
    db: ResultsStore,
    plan: Plan,
    run_name: str,
    setup_start: float,
    on_event: Event | None,
    *,
    trim: bool = True,
    replays: dict | None = None,
    fit: dict[str, Any] | None = None,
    command: bool = False,
) -> tuple[Schedule, dict[str, dict[str, float]]]:
    """Start the workers, record the run, calibrate each model once, fit the baselines,
    share what is left of the budget among the network trials and run them phase by
    phase; the workers are closed whatever happens. Returns the schedule and the
    ``timing`` arguments (``actual`` and ``planned`` seconds per phase)."""
    done = db.finished_trials(run_name)
    budget_s = plan.args["budget_s"]
    todo = [key for key in plan.trials if key not in done]
    try:
        workers.start(plan.splits, max(1, len(todo)))
        record_run(db, run_name, plan, workers)
        guess = nominal_share(budget_s, trials_by_role(plan.trials, plan.roles), workers.slots,
                              phase_weights(plan.protocol))
        overhead = calibrate_models(
            plan, [m for m, _, _ in todo], limit=measure_seconds(guess), threads=workers.threads
        )
        setup_s = time.perf_counter() - setup_start
        baselines_s = run_baselines(db, run_name, plan, done, on_event, trim=trim)
        # What the networks share: the budget less set-up and baselines (both measured)
        # and the closing reserve; a resumed run gets the part of it its remaining trials
        # would have had.
        closing = closing_reserve(budget_s, command)
        left = max(MIN_NETWORK_SHARE * budget_s, budget_s - setup_s - baselines_s - closing)
        tune_s, tune_plan, left = _tune(workers, db, plan, run_name, left, on_event)  # 16
        if trim:
            plan = _fit_plan(db, run_name, plan, overhead, left, workers, done, fit)
        todo = [key for key in plan.trials if key not in done]
        share_of_run = len(todo) / max(1, len(plan.trials))
        schedule = make_schedule(
            plan, run_name, done=done, slots=workers.slots, threads=workers.threads,
            runs_dir=db.runs_dir, budget_s=left * share_of_run, overhead=overhead,
            replays=replays,
        )
        _announce(on_event, plan, schedule, workers.describe(), setup_s, done)
        phases = run_phases(workers, db, schedule, on_event)
    finally:
        workers.close()
    planned = {"setup": setup_s, "baselines": baselines_s}
    if plan.args.get("tune"):  # issue 16
        planned["tune"] = tune_plan
    for phase in phases:
        planned[phase] = schedule.phase_budget(_PHASE_ROLES[phase])
    planned["closing"] = closing
    actual = {"setup": setup_s, "baselines": baselines_s, **phases}
    if plan.args.get("tune"):  # issue 16
        actual["tune"] = tune_s
    return schedule, {"actual": actual, "planned": planned}


def _fit_plan(
    db: ResultsStore, run_name: str, plan: Plan, overhead: dict[str, float], left: float,
    workers: Executor, done: set[tuple[str, int, str]], given: dict[str, Any] | None = None,
) -> Plan:
    """``plan`` fitted to the networks' budget (:mod:`~seqselect.bakeoff.budget_fit`);
    a resumed run keeps the fit it was first given, a replay its original's (``given``).
    A changed plan is stored again."""
    previous = given or (db.get_run(run_name) or {}).get("args", {}).get("budget_fit")
    if previous:
        fit = BudgetFit.from_dict(previous)
    else:
        share_of_run = len([k for k in plan.trials if k not in done]) / max(1, len(plan.trials))
        fit = fit_to_budget(
            plan.runnable, plan.args["seeds"], overhead, budget_s=left * share_of_run,
            slots=workers.slots, protocol=plan.protocol,
            may_drop=plan.args.get("models_arg") == "auto",
        )
    fitted = apply_fit(plan, fit)
    if fitted is not plan:
        record_run(db, run_name, fitted, workers)
        db.update_run_args(run_name, fitted.args)
    return fitted


def _tune(workers, db, plan, run_name, left, on_event) -> tuple[float, float, float]:
    """issue 16: with ``--tune``, every candidate's search in :data:`TUNE_SHARE` of the
    networks' budget. Returns ``(seconds searched now, the searches' planned seconds,
    the networks' budget left for the seeds)``: the seeds get what the searches (stored
    ones included; parallel configurations counted once per wave) did not spend."""
    if not plan.args.get("tune"):
        return 0.0, 0.0, left
    tick = time.perf_counter()
    planned = TUNE_SHARE * left
    choices = run_tuning(workers, db.path, plan, run_name, seconds=planned, on_event=on_event)
    spent = sum(choice.wall_s for choice in choices.values()) / max(1, workers.slots)
    return time.perf_counter() - tick, planned, max(MIN_NETWORK_SHARE * left, left - spent)


def _announce(
    on_event: Event | None,
    plan: Plan,
    schedule: Schedule,
    executor: dict[str, Any],
    setup_s: float,
    done: set[tuple[str, int, str]],
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
        network_budget_s=schedule.budget_s,
        setup_s=setup_s,
        executor=executor,
        advisor_pick=plan.advice.get("pick"),
        protocol=plan.protocol.to_dict(),
        baselines=plan.baselines,
    )
    for model, seed, role in sorted(done):
        if (model, seed, role) in plan.trials:
            emit(on_event, "skip", model=model, seed=seed, role=role)
