"""Stage 1 of the bake-off: check the request, load and profile the data, ask the advisor,
and settle the candidates (each built once, so every seed trains the same architecture).

Everything here runs before any training, and every bad input is refused here with one
message naming the option.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from seqselect.bakeoff.baseline_trials import parse_baselines
from seqselect.bakeoff.candidates import advise, parse_models, prepare, shortlist
from seqselect.bakeoff.executors import EXECUTORS
from seqselect.bakeoff.export import forecast_input
from seqselect.bakeoff.protocol import choose_protocol, phase_seeds
from seqselect.bakeoff.records import Protocol
from seqselect.bakeoff.tune import PRUNERS, parse_tune  # issue 16
from seqselect.budget import parse_seconds
from seqselect.data import load_dataset, profile_dataset
from seqselect.errors import SeqSelectError
from seqselect.system import resolve_device
from seqselect.train.recipe import default_params

__all__ = [
    "BakeoffRequest", "Plan", "check_resume", "check_same_folds", "dataset_info",
    "default_run_name", "make_plan",
]

#: Settings a resumed run must share with the stored one: they decide what is trained.
_RESUME_KEYS = (
    "data", "task", "target", "params", "device", "train_options", "data_options",
    "tune",  # issue 16
)
#: Dataset metadata the exported model needs to rebuild its input pipeline.
_INPUT_KEYS = (
    "form", "channels", "n_step_columns", "normalization", "target_normalization", "impute",
    "horizon", "window",
    "data_type", "tokenizer", "text_pipeline", "text_column", "label_column", "audio",
    "truncation", "pretrained",
)


@dataclass(frozen=True)
class BakeoffRequest:
    """What the user asked for, checked: raises :class:`SeqSelectError` on a bad option.

    ``budget`` is the text or seconds given; ``budget_s`` its value in seconds.
    """

    budget: str | float = "10m"
    task: str | None = None
    target: str | None = None
    models: str | list[str] | None = "auto"
    seeds: int = 3
    params: int | None = None
    max_latency_ms: float | None = None
    max_memory_mb: float | None = None
    max_params: int | None = None
    executor: str = "local"
    jobs: int = 1
    device: str = "cpu"
    run: str | None = None
    max_epochs: int | None = 500
    train_options: dict[str, Any] = field(default_factory=dict)
    data_options: dict[str, Any] = field(default_factory=dict)
    baselines: str | list[str] | None = "auto"  # "auto" | "none" | names
    tune: int | str | None = None  # issue 16: configurations per candidate, "auto" or None
    tune_pruner: str = "median"  # issue 16: "median" | "halving"
    # Derived in __post_init__ (frozen, hence object.__setattr__):
    budget_s: float = field(init=False, default=0.0)
    explicit_models: list[str] | None = field(init=False, default=None)  # None: the advisor's

    def __post_init__(self) -> None:
        object.__setattr__(self, "budget_s", parse_seconds(self.budget))
        if self.seeds < 1:
            raise SeqSelectError(f"--seeds must be >= 1, got {self.seeds}")
        if self.params is not None and self.params < 1:
            raise SeqSelectError(f"--params must be positive, got {self.params}")
        for flag, value in (
            ("--max-latency-ms", self.max_latency_ms),
            ("--max-memory-mb", self.max_memory_mb),
            ("--max-params", self.max_params),
        ):
            if value is not None and not value > 0:
                raise SeqSelectError(f"{flag} must be positive, got {value}")
        if self.jobs < 1:
            raise SeqSelectError(f"--jobs must be >= 1, got {self.jobs}")
        if self.executor not in EXECUTORS:
            raise SeqSelectError(
                f"--executor must be one of {', '.join(EXECUTORS)}, got {self.executor!r}"
            )
        object.__setattr__(self, "explicit_models", parse_models(self.models))
        object.__setattr__(self, "device", str(resolve_device(self.device)))
        object.__setattr__(self, "tune", parse_tune(self.tune))  # issue 16
        if self.tune_pruner not in PRUNERS:  # issue 16
            raise SeqSelectError(f"--pruner must be one of {', '.join(PRUNERS)}, "
                                 f"got {self.tune_pruner!r}")
        if self.run is not None and not str(self.run).strip():
            raise SeqSelectError("--run must not be empty")


@dataclass(frozen=True)
class Plan:
    """What will be trained: the data, the advice, the candidates and how each is built.

    ``prepared[model]`` is :func:`~seqselect.bakeoff.candidates.prepare`'s answer;
    ``runnable`` the candidates that can run here; ``args`` the run's stored settings.
    """

    splits: Any
    source: str
    profile: dict[str, Any]
    advice: dict[str, Any]
    candidates: list[str]
    prepared: dict[str, dict[str, Any]]
    args: dict[str, Any]
    protocol: Protocol = field(default_factory=lambda: Protocol(kind="holdout"))
    baselines: list[str] = field(default_factory=list)

    @property
    def runnable(self) -> list[str]:
        return [m for m in self.candidates if "error" not in self.prepared[m]]

    @property
    def seeds(self) -> list[int]:
        return list(range(self.args["seeds"]))

    @property
    def roles(self) -> tuple[str, ...]:
        """The protocol's phases, in the order they run: selection, then the refit."""
        return tuple(phase_seeds(self.protocol, self.args["seeds"]))

    def keys(self, models: list[str], role: str) -> list[tuple[str, int, str]]:
        """``(model, seed, role)`` of every seed of ``models`` in phase ``role`` (a fold
        phase runs every fold: :func:`~seqselect.bakeoff.protocol.phase_seeds`), seed by
        seed (every model's seed 0 first): when a slow machine runs out of budget, the
        shares that shrink are the last seeds of every model, not every seed of the last
        model."""
        seeds = phase_seeds(self.protocol, self.args["seeds"]).get(role, [])
        return [(m, s, role) for s in seeds for m in models]

    @property
    def trials(self) -> list[tuple[str, int, str]]:
        """Every network trial key the run trains (runnable candidates), phase by phase."""
        return [key for role in self.roles for key in self.keys(self.runnable, role)]

    @property
    def baseline_trials(self) -> list[tuple[str, int, str]]:
        """Every baseline fit key, phase by phase."""
        return [key for role in self.roles for key in self.keys(self.baselines, role)]


