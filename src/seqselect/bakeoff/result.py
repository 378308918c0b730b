"""Stage 5 of the bake-off: the result, rebuilt from the store, and the winner's export.

:func:`result_from_store` is the one way a :class:`BakeoffResult` is made, at the end of
a bake-off and for ``seqselect report`` alike, so both show the same leaderboard and
verdict.

The winner is compared with the runner-up on the metric that ranked them. Forecasting
ranks by MASE, whose paired interval needs each test window's scale (its in-sample
seasonal-naive MAE, :func:`mase_test_scale`): given to :func:`result_from_store` at the
end of a bake-off, it is kept in the run's summary, so ``seqselect report`` compares on
MASE too. A run without it is compared on MAE, and the verdict says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqselect.bakeoff.decide import TEST_ROLES, build_leaderboard, choose_winner, metric_for
from seqselect.bakeoff.export import build_from_description, export_model, load_weights
from seqselect.bakeoff.protocol import phase_seeds
from seqselect.bakeoff.records import LeaderboardRow, Protocol, ScalingCell, Trial, Winner
from seqselect.bakeoff.store import ResultsStore
from seqselect.bakeoff.tune import tuning_summary  # issue 16
from seqselect.errors import SeqSelectError
from seqselect.vocabulary import higher_is_better, ranking_task

__all__ = ["BakeoffResult", "mase_test_scale", "result_from_store", "run_summary"]

#: Data options an exported model's input pipeline repeats at prediction time.
_INPUT_OPTIONS = ("id_col", "time_col", "impute")


@dataclass
class BakeoffResult:
    """A finished (or resumed) bake-off; :meth:`to_dict` is the ``--json`` document.

    Mutable only in ``export``, which :meth:`export_winner` fills in.
    """

    run: str
    dataset: dict[str, Any]
    profile: dict[str, Any]
    advisor: dict[str, Any]
    metric: str
    leaderboard: list[LeaderboardRow]
    winner: Winner
    trials: list[Trial]
    timing: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    args: dict[str, Any] = field(default_factory=dict)
    store: str = ""
    bench: list[ScalingCell] = field(default_factory=list)
    export: dict[str, Any] | None = None
    # How the run selected (cross-validation or hold-out); None for runs from before it.
    protocol: Protocol | None = None
    # issue 16: each candidate's search (--tune): its configurations and the chosen one
    tuning: dict[str, Any] = field(default_factory=dict)
    # Forecasting: each test window's MASE scale, in test order (what the interval on
    # MASE used); kept in the store's summary, not in the --json document.
    test_scale: list[float] | None = None

    def to_dict(self, *, with_history: bool = True) -> dict[str, Any]:
        out = {
            "run": self.run,
            "dataset": self.dataset,
            "profile": self.profile,
            "advisor": self.advisor,
            "metric": self.metric,
            "leaderboard": [row.to_dict() for row in self.leaderboard],
            "winner": self.winner.to_dict(),
            "trials": [t.to_dict(with_history=with_history) for t in self.trials],
            "timing": self.timing,
            "environment": self.environment,
            "args": self.args,
            "store": self.store,
            "protocol": self.protocol.to_dict() if self.protocol else None,
        }
        if self.bench:
            out["bench"] = [cell.to_dict() for cell in self.bench]
        if self.export is not None:
            out["export"] = self.export
        if self.tuning:  # issue 16
            out["tuning"] = self.tuning
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> BakeoffResult:
        """Read a ``--json`` document back (missing sections are empty)."""
        metric = doc.get("metric", "accuracy")
        return cls(
            run=doc.get("run", ""),
            dataset=doc.get("dataset") or {},
            profile=doc.get("profile") or {},
            advisor=doc.get("advisor") or {},
            metric=metric,
            leaderboard=[LeaderboardRow.from_dict(r, metric) for r in doc.get("leaderboard", [])],
            winner=Winner.from_dict(doc.get("winner") or {}, metric),
            trials=[Trial.from_dict(t) for t in doc.get("trials", [])],
            timing=doc.get("timing") or {},
            environment=doc.get("environment") or {},
            args=doc.get("args") or {},
            store=doc.get("store") or "",
            bench=[ScalingCell.from_dict(cell) for cell in doc.get("bench") or []],
            export=doc.get("export"),
            protocol=Protocol.from_dict(doc["protocol"]) if doc.get("protocol") else None,
            tuning=doc.get("tuning") or {},  # issue 16
        )

    def exported_choice(self) -> tuple[str | None, int | None]:
        """The model and seed ``--export`` writes: the winner at its best-validation seed,
        or, when a baseline won (baselines are not exported), the best network at its
        best-validation seed."""
        winner = self.winner
        if winner.kind != "baseline":
            return winner.model, winner.seed
        row = next((r for r in self.leaderboard if r.model == winner.best_network), None)
        return winner.best_network, row.best_seed if row else None

    def winning_trial(self) -> Trial:
        """The tested trial ``--export`` writes (see :meth:`exported_choice`), with its
        weights on disk.

        Raises:
            SeqSelectError: no winner (or no network to export), or its weights are gone.
        """
        name, seed = self.exported_choice()
        if not name:
            raise SeqSelectError("no network to export: " + "; ".join(self.winner.reasons))
        trial = next(
            (t for t in self.trials if t.model == name and t.seed == seed and t.status == "ok"
             and t.role in TEST_ROLES),
            None,
        )
        if trial is None or not trial.weights or not Path(trial.weights).is_file():
            raise SeqSelectError(
                f"the weights of {name} (seed {seed}) are missing from the store's folder; "
                "re-run the trial"
            )
        return trial

    def export_winner(self, out_dir: str | Path, splits=None) -> dict[str, Any]:
        """Write the chosen network (its best-validation seed's weights) to ``out_dir``:
        see :mod:`export`."""
        trial = self.winning_trial()
        kwargs = self.dataset.get("model_kwargs", {})
        description = {
            "model": trial.model,
            "spec": {
                "d_output": kwargs.get("d_output"),
                "d_input": kwargs.get("d_input"),
                "vocab_size": kwargs.get("vocab_size"),
                "task": kwargs.get("task", "classify"),
                "causal": bool(trial.extra.get("causal")),
            },
            "config": trial.extra.get("config", {}),
        }
        model = build_from_description(description)
        load_weights(model, trial.weights)
        options = self.args.get("data_options") or {}
        info = {
            "task": self.dataset.get("task"),
            "model_task": self.dataset.get("model_task"),
            "target": self.args.get("target"),
            "class_names": self.dataset.get("class_names"),
            "input": {
                **self.dataset.get("input", {}),
                **{k: v for k, v in options.items() if k in _INPUT_OPTIONS},
            },
            "dataset": self.dataset.get("name"),
            "run": self.run,
            "seed": trial.seed,
            "metrics": trial.metrics,
            "params": trial.params,
        }
        config = export_model(model, out_dir, info=info, example=_onnx_example(splits))
        self.export = {
            "dir": str(out_dir), "model": trial.model, "seed": trial.seed, "onnx": config["onnx"],
        }
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


def run_summary(result: BakeoffResult) -> dict[str, Any]:
    """What the store keeps about a finished run beside its trials."""
    return {
        "metric": result.metric,
        "leaderboard": [row.to_dict() for row in result.leaderboard],
        "winner": result.winner.to_dict(),
        "timing": result.timing,
        "export": result.export,
        "protocol": result.protocol.to_dict() if result.protocol else None,
        **({"test_scale": result.test_scale} if result.test_scale is not None else {}),
    }


def mase_test_scale(splits: Any) -> list[float] | None:
    """Each test window's in-sample seasonal-naive MAE, in test order: the per-example
    scale of the MASE the trials report (the same layout and season the trainer's
    ``evaluate_split`` reads), so a paired interval on MASE matches their numbers. None
    for any other task, or windows whose layout cannot be read."""
    from seqselect.data.windows import ForecastLayout
    from seqselect.train.metrics import mase_scale

    if getattr(splits, "task", None) != "forecast" or not len(splits.test):
        return None
    try:
        layout = ForecastLayout.from_splits(splits)
    except (SeqSelectError, KeyError, ValueError):
        return None
    history = splits.test.x.detach().cpu().double().numpy()[:, :, list(layout.target_channels)]
    return [float(v) for v in mase_scale(history, layout.season_length)]


def _usable_scale(scale: list[float] | None, targets: list[Any] | None) -> list[float] | None:
    """``scale`` when it has one entry per test target, else None (compare on MAE)."""
    if scale is None or targets is None or len(scale) != len(targets):
        return None
    return list(scale)


def _ranked_names(advice: dict[str, Any]) -> list[str]:
    return [r.get("model") if isinstance(r, dict) else str(r) for r in advice.get("ranked", [])]


def _board_models(args: dict[str, Any], trials: list[Trial]) -> tuple[list[str], list[str]]:
    """The rows of the leaderboard (the candidates, then the baselines) and the baselines'
    names: those the run asked for (``args["baselines"]`` when it is a list of names) and
    any stored trial marked as one."""
    models = list(args.get("models", []))
    asked = args.get("baselines")
    baselines = list(asked) if isinstance(asked, list) else []
    baselines += [t.model for t in trials if t.kind == "baseline"]
    baselines = list(dict.fromkeys(baselines))
    return models + [b for b in baselines if b not in models], baselines


def result_from_store(
    db: ResultsStore,
    run_name: str,
    *,
    timing: dict[str, Any] | None = None,
    splits_info: dict[str, Any] | None = None,
    test_targets: list[Any] | None = None,
    test_scale: list[float] | None = None,
) -> BakeoffResult:
    """Rebuild a :class:`BakeoffResult` from the store (for ``seqselect report``).

    ``test_targets`` (in test order) are read from the store's protocol when not given;
    the winner is compared with the runner-up on them, on the ranking metric.
    ``test_scale`` (forecasting: :func:`mase_test_scale` of the splits) is read from the
    run's stored summary when not given; without it a MASE ranking is compared on MAE.
    """
    row = db.get_run(run_name)
    if row is None:
        known = [r["name"] for r in db.list_runs()]
        hint = f" Runs in {db.path}: {', '.join(known)}" if known else f" {db.path} holds no runs."
        raise SeqSelectError(f"no run named {run_name!r}.{hint}")
    args = row["args"]
    env = dict(row["environment"])
    stored_dataset = env.pop("dataset", {})
    dataset = splits_info or stored_dataset or {"name": row["dataset"]}
    protocol, stored_targets = db.protocol(run_name)
    # the seeds each phase runs now (a budget fit may have cut some a stored run had)
    seeds = phase_seeds(protocol or Protocol(kind="holdout"), int(args.get("seeds", 1)))
    stored = [t for t in db.trials(run_name)
              if t.seed in seeds.get(t.role, seeds.get("refit", seeds.get("trial", [])))]
    models, baselines = _board_models(args, stored)
    trials = [t for t in stored if t.model in models]
    targets = test_targets if test_targets is not None else stored_targets
    summary = row.get("summary") or {}
    scale = _usable_scale(
        test_scale if test_scale is not None else summary.get("test_scale"), targets
    )
    task = ranking_task(dataset.get("task"), dataset.get("model_task"))
    tested = [t for t in trials if t.metrics and t.role in TEST_ROLES]
    metric = metric_for(task, next((t.metrics for t in tested), None))
    board = build_leaderboard(trials, models, metric, baselines=baselines)
    advice = row["advisor"]
    winner = choose_winner(
        board,
        metric,
        max_latency_ms=args.get("max_latency_ms"),
        max_memory_mb=args.get("max_memory_mb"),
        max_params=args.get("max_params"),
        advisor_pick=advice.get("pick"),
        advisor_ranked=_ranked_names(advice),
        trials=trials,
        test_targets=targets,
        test_scale=scale if metric == "mase" else None,
    )
    fitted = (args.get("budget_fit") or {}).get("reason")
    if fitted:
        winner.reasons.append(fitted)
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
        protocol=protocol,
        tuning=tuning_summary(db.path, run_name, higher=higher_is_better(metric)),  # 16
        test_scale=scale,
    )
