"""The bake-off: train the candidates on the user's data under an equal budget and several
seeds, measure what each costs, and pick a winner under the user's constraints.

Flow: load + profile the data -> ask the advisor -> candidates -> (set-up: store, workers)
-> trials under the budget, each committed to the store as it finishes -> leaderboard ->
winner -> (export, reports).

Budget: ``budget`` is the wall time of the trial phase (set-up aside). It is split
equally among candidates x seeds, in waves of ``slots`` parallel trials: each trial gets
``budget / ceil(trials / slots)`` seconds of wall time, of which the trainer gets what is
left after the trial's own overhead (building, the final validation and test passes,
latency measurement, saving), which set-up measures once per model. A share is never
more than that, and less when the time actually left is short (an earlier overrun), so
the whole phase ends within the budget + 10%.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import math
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqselect.bakeoff.candidates import advise, parse_models, prepare, shortlist
from seqselect.bakeoff.executors import make_executor, usable_cores
from seqselect.bakeoff.store import DEFAULT_STORE, FINISHED, ResultsStore
from seqselect.bakeoff.trial import TrialSpec, calibrate, finite
from seqselect.errors import SeqSelectError

log = logging.getLogger(__name__)

__all__ = [
    "BakeoffResult",
    "bakeoff",
    "build_leaderboard",
    "choose_winner",
    "environment",
    "metric_for",
    "parse_budget",
    "result_from_store",
]

#: Metrics where higher is better; every other metric is lower-better (losses, errors).
HIGHER_IS_BETTER = {"accuracy", "macro_f1", "f1", "r2", "auc"}
#: Whole-phase tolerance the budget promises (the issue's "budget + 10%").
BUDGET_TOLERANCE = 0.10

Event = Callable[[str, dict[str, Any]], None]


# ---- parsing ---------------------------------------------------------------------------
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(h|hr|hours?|m|min|minutes?|s|sec|seconds?)?", re.IGNORECASE)


def parse_budget(text: str | float | int) -> float:
    """``"10m"``, ``"90s"``, ``"1h30m"``, ``"2.5m"`` or a number of seconds -> seconds.

    Raises:
        SeqSelectError: anything else, or a non-positive budget.
    """
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        s = str(text).strip().replace(" ", "")
        pos, seconds, matched = 0, 0.0, False
        while pos < len(s):
            m = _DURATION.match(s, pos)
            if not m or m.end() == pos:
                matched = False
                break
            unit = (m.group(2) or "s").lower()
            scale = 3600 if unit.startswith("h") else 60 if unit.startswith("m") else 1
            seconds += float(m.group(1)) * scale
            pos, matched = m.end(), True
            if m.group(2) is None and pos < len(s):  # a bare number must be the whole string
                matched = False
                break
        if not matched:
            raise SeqSelectError(
                f"--budget {text!r} is not a duration: use e.g. 90s, 3m, 1h, 1m30s or a number of seconds"
            )
    if not math.isfinite(seconds) or seconds <= 0:
        raise SeqSelectError(f"--budget must be positive, got {text!r}")
    return seconds


def metric_for(task: str, metrics: dict[str, Any] | None = None) -> str:
    """The leaderboard's metric: the trainer's task metric (accuracy for classification,
    mse for regression and forecasting)."""
    try:
        from seqselect.train import task_metric

        preferred = task_metric(task)[0]
    except (ImportError, ValueError):
        preferred = "accuracy" if task == "classify" else "mse"
    if metrics and preferred not in metrics:
        numeric = [k for k, v in metrics.items() if isinstance(v, (int, float)) and k != "n"]
        if numeric:
            return numeric[0]
    return preferred


def higher_is_better(metric: str) -> bool:
    return metric in HIGHER_IS_BETTER


# ---- environment -------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device: str = "cpu", executor: dict[str, Any] | None = None) -> dict[str, Any]:
    """Versions, hardware and threads: what a reader needs to judge the timings."""
    import numpy
    import torch

    import seqselect

    env: dict[str, Any] = {
        "seqselect": seqselect.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores": usable_cores(),
        "torch_threads": torch.get_num_threads(),
        "device": device,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
    for mod in ("onnxruntime", "ray"):
        if mod in sys.modules:
            env[mod] = getattr(sys.modules[mod], "__version__", "?")
    if executor:
        env.update(executor)
    return env


# ---- leaderboard and winner ----------------------------------------------------------------
def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _std(values: list[float]) -> float | None:
    if not values:
        return None
    return statistics.stdev(values) if len(values) > 1 else 0.0


def _median(values: list[Any]) -> float | None:
    vals = [v for v in values if finite(v)]
    return statistics.median(vals) if vals else None


def build_leaderboard(
    trials: list[dict[str, Any]], models: list[str], metric: str
) -> list[dict[str, Any]]:
    """One row per model, best first: mean/std of ``metric`` over its ok seeds, and the
    medians of its costs. Models without an ok trial sink to the bottom with their status.
    """
    rows = []
    for name in models:
        mine = [t for t in trials if t["model"] == name]
        ok = [t for t in mine if t["status"] == "ok"]
        values = [t["metrics"][metric] for t in ok if finite(t["metrics"].get(metric))]
        other_metrics: dict[str, Any] = {}
        for key in sorted({k for t in ok for k in t["metrics"]}):
            vals = [t["metrics"][key] for t in ok if finite(t["metrics"].get(key))]
            if vals:
                other_metrics[key] = _mean(vals)
        statuses = [t["status"] for t in mine]
        errors = sorted({t["error"] for t in mine if t.get("error")})
        best_trial = None
        if values:
            pick = max if higher_is_better(metric) else min
            best_trial = pick((t for t in ok if finite(t["metrics"].get(metric))), key=lambda t: t["metrics"][metric])
        row = {
            "model": name,
            metric: _mean(values),
            f"{metric}_std": _std(values),
            "n_seeds": len(values),
            "seeds": sorted(t["seed"] for t in mine),
            "train_s": _mean([t["train_s"] for t in ok if finite(t.get("train_s"))]),
            "latency_ms": _median([t.get("latency_ms") for t in ok]),
            "batch_latency_ms": _median([t.get("batch_latency_ms") for t in ok]),
            "step_latency_ms": _median([t.get("step_latency_ms") for t in ok]),
            "peak_mb": _median([t.get("peak_mb") for t in ok]),
            "params": next((t.get("params") for t in mine if t.get("params")), None),
            "status": _model_status(bool(values), statuses),
            "n_diverged": statuses.count("diverged"),
            "n_failed": statuses.count("failed"),
            "metrics": other_metrics,
            "best_seed": best_trial["seed"] if best_trial else None,
            "errors": errors,
        }
        rows.append(row)
    sign = -1 if higher_is_better(metric) else 1
    rows.sort(key=lambda r: (r[metric] is None, sign * (r[metric] or 0.0), r["params"] or 0))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank if row[metric] is not None else None
    return rows


def _model_status(has_metric: bool, statuses: list[str]) -> str:
    """One word for a model's row: ok (a usable trial), pending (none yet), or what
    happened to its trials (diverged when any diverged, else failed)."""
    if has_metric:
        return "ok"
    if not statuses:
        return "pending"
    return "diverged" if "diverged" in statuses else "failed"


def _fmt(value: Any, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def choose_winner(
    leaderboard: list[dict[str, Any]],
    metric: str,
    *,
    max_latency_ms: float | None = None,
    max_memory_mb: float | None = None,
    max_params: int | None = None,
    advisor_pick: str | None = None,
    advisor_ranked: list[str] | None = None,
) -> dict[str, Any]:
    """The best mean ``metric`` among models meeting the constraints, with the reasons."""
    constraints = {
        "max_latency_ms": max_latency_ms,
        "max_memory_mb": max_memory_mb,
        "max_params": max_params,
    }
    limits = [
        ("latency_ms", max_latency_ms, "latency", "ms", "--max-latency-ms"),
        ("peak_mb", max_memory_mb, "peak memory", "MB", "--max-memory-mb"),
        ("params", max_params, "parameters", "", "--max-params"),
    ]
    excluded: dict[str, str] = {}
    eligible = []
    for row in leaderboard:
        if row[metric] is None:
            why = row["errors"][0] if row["errors"] else row["status"]
            excluded[row["model"]] = f"no usable trial ({row['status']}: {why})"
            continue
        broken = []
        for key, limit, label, unit, flag in limits:
            if limit is None:
                continue
            value = row.get(key)
            if value is None:
                broken.append(f"{label} not measured ({flag} {limit:g})")
            elif value > limit:
                broken.append(f"{label} {_fmt(value)}{unit and ' ' + unit} > {flag} {limit:g}")
        if broken:
            excluded[row["model"]] = "; ".join(broken)
        else:
            eligible.append(row)
    direction = "highest" if higher_is_better(metric) else "lowest"
    out: dict[str, Any] = {
        "model": None,
        "metric": metric,
        "constraints": constraints,
        "excluded": excluded,
        "advisor_pick": advisor_pick,
    }
    if not eligible:
        out["reasons"] = ["no candidate met the constraints" if excluded else "no candidate finished a trial"] + [
            f"{m}: {why}" for m, why in excluded.items()
        ]
        out["agrees_with_advisor"] = None
        return out
    best = eligible[0]
    reasons = [
        f"{direction} mean {metric}: {_fmt(best[metric])} ± {_fmt(best[f'{metric}_std'], 2)} over "
        f"{best['n_seeds']} seed(s), among {len(eligible)} candidate(s) meeting the constraints"
    ]
    if len(eligible) > 1:
        second = eligible[1]
        gap = abs(best[metric] - second[metric])
        spread = max(best[f"{metric}_std"] or 0.0, second[f"{metric}_std"] or 0.0)
        reasons.append(f"ahead of {second['model']} ({_fmt(second[metric])}) by {_fmt(gap, 3)}")
        if gap <= spread:
            cheaper = min((best, second), key=lambda r: (r.get("latency_ms") or math.inf))
            reasons.append(
                f"the gap is within the seed-to-seed spread ({_fmt(spread, 2)}): {best['model']} and "
                f"{second['model']} are statistically tied on {metric}; {cheaper['model']} is the faster of the two"
            )
    for m, why in excluded.items():
        reasons.append(f"{m} excluded: {why}")
    out.update(
        {
            "model": best["model"],
            metric: best[metric],
            f"{metric}_std": best[f"{metric}_std"],
            "latency_ms": best["latency_ms"],
            "step_latency_ms": best["step_latency_ms"],
            "peak_mb": best["peak_mb"],
            "params": best["params"],
            "train_s": best["train_s"],
            "seed": best["best_seed"],
            "reasons": reasons,
            "agrees_with_advisor": (best["model"] == advisor_pick) if advisor_pick else None,
        }
    )
    if advisor_pick:
        if advisor_pick == best["model"]:
            reasons.append(f"the advisor's first choice was {advisor_pick} too: evidence and advice agree")
        else:
            pick_row = next((r for r in leaderboard if r["model"] == advisor_pick), None)
            if pick_row is None or pick_row[metric] is None:
                reasons.append(f"the advisor's first choice, {advisor_pick}, was not measured here")
            else:
                reasons.append(
                    f"the advisor's first choice, {advisor_pick}, scored {_fmt(pick_row[metric])} "
                    f"(rank {pick_row['rank']}): the measurement disagrees with the advice on this data"
                )
        if advisor_ranked and best["model"] in advisor_ranked:
            out["advisor_rank_of_winner"] = advisor_ranked.index(best["model"]) + 1
    return out


# ---- the result --------------------------------------------------------------------------
@dataclass
class BakeoffResult:
    """A finished (or resumed) bake-off; :meth:`to_dict` is the ``--json`` document."""

    run: str
    dataset: dict[str, Any]
    profile: dict[str, Any]
    advisor: dict[str, Any]
    metric: str
    leaderboard: list[dict[str, Any]]
    winner: dict[str, Any]
    trials: list[dict[str, Any]]
    timing: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    args: dict[str, Any] = field(default_factory=dict)
    store: str = ""
    bench: list[dict[str, Any]] = field(default_factory=list)
    export: dict[str, Any] | None = None

    def to_dict(self, *, with_history: bool = True) -> dict[str, Any]:
        trials = self.trials if with_history else [{k: v for k, v in t.items() if k != "history"} for t in self.trials]
        out = {
            "run": self.run,
            "dataset": self.dataset,
            "profile": self.profile,
            "advisor": self.advisor,
            "metric": self.metric,
            "leaderboard": self.leaderboard,
            "winner": self.winner,
            "trials": trials,
            "timing": self.timing,
            "environment": self.environment,
            "args": self.args,
            "store": self.store,
        }
        if self.bench:
            out["bench"] = self.bench
        if self.export is not None:
            out["export"] = self.export
        return out

    def export_winner(self, out_dir: str | Path, splits=None) -> dict[str, Any]:
        """Write the winner (its best seed's weights) to ``out_dir``: see :mod:`export`."""
        from seqselect.bakeoff.export import build_from_description, export_model, load_weights

        name = self.winner.get("model")
        if not name:
            raise SeqSelectError("no winner to export: " + "; ".join(self.winner.get("reasons", [])))
        seed = self.winner.get("seed")
        trial = next((t for t in self.trials if t["model"] == name and t["seed"] == seed and t["status"] == "ok"), None)
        if trial is None or not trial.get("weights") or not Path(trial["weights"]).is_file():
            raise SeqSelectError(f"the weights of {name} (seed {seed}) are missing from the store's folder; re-run the trial")
        kwargs = self.dataset.get("model_kwargs", {})
        desc = {
            "model": name,
            "spec": {
                "d_output": kwargs.get("d_output"),
                "d_input": kwargs.get("d_input"),
                "vocab_size": kwargs.get("vocab_size"),
                "task": kwargs.get("task", "classify"),
                "causal": bool(trial["extra"].get("causal")),
            },
            "config": trial["extra"].get("config", {}),
        }
        model = build_from_description(desc)
        load_weights(model, trial["weights"])
        example = _onnx_example(splits)
        info = {
            "task": self.dataset.get("task"),
            "model_task": self.dataset.get("model_task"),
            "target": self.args.get("target"),
            "class_names": self.dataset.get("class_names"),
            "input": {
                **self.dataset.get("input", {}),
                **{k: v for k, v in (self.args.get("data_options") or {}).items() if k in ("id_col", "time_col", "impute")},
            },
            "dataset": self.dataset.get("name"),
            "run": self.run,
            "seed": seed,
            "metrics": trial.get("metrics", {}),
            "params": trial.get("params"),
        }
        config = export_model(model, out_dir, info=info, example=example)
        self.export = {"dir": str(out_dir), "model": name, "seed": seed, "onnx": config["onnx"]}
        return config


def _onnx_example(splits) -> Any:
    """Up to 8 real test sequences for the ONNX check, or None (random inputs then):
    ONNX takes ``x`` alone, so only a batch without padding will do."""
    if splits is None or not len(splits.test):
        return None
    n = min(8, len(splits.test))
    mask = splits.test.mask[:n]
    keep = int(mask.sum(dim=1).max())
    if keep < 2 or not bool(mask[:, :keep].all()):
        return None
    return splits.test.x[:n, :keep]


def _dataset_info(splits, source: str) -> dict[str, Any]:
    meta = dict(getattr(splits, "metadata", {}) or {})
    input_info = {
        k: meta[k]
        for k in ("form", "channels", "n_step_columns", "normalization", "target_normalization", "impute", "horizon", "window")
        if k in meta
    }
    return {
        "name": splits.name,
        "source": source,
        "task": splits.task,
        "model_task": splits.model_task,
        "class_names": list(splits.class_names) if splits.class_names is not None else None,
        "model_kwargs": {
            "d_input": splits.d_input,
            "vocab_size": splits.vocab_size,
            "d_output": splits.d_output,
            "task": splits.model_task,
        },
        "n_train": len(splits.train),
        "n_val": len(splits.val),
        "n_test": len(splits.test),
        "input": input_info,
    }


def _default_run_name(dataset_name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", dataset_name).strip("-")[:40] or "run"
    return f"{slug}-{time.strftime('%Y%m%d-%H%M%S')}"


def _emit(on_event: Event | None, kind: str, **payload: Any) -> None:
    if on_event is not None:
        on_event(kind, payload)


# ---- the bake-off --------------------------------------------------------------------------
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
    """Train ``models`` on ``data`` and rank them (see the module docstring).

    Args:
        data: a user file path or a bundled dataset name (``ucr:GunPoint``,
            ``task:adding?length=50``), or an already loaded ``DatasetSplits``.
        task, target: as for :func:`seqselect.data.load_dataset`.
        models: ``"auto"`` (the advisor's shortlist plus one baseline) or names.
        budget: wall time of all the trials together (``"10m"``, seconds).
        seeds: trials per model (seeds 0..seeds-1); the leaderboard's std is over them.
        params: build every candidate at this parameter count (±10%).
        max_latency_ms, max_memory_mb, max_params: constraints on the winner.
        executor, jobs, ray_address: where the trials run (:mod:`executors`).
        store, run: the results database and the run's name; an existing ``run`` resumes.
        export: write the winner there (safetensors + config.json + ONNX).
        scaling: sequence lengths at which to benchmark the candidates' inference
            afterwards (each cell a subprocess, see :func:`seqselect.bench.run_bench`);
            outside the budget; stored as the run's benchmark cells for the report.
        on_event: ``fn(kind, payload)`` for progress displays: kinds ``setup``,
            ``skip``, ``trial_start``, ``trial_done``, ``done``.

    Raises:
        SeqSelectError: bad input (data, model names, budget, options), before any training.
    """
    t_setup = time.perf_counter()
    budget_s = parse_budget(budget)
    if seeds < 1:
        raise SeqSelectError(f"--seeds must be >= 1, got {seeds}")
    if params is not None and params < 1:
        raise SeqSelectError(f"--params must be positive, got {params}")
    for flag, value in (("--max-latency-ms", max_latency_ms), ("--max-memory-mb", max_memory_mb), ("--max-params", max_params)):
        if value is not None and not value > 0:
            raise SeqSelectError(f"{flag} must be positive, got {value}")
    if jobs < 1:
        raise SeqSelectError(f"--jobs must be >= 1, got {jobs}")
    explicit = parse_models(models)
    device = _check_device(device)
    if run is not None and not str(run).strip():
        raise SeqSelectError("--run must not be empty")

    splits, source = _load(data, task=task, target=target, data_options=data_options or {})
    from seqselect.data import profile_dataset

    profile = _to_dict(profile_dataset(splits))
    advice = advise(profile, device=device)
    if explicit is None:
        candidates, baseline = shortlist(advice)
        if not candidates:
            raise SeqSelectError("the advisor returned no trainable model; give --models a,b,c")
    else:
        candidates, baseline = explicit, None
    advice["shortlist"] = candidates
    advice["baseline"] = baseline
    advice["mode"] = "auto" if explicit is None else "user"

    db = ResultsStore(store)
    run_name = run or _default_run_name(splits.name)
    args = {
        "data": source,
        "task": task,
        "target": target,
        "models": candidates,
        "models_arg": "auto" if explicit is None else ",".join(explicit),
        "budget_s": budget_s,
        "seeds": seeds,
        "params": params,
        "max_latency_ms": max_latency_ms,
        "max_memory_mb": max_memory_mb,
        "max_params": max_params,
        "executor": executor,
        "jobs": jobs,
        "device": device,
        "max_epochs": max_epochs,
        "train_options": train_options or {},
        "data_options": data_options or {},
    }
    previous = db.get_run(run_name)
    if previous is not None:
        _check_resume(previous, args)

    max_length = _max_length(splits)
    prepared = {m: prepare(m, splits, params=params, max_length=max_length) for m in candidates}
    runnable = [m for m in candidates if "error" not in prepared[m]]
    seed_list = list(range(seeds))
    all_trials = [(m, s) for m in runnable for s in seed_list]
    done = db.finished_trials(run_name)
    todo = [(m, s) for (m, s) in all_trials if (m, s) not in done]

    ex = make_executor(
        executor, jobs=jobs, ray_address=ray_address, ray_cpus=ray_cpus, cpus_per_trial=cpus_per_trial, device=device
    )
    try:
        ex.start(splits, max(1, len(todo)))
        env = environment(device, ex.describe())
        db.create_run(
            run_name,
            dataset=splits.name,
            args=args,
            profile=profile,
            advisor=advice,
            environment={**env, "dataset": _dataset_info(splits, source)},
        )
        for m in candidates:
            if "error" in prepared[m]:
                for s in seed_list:  # recorded at once, and they take no share of the budget
                    db.finish_trial(run_name, _unrunnable(run_name, m, s, prepared[m]))
        waves_all = math.ceil(len(all_trials) / ex.slots)
        nominal = budget_s / max(1, waves_all)
        measure_s = _measure_seconds(nominal)
        overhead = {
            m: calibrate(m, splits, prepared[m], measure_seconds=measure_s, threads=ex.threads, device=device)
            for m in {m for m, _ in todo}
        }
        setup_s = time.perf_counter() - t_setup
        _emit(
            on_event,
            "setup",
            run=run_name,
            dataset=splits.name,
            candidates=candidates,
            seeds=seeds,
            trials=len(all_trials),
            todo=len(todo),
            share_s=nominal,
            budget_s=budget_s,
            setup_s=setup_s,
            executor=ex.describe(),
            advisor_pick=advice.get("pick"),
        )
        for m, s in sorted(done):
            if (m, s) in all_trials:
                _emit(on_event, "skip", model=m, seed=s)
        trial_phase = _run_trials(
            ex,
            db,
            run_name,
            todo,
            budget_s=budget_s * len(todo) / max(1, len(all_trials)) if done else budget_s,
            nominal=nominal,
            params=params,
            prepared=prepared,
            overhead=overhead,
            device=device,
            max_epochs=max_epochs,
            train_options=train_options or {},
            on_event=on_event,
        )
    finally:
        ex.close()

    timing = {
        "budget_s": budget_s,
        "setup_s": round(setup_s, 3),
        "trials_s": round(trial_phase["elapsed_s"], 3),
        "share_s": round(nominal, 3),
        "trials_run": len(todo),
        "trials_resumed": len(all_trials) - len(todo),
        "within_budget": trial_phase["elapsed_s"] <= (budget_s * (1 + BUDGET_TOLERANCE)),
        "tolerance": BUDGET_TOLERANCE,
    }
    if scaling:
        _emit(on_event, "scaling", lengths=list(scaling))
        db.add_bench_cells(run_name, scaling_cells(splits, runnable, scaling, params=params, device=device))
    result = result_from_store(db, run_name, timing=timing, splits_info=_dataset_info(splits, source))
    if export is not None:
        result.export_winner(export, splits)
    db.finish_run(run_name, _summary(result))
    _emit(on_event, "done", result=result)
    return result


def scaling_cells(
    splits, models: list[str], lengths: list[int], *, params: int | None, device: str = "cpu"
) -> list[dict[str, Any]]:
    """Inference time and peak memory of ``models`` at ``lengths`` (the bench harness,
    one subprocess per cell), as store rows."""
    from seqselect.bench import run_bench

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
    cells = []
    for row in report.results:
        cells.append(
            {
                "model": row.get("model"),
                "length": row.get("length"),
                "mode": row.get("mode"),
                "batch": row.get("batch", 8),
                "status": row.get("status", "ok"),
                "ms": row.get("time_ms"),
                "peak_mb": row.get("peak_mb"),
                "params": row.get("params"),
                **{k: v for k, v in row.items() if k in ("error", "flops", "estimate_mb")},
            }
        )
    return cells


def _check_device(device: str) -> str:
    """``auto`` resolved, an unavailable device refused (before any work)."""
    from seqselect.train import resolve_device

    try:
        return str(resolve_device(device))
    except RuntimeError as exc:  # torch: an unknown device string
        raise SeqSelectError(f"--device {device!r}: {exc}") from None


def _measure_seconds(share: float) -> float:
    """Time limit of a trial's latency/memory measurement: 6% of its share, 0.15-2 s."""
    return min(2.0, max(0.15, 0.06 * share))


def _max_length(splits) -> int | None:
    lengths = [int(part.mask.sum(dim=1).max()) for part in (splits.train, splits.val, splits.test) if len(part)]
    return max(lengths) if lengths else None


def _unrunnable(run: str, model: str, seed: int, info: dict[str, Any]) -> dict[str, Any]:
    return {
        "run": run,
        "model": model,
        "seed": seed,
        "status": "failed",
        "error": info["error"],
        "extra": {"causal": info.get("causal"), "skipped": True},
    }


def _to_dict(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _load(data: Any, *, task, target, data_options) -> tuple[Any, str]:
    if hasattr(data, "train") and hasattr(data, "test") and hasattr(data, "model_task"):
        return data, getattr(data, "source", "") or data.name
    from seqselect.data import load_dataset

    source = str(data)
    splits = load_dataset(source, task=task, target=target, **data_options)
    return splits, source


def _check_resume(previous: dict[str, Any], args: dict[str, Any]) -> None:
    """A resumed run must train the same thing: same data, task, target, parameters."""
    old = previous.get("args", {})
    clashes = [
        key
        for key in ("data", "task", "target", "params", "device", "train_options", "data_options")
        if key in old and old.get(key) != args.get(key)
    ]
    if clashes:
        detail = ", ".join(f"{k}: {old.get(k)!r} then, {args.get(k)!r} now" for k in clashes)
        raise SeqSelectError(
            f"run {previous['name']!r} exists in the store with different settings ({detail}); "
            "give a new --run name, or the same settings to resume it"
        )


def _run_trials(
    ex,
    db: ResultsStore,
    run_name: str,
    todo: list[tuple[str, int]],
    *,
    budget_s: float,
    nominal: float,
    params: int | None,
    prepared: dict[str, dict[str, Any]],
    overhead: dict[str, float],
    device: str,
    max_epochs: int | None,
    train_options: dict[str, Any],
    on_event: Event | None,
) -> dict[str, Any]:
    """Dispatch ``todo`` keeping ``ex.slots`` trials in flight; commit each as it ends."""
    start = time.perf_counter()
    pending = list(todo)
    in_flight: dict[cf.Future, tuple[TrialSpec, float, float]] = {}
    excess: list[float] = []  # observed trial wall time beyond its share
    weights_dir = db.runs_dir / re.sub(r"[^A-Za-z0-9_.-]+", "_", run_name)

    def dispatch() -> None:
        while pending and len(in_flight) < ex.slots:
            model, seed = pending.pop(0)
            elapsed = time.perf_counter() - start
            remaining = max(0.0, budget_s - elapsed)
            waves_left = math.ceil((len(pending) + 1 + len(in_flight)) / ex.slots)
            share = min(nominal, remaining / max(1, waves_left)) if remaining > 0 else 0.0
            measure_s = _measure_seconds(share)
            # What this trial costs beyond its training loop: calibrated per model in
            # set-up; when recent trials ran over their shares (a machine getting busier),
            # their median excess is added.
            extra = max(0.0, statistics.median(excess[-3:])) if excess else 0.0
            cost = overhead.get(model, 0.2 * share + measure_s) + extra
            train_s = max(0.2, share - cost)
            spec = TrialSpec(
                run=run_name,
                model=model,
                seed=seed,
                train_seconds=round(train_s, 3),
                measure_seconds=measure_s,
                params=params,
                overrides=prepared[model]["config"],
                causal=prepared[model]["causal"],
                max_epochs=max_epochs,
                device=device,
                weights_path=str(weights_dir / f"{model}-seed{seed}.safetensors"),
                train_options=train_options,
            )
            db.start_trial(run_name, model, seed)
            _emit(on_event, "trial_start", model=model, seed=seed, share_s=share, train_s=train_s)
            in_flight[ex.submit(spec)] = (spec, time.perf_counter(), share)

    dispatch()
    while in_flight:
        finished, _ = cf.wait(list(in_flight), return_when=cf.FIRST_COMPLETED)
        for future in finished:
            spec, t0, share_given = in_flight.pop(future)
            try:
                result = future.result()
            except Exception as exc:  # a worker died (killed, out of memory): record it
                result = {
                    "model": spec.model,
                    "seed": spec.seed,
                    "status": "failed",
                    "error": f"worker failed: {type(exc).__name__}: {exc}",
                    "extra": {"budget_s": spec.train_seconds},
                }
            wall = time.perf_counter() - t0
            if result.get("status") in FINISHED:
                excess.append(wall - share_given)
            result.setdefault("extra", {})["wall_s"] = round(wall, 3)
            db.finish_trial(run_name, result)
            _emit(on_event, "trial_done", model=spec.model, seed=spec.seed, result=result)
        dispatch()
    return {"elapsed_s": time.perf_counter() - start}


def _summary(result: BakeoffResult) -> dict[str, Any]:
    return {
        "metric": result.metric,
        "leaderboard": result.leaderboard,
        "winner": result.winner,
        "timing": result.timing,
        "export": result.export,
    }


def result_from_store(
    db: ResultsStore,
    run_name: str,
    *,
    timing: dict[str, Any] | None = None,
    splits_info: dict[str, Any] | None = None,
) -> BakeoffResult:
    """Rebuild a :class:`BakeoffResult` from the store (for ``seqselect report``)."""
    row = db.get_run(run_name)
    if row is None:
        known = [r["name"] for r in db.list_runs()]
        hint = f" Runs in {db.path}: {', '.join(known)}" if known else f" {db.path} holds no runs."
        raise SeqSelectError(f"no run named {run_name!r}.{hint}")
    args = row["args"]
    env = dict(row["environment"])
    dataset = splits_info or env.pop("dataset", {}) or {"name": row["dataset"]}
    env.pop("dataset", None)
    models = list(args.get("models", []))
    seeds = set(range(int(args.get("seeds", 1))))
    trials = [t for t in db.trials(run_name) if t["model"] in models and t["seed"] in seeds]
    metric = metric_for(dataset.get("model_task") or dataset.get("task", "classify"), next((t["metrics"] for t in trials if t["metrics"]), None))
    board = build_leaderboard(trials, models, metric)
    advice = row["advisor"]
    ranked_names = [r.get("model") if isinstance(r, dict) else str(r) for r in advice.get("ranked", [])]
    winner = choose_winner(
        board,
        metric,
        max_latency_ms=args.get("max_latency_ms"),
        max_memory_mb=args.get("max_memory_mb"),
        max_params=args.get("max_params"),
        advisor_pick=advice.get("pick"),
        advisor_ranked=ranked_names,
    )
    summary = row.get("summary") or {}
    return BakeoffResult(
        run=run_name,
        dataset=dataset,
        profile=row["profile"],
        advisor=advice,
        metric=metric,
        leaderboard=board,
        winner=winner,
        trials=trials,
        timing=timing or summary.get("timing", {}),
        environment=env,
        args=args,
        store=str(db.path),
        bench=db.bench_cells(run_name),
        export=summary.get("export"),
    )


def default_threads() -> int:
    return max(1, (os.cpu_count() or 1))