def _load(data: Any, request: BakeoffRequest) -> tuple[Any, str]:
    """``(splits, source)``: ``data`` itself when already loaded, else read by name."""
    if hasattr(data, "train") and hasattr(data, "test") and hasattr(data, "model_task"):
        return data, getattr(data, "source", "") or data.name
    source = str(data)
    splits = load_dataset(
        source, task=request.task, target=request.target, **request.data_options
    )
    return splits, source


def _candidates(advice: dict[str, Any], explicit: list[str] | None,
                budget_s: float | None = None, task: str | None = None) -> list[str]:
    """The models to train; records the shortlist, the model added to it and the mode in
    ``advice``."""
    if explicit is None:
        candidates, baseline = shortlist(advice, budget_s=budget_s, task=task)
        if not candidates:
            raise SeqSelectError("the advisor returned no trainable model; give --models a,b,c")
    else:
        candidates, baseline = explicit, None
    advice["shortlist"] = candidates
    advice["baseline"] = baseline
    advice["mode"] = "auto" if explicit is None else "user"
    return candidates


def _max_length(splits) -> int | None:
    """The longest real sequence in any split (a model's maximum length must reach it)."""
    parts = (splits.train, splits.val, splits.test)
    lengths = [int(part.mask.sum(dim=1).max()) for part in parts if len(part)]
    return max(lengths) if lengths else None


