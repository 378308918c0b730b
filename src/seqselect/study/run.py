"""``seqselect study``: one bake-off per dataset under the same budget and flags, each a
run of the results store (``STUDY:DATASET``), so a study killed at any point resumes: a
finished bake-off is read back, an unfinished one resumes its trials (and its searches,
with ``--tune``). Then each dataset's characteristics and ranks go to the store
(:mod:`~seqselect.study.store`) and the summary across datasets is drawn
(:mod:`~seqselect.study.stats`).

With ``executor="ray"`` the bake-offs themselves are Ray tasks (each reserving
``cpus_per_trial`` CPUs, default 1, and training its trials in its task); they run as many
at once as the cluster has room for. The tasks write to the store's file, so the cluster's
workers must see it (a local instance, or a shared file system).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqselect.bakeoff import bakeoff
from seqselect.bakeoff.result import result_from_store
from seqselect.bakeoff.store import DEFAULT_STORE, ResultsStore
from seqselect.budget import parse_seconds
from seqselect.errors import SeqSelectError
from seqselect.study.stats import Summary, rank_row, summarize
from seqselect.study.store import DatasetRow, StudyStore
from seqselect.system import usable_cores
from seqselect.vocabulary import higher_is_better

__all__ = ["StudyResult", "characteristics", "run_study", "study_run_name"]

Event = Callable[[str, dict[str, Any]], None]


def study_run_name(study: str, dataset: str) -> str:
    """The bake-off run of ``dataset`` in ``study``."""
    slug = re.sub(r"[^A-Za-z0-9_.:=?-]+", "-", dataset).strip("-")[:80]
    return f"{study}:{slug}"


def characteristics(profile: dict[str, Any]) -> dict[str, Any]:
    """What ``recommend --measured`` compares datasets on, from the bake-off's profile
    (``length``: the 95th percentile, the length the advisor reads from a profile)."""
    length = profile.get("length") or {}
    return {
        "task": profile.get("task"),
        "data_type": profile.get("data_type"),
        "value_type": profile.get("value_type"),
        "length": length.get("p95", length.get("median")),
        "median_length": length.get("median"),
        "max_length": length.get("max"),
        "n_train": profile.get("n_train"),
        "n_sequences": profile.get("n_sequences"),
        "n_classes": profile.get("n_classes"),
        "n_channels": profile.get("n_channels"),
        "multivariate": profile.get("multivariate"),
    }


@dataclass
class StudyResult:
    name: str
    store: str
    rows: list[DatasetRow]
    summary: Summary
    args: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0  # this call's wall time (a resumed study: the part it ran)
    bakeoff_s: dict[str, float | None] = field(default_factory=dict)  # each stored total

    def to_dict(self) -> dict[str, Any]:
        return {
            "study": self.name, "store": self.store, "args": self.args,
            "seconds": round(self.seconds, 3), "bakeoff_s": self.bakeoff_s,
            "datasets": [r.to_dict() for r in self.rows], "summary": self.summary.to_dict(),
        }


def _ray_bakeoff(dataset: str, options: dict[str, Any]) -> str:
    bakeoff(dataset, **options)
    return dataset


def _run_on_ray(pending: list[str], options: dict[str, Any], study: str,
                ray_address: str | None, ray_cpus: int | None, cpus: int,
                on_event: Event | None) -> None:
    """Every pending bake-off as a Ray task (trials run locally inside it)."""
    try:
        import ray
    except ImportError:
        raise SeqSelectError("--executor ray needs Ray: pip install 'seqselect[ray]'") from None
    started = not ray.is_initialized()
    if started:
        kwargs = {"include_dashboard": False, "log_to_driver": False,
                  "logging_level": logging.WARNING}
        if ray_address:
            ray.init(address=ray_address, **kwargs)
        else:
            ray.init(num_cpus=ray_cpus or usable_cores(), **kwargs)
    try:
        task = ray.remote(num_cpus=cpus, max_retries=0)(_ray_bakeoff)
        refs = {}
        for dataset in pending:
            local = {**options, "executor": "local", "jobs": 1, "cpus_per_trial": cpus,
                     "run": study_run_name(study, dataset)}
            refs[task.remote(dataset, local)] = dataset
            _emit(on_event, "dataset_start", dataset=dataset, executor="ray")
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1)
            dataset = refs.pop(done[0])
            ray.get(done[0])  # a bake-off's error reaches the user as it is
            _emit(on_event, "dataset_done", dataset=dataset)
    finally:
        if started and ray.is_initialized():
            ray.shutdown()


def _emit(on_event: Event | None, kind: str, **payload: Any) -> None:
    if on_event is not None:
        on_event(kind, payload)


def _finished(db: ResultsStore, run: str) -> bool:
    row = db.get_run(run)
    return bool(row and row.get("finished"))


def _dataset_row(db: ResultsStore, study: str, dataset: str) -> DatasetRow:
    run = study_run_name(study, dataset)
    result = result_from_store(db, run)
    higher = higher_is_better(result.metric)
    scores = {r.model: float(r.value) for r in result.leaderboard if r.value is not None}
    return DatasetRow(
        study=study, dataset=dataset, run=run, task=result.profile.get("task"),
        metric=result.metric, higher=higher, characteristics=characteristics(result.profile),
        scores=scores, ranks=rank_row(scores, higher) if scores else {},
    )


def run_study(
    datasets: list[str],
    *,
    name: str = "study",
    budget_per_dataset: str | float = "5m",
    tune: int | str | None = None,
    tune_pruner: str = "median",
    target: str | None = None,
    task: str | None = None,
    models: str | list[str] | None = "auto",
    seeds: int = 3,
    params: int | None = None,
    baselines: str | list[str] | None = "auto",
    executor: str = "local",
    ray_address: str | None = None,
    ray_cpus: int | None = None,
    cpus_per_trial: int | None = None,
    store: str | Path = DEFAULT_STORE,
    max_epochs: int | None = 500,
    on_event: Event | None = None,
) -> StudyResult:
    """One bake-off per dataset (the same flags for each), then the summary across them.

    ``datasets`` are bundled names or files (``target``/``task``: for every file); a
    dataset whose bake-off already finished in
    ``store`` is read back, not rerun. Raises :class:`SeqSelectError` on bad input (before
    training where it can: the budget, the executor, an empty or repeated dataset list).
    """
    if not datasets:
        raise SeqSelectError("give at least one dataset (a bundled name or a file)")
    repeated = sorted({d for d in datasets if datasets.count(d) > 1})
    if repeated:
        raise SeqSelectError(f"dataset(s) given twice: {', '.join(repeated)}")
    if executor not in ("local", "ray"):
        raise SeqSelectError(f"--executor must be local or ray, got {executor!r}")
    budget_s = parse_seconds(budget_per_dataset)
    start = time.perf_counter()
    options = dict(
        models=models, budget=budget_s, seeds=seeds, params=params, baselines=baselines,
        tune=tune, tune_pruner=tune_pruner, store=store, max_epochs=max_epochs,
        cpus_per_trial=cpus_per_trial, target=target, task=task,
    )
    db = ResultsStore(store)
    pending = [d for d in datasets if not _finished(db, study_run_name(name, d))]
    for dataset in datasets:
        if dataset not in pending:
            _emit(on_event, "dataset_kept", dataset=dataset)
    if executor == "ray" and pending:
        _run_on_ray(pending, options, name, ray_address, ray_cpus, cpus_per_trial or 1,
                    on_event)
    else:
        for dataset in pending:
            _emit(on_event, "dataset_start", dataset=dataset, executor="local")
            bakeoff(dataset, run=study_run_name(name, dataset), **options)
            _emit(on_event, "dataset_done", dataset=dataset)
    rows = [_dataset_row(db, name, d) for d in datasets]
    bakeoff_s = {d: ((db.get_run(r.run) or {}).get("summary") or {}).get("timing", {})
                 .get("total_s") for d, r in zip(datasets, rows, strict=True)}
    metrics = sorted({r.metric for r in rows})
    if len(metrics) > 1:
        raise SeqSelectError(
            f"a study ranks datasets on one metric; these bake-offs ranked on "
            f"{', '.join(metrics)}: give datasets of one task"
        )
    studies = StudyStore(store)
    for row in rows:
        studies.put(row)
    scores = {r.dataset: r.scores for r in rows}
    summary = summarize(scores, rows[0].metric, rows[0].higher)
    args = {k: v for k, v in options.items() if k != "store"}
    args.update(datasets=list(datasets), budget_per_dataset=budget_s, executor=executor)
    return StudyResult(name=name, store=str(store), rows=rows, summary=summary, args=args,
                       seconds=time.perf_counter() - start, bakeoff_s=bakeoff_s)
