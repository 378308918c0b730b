"""Stage 3 of the bake-off: fit the baselines, then run the network trials phase by phase,
each committed to the store as it finishes.

:func:`run_baselines` fits the baseline rows here, one after another, within
:data:`BASELINE_SHARE` of the budget. :func:`run_phases` runs the protocol's phases in
order (hold-out: one; cv: every "fold" trial, then each (model, seed)'s "refit" for as
many epochs as its folds trained, see :func:`~seqselect.bakeoff.protocol.refit_epochs`);
:func:`run_trials` keeps ``slots`` trials of a phase in flight on the executor. Every
finished trial is one store transaction, so a killed bake-off loses none of them and a
resume repeats none.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch

from seqselect.bakeoff.baseline_trials import probe_seconds, run_baseline_trial, trial_size
from seqselect.bakeoff.executors import Executor
from seqselect.bakeoff.plan import Plan, dataset_info
from seqselect.bakeoff.protocol import fold_of, refit_epochs
from seqselect.bakeoff.records import ScalingCell, Trial
from seqselect.bakeoff.schedule import Schedule
from seqselect.bakeoff.store import FINISHED, ResultsStore
from seqselect.bakeoff.trial import TrialSpec
from seqselect.bakeoff.tune import apply_choice  # issue 16
from seqselect.baselines.registry import baseline_card, create_baseline
from seqselect.bench import run_bench
from seqselect.system import describe_environment

__all__ = [
    "BASELINE_SHARE", "Event", "emit", "record_run", "run_baselines", "run_environment",
    "run_phases", "run_trials", "scaling_cells",
]

#: The baselines' share of the budget (``args["budget_s"]``): their fits stop there, so
#: that the networks keep the rest. Without it a 20 s bake-off of text:long_documents
#: spent 52 s on six TF-IDF fits before any network trained (scikit-learn counting the
#: n-grams of 21,000-character documents one by one; baselines/ngrams.py: 8x faster).
#: The floor baselines (``BaselineCard.floor``: majority, mean, seasonal naive) always
#: run: they cost nothing.
BASELINE_SHARE = 0.2

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
    db: ResultsStore, run: str, plan: Plan, done: set, on_event: Event | None,
    *, trim: bool = True,
) -> float:
    """Fit the plan's baseline keys not in ``done`` here, one after another, each committed
    as it ends, within :data:`BASELINE_SHARE` of the budget: the floor first (always
    fitted), then seed by seed, each baseline's fold and refit of a seed together. A
    seed starts only when its trials' estimate (:func:`_estimate`) fits in what is left
    of the share, and then runs whole (a row needs a validation and a test score); the
    trials not fitted are recorded as skipped, with the reason, as candidates that
    cannot run are. ``trim=False`` (the bake-off's ``trim_to_budget=False``) fits every
    seed whatever the share says. A replay (``args["replay_of"]``) skips what its
    original skipped and fits the rest. Returns the wall seconds (charged to the budget)."""
    began = time.perf_counter()
    _warm_up_baselines(plan)
    start = time.perf_counter()  # the share's clock: one-time compilation is not a fit's cost
    share = BASELINE_SHARE * plan.args["budget_s"]
    rates: dict[str, float] = {}  # model -> seconds per sequence of its latest trial
    replayed = _replayed_skips(db, plan)
    for group in _baseline_groups(plan, done):
        reason = None
        if replayed is not None:  # a replay skips what its original skipped, no clock
            reason = next((replayed[key] for key in group if key in replayed), None)
        elif trim and not baseline_card(group[0][0]).floor:
            reason = _over_share(plan, group, rates, share, start)
        for key in group:
            if reason:
                _skip_baseline(db, run, plan, key, reason, on_event)
                continue
            trial = _fit_baseline(db, run, plan, key, on_event)
            size = max(1, trial_size(plan.splits, plan.protocol, key[2], trial.fold))
            rates[key[0]] = trial.extra["wall_s"] / size
    return time.perf_counter() - began


#: Training sequences a baseline's warm-up fits on.
_WARM_UP_ROWS = 8


def _warm_up_baselines(plan: Plan) -> None:
    """Fit each non-floor baseline once on a few training sequences, before the share's
    clock starts: MiniRocket's numba kernels compile on their first call (seconds on a
    fresh environment), and charged to the first fit that compile made the estimates skip
    every later seed of a 6 s bake-off. The time still counts toward the budget."""
    train = plan.splits.train
    few = train.subset(torch.arange(min(_WARM_UP_ROWS, len(train))))
    for name in plan.baselines:
        if baseline_card(name).floor:
            continue
        # Best effort: a warm-up that fails on so few rows (one class, too short) only
        # means the first real fit pays the compilation, as before.
        try:
            create_baseline(name, seed=0).fit(few).predict(few)
        except Exception:
            continue


def _replayed_skips(db: ResultsStore, plan: Plan) -> dict[tuple[str, int, str], str] | None:
    """A replay's original's skipped baseline trials and their reasons (None: no replay).
    The share's estimates are timings, so a replay takes its original's decisions."""
    original = plan.args.get("replay_of")
    if not original:
        return None
    return {
        t.key: t.error or "skipped"
        for t in db.trials(original)
        if t.kind == "baseline" and (t.extra or {}).get("skipped")
    }


def _over_share(
    plan: Plan, keys: list[tuple[str, int, str]], rates: dict, share: float, start: float
) -> str | None:
    """Why ``keys`` (one baseline's trials of one seed) must be skipped: their estimate is
    over what is left of the share, or nothing is left; None when they may run."""
    if time.perf_counter() - start >= share:
        return _skip_reason(None, 0.0, share, keys)
    estimate = _estimate(plan, keys, rates)
    left = share - (time.perf_counter() - start)  # a probe took some of it
    if left <= 0 or (estimate is not None and estimate > left):
        return _skip_reason(estimate, left, share, keys)
    return None


def _baseline_groups(plan: Plan, done: set) -> list[list[tuple[str, int, str]]]:
    """The baseline keys still to fit, as groups in phase order: the floor's first, then
    seed by seed (seeds are 0, 1, ...), the plan's baseline order. Under cross-validation
    seed 0's group holds every fold trial (all seeds'), so a baseline that is fitted at
    all is validated on every fold, as the networks are; a later seed's group is its
    refit."""
    keys = [key for key in plan.baseline_trials if key not in done]

    def group_seed(key: tuple[str, int, str]) -> int:
        return 0 if key[2] == "fold" else key[1]

    keys.sort(key=lambda k: (
        not baseline_card(k[0]).floor, group_seed(k), plan.baselines.index(k[0]),
        plan.roles.index(k[2]), k[1],
    ))
    return [list(g) for _, g in itertools.groupby(keys, key=lambda k: (k[0], group_seed(k)))]


def _fold(plan: Plan, seed: int, role: str) -> int | None:
    return fold_of(seed, plan.protocol) if role == "fold" else None


def _estimate(plan: Plan, keys: list[tuple[str, int, str]], rates: dict) -> float | None:
    """Wall seconds the baseline trials ``keys`` (one baseline's) should take together:
    the baseline's seconds per sequence in its latest trial (not its first, which paid
    the imports and compilation) times the trials' sequences. Before any trial,
    :func:`~seqselect.bakeoff.baseline_trials.probe_seconds` gives the rate, kept in
    ``rates`` until a fit measures one; None on small data, where no probe is cheap
    and the first seed measures it."""
    model, seed, role = keys[0]
    sizes = [max(1, trial_size(plan.splits, plan.protocol, r, _fold(plan, s, r)))
             for _, s, r in keys]
    if model not in rates:
        probe = probe_seconds(model, plan.splits, plan.protocol, seed=seed, role=role,
                              fold=_fold(plan, seed, role))
        if probe is None:
            return None
        rates[model] = probe / sizes[0]
    return rates[model] * sum(sizes)


def _skip_reason(
    estimate: float | None, left: float, share: float, keys: list[tuple[str, int, str]]
) -> str:
    spent = f"the baselines' share of {share:.1f} s ({BASELINE_SHARE:.0%} of the budget)"
    if estimate is None or left <= 0:
        return f"skipped: {spent} is spent"
    what = " + ".join(f"{n} {role}" for role, n in Counter(r for _, _, r in keys).items())
    return (f"skipped: would take ~{estimate:.1f} s ({what} of seed {keys[0][1]}), over the "
            f"{left:.1f} s left of {spent}")


def _fit_baseline(
    db: ResultsStore, run: str, plan: Plan, key: tuple[str, int, str], on_event: Event | None
) -> Trial:
    """Fit one baseline trial and commit it."""
    model, seed, role = key
    db.start_trial(run, model, seed, role=role, kind="baseline")
    emit(on_event, "trial_start", model=model, seed=seed, role=role, baseline=True)
    trial = run_baseline_trial(
        model, plan.splits, plan.protocol, seed=seed, role=role,
        fold=_fold(plan, seed, role), run=run,
    )
    db.finish_trial(run, trial)
    emit(on_event, "trial_done", model=model, seed=seed, role=role, result=trial)
    return trial


def _skip_baseline(
    db: ResultsStore, run: str, plan: Plan, key: tuple[str, int, str], reason: str,
    on_event: Event | None,
) -> None:
    """Record a baseline trial that was not fitted, and why (the leaderboard shows it; a
    resumed run tries it again, as any failed trial)."""
    model, seed, role = key
    trial = Trial(
        run=run, model=model, seed=seed, kind="baseline", role=role,
        fold=_fold(plan, seed, role), status="failed", error=reason,
        extra={"skipped": True, "protocol": plan.protocol.kind},
    )
    db.finish_trial(run, trial)
    emit(on_event, "trial_done", model=model, seed=seed, role=role, result=trial)


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