def _stored_args(request: BakeoffRequest, source: str, candidates: list[str]) -> dict[str, Any]:
    explicit = request.explicit_models
    return {
        "data": source,
        "task": request.task,
        "target": request.target,
        "models": candidates,
        "models_arg": "auto" if explicit is None else ",".join(explicit),
        "budget_s": request.budget_s,
        "seeds": request.seeds,
        "seeds_requested": request.seeds,  # "seeds" is what a budget fit left of them
        "params": request.params,
        "max_latency_ms": request.max_latency_ms,
        "max_memory_mb": request.max_memory_mb,
        "max_params": request.max_params,
        "executor": request.executor,
        "jobs": request.jobs,
        "device": request.device,
        "max_epochs": request.max_epochs,
        "train_options": request.train_options,
        "data_options": request.data_options,
        "baselines_arg": request.baselines,
        "tune": request.tune, "tune_pruner": request.tune_pruner,  # issue 16
    }


def make_plan(data: Any, request: BakeoffRequest) -> Plan:
    """Load, profile, advise, pick the candidates and build each once."""
    splits, source = _load(data, request)
    profile = profile_dataset(splits).to_dict()
    advice = advise(profile, device=request.device)
    candidates = _candidates(advice, request.explicit_models, request.budget_s, splits.task)
    # a model the data brings (the --pretrained checkpoint's) is always a candidate
    candidates = candidates + [
        m for m in splits.metadata.get("model_overrides", {}) if m not in candidates
    ]
    max_length = _max_length(splits)
    # The recipe's width when the user gives none (stored args keep the user's --params).
    params = request.params if request.params is not None else default_params(splits)
    prepared = {m: prepare(m, splits, params=params, max_length=max_length) for m in candidates}
    baselines = parse_baselines(request.baselines, splits)
    protocol = choose_protocol(splits, request.seeds)
    args = _stored_args(request, source, candidates)
    args.update(baselines=baselines, protocol=protocol.kind, build_params=params)
    return Plan(
        splits=splits,
        source=source,
        profile=profile,
        advice=advice,
        candidates=candidates,
        prepared=prepared,
        args=args,
        protocol=protocol,
        baselines=baselines,
    )


def check_resume(previous: dict[str, Any] | None, args: dict[str, Any]) -> None:
    """A resumed run must train the same thing: same data, task, target, parameters."""
    if previous is None:
        return
    old = previous.get("args", {})
    clashes = [key for key in _RESUME_KEYS if key in old and old.get(key) != args.get(key)]
    if clashes:
        detail = ", ".join(f"{k}: {old.get(k)!r} then, {args.get(k)!r} now" for k in clashes)
        raise SeqSelectError(
            f"run {previous['name']!r} exists in the store with different settings ({detail}); "
            "give a new --run name, or the same settings to resume it"
        )


def check_same_folds(stored: Protocol | None, protocol: Protocol, run: str) -> None:
    """A resumed run must split its pool as the stored one did: the trials kept from it
    were scored on those folds (the fold count follows ``--seeds``)."""
    if stored is None:
        return
    then = (stored.kind, stored.n_folds, stored.fold_seed)
    if then != (protocol.kind, protocol.n_folds, protocol.fold_seed):
        raise SeqSelectError(
            f"run {run!r} was stored with {protocol_words(stored)}; these settings give "
            f"{protocol_words(protocol)}, and its kept trials were scored on the old folds: "
            "give the --seeds it was started with, or a new --run name"
        )


def protocol_words(protocol: Protocol) -> str:
    """``3-fold cross-validation (fold seed 0)`` or ``hold-out validation``."""
    if protocol.kind == "cv":
        return f"{protocol.n_folds}-fold cross-validation (fold seed {protocol.fold_seed})"
    return "hold-out validation"


def default_run_name(dataset_name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", dataset_name).strip("-")[:40] or "run"
    return f"{slug}-{time.strftime('%Y%m%d-%H%M%S')}"


def dataset_info(splits, source: str) -> dict[str, Any]:
    """The dataset as stored with the run: sizes, task, classes and the model's inputs."""
    meta = dict(getattr(splits, "metadata", {}) or {})
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
        "input": {
            **{k: meta[k] for k in _INPUT_KEYS if k in meta},
            # a forecaster's windows (columns, targets, offset, season): predict cuts the
            # next window from them the way training did
            **(forecast_input(meta) if splits.task == "forecast" else {}),
        },
    }
