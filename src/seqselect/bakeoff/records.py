"""The bake-off's records: what a trial produced, a leaderboard row, and the winner.

These cross the bake-off's module boundaries (trial -> store -> decide -> result ->
report and CLI). Each is a frozen dataclass whose :meth:`to_dict` is the JSON the
bake-off has always written (same keys, same order) and whose ``from_dict`` reads it
back, tolerating missing keys (older runs, hand-written documents).

The leaderboard metric is a key of its own in a row and in the winner (``"accuracy":
0.93, "accuracy_std": 0.01``), so the records keep it as ``metric`` with ``value`` and
``std`` and write it back under the metric's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["LeaderboardRow", "Protocol", "ScalingCell", "Trial", "Winner"]

#: A trial's keys in the order the store returns them (and the JSON shows them).
_TRIAL_KEYS = (
    "run", "model", "seed", "status", "metrics", "train_s", "latency_ms", "batch_latency_ms",
    "step_latency_ms", "peak_mb", "params", "history", "extra", "error", "weights", "started",
    "finished",
)


@dataclass(frozen=True)
class Trial:
    """One (model, seed) training run: its status, test metrics and measured costs.

    ``status`` is ``"ok"``, ``"diverged"`` (a non-finite loss), ``"failed"`` (an exception,
    or a candidate that cannot run here) or ``"running"`` (started, not finished: the
    process died). ``val_metrics`` travels from the worker to the store (its metric rows)
    and is written only when present, so a stored trial's JSON keeps its usual keys.
    """

    model: str
    seed: int
    status: str
    run: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    train_s: float | None = None
    latency_ms: float | None = None
    batch_latency_ms: float | None = None
    step_latency_ms: float | None = None
    peak_mb: float | None = None
    params: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    weights: str | None = None
    started: str | None = None
    finished: str | None = None
    val_metrics: dict[str, Any] = field(default_factory=dict)
    # What kind of row this is: a zoo model ("network") or a non-network baseline.
    kind: str = "network"
    # Its part in the protocol (see :class:`Protocol`): "trial" trains on the training
    # split, selects on the validation split and tests once; "fold" is a selection run
    # (trains on the training pool minus one fold, is scored on that fold, never sees the
    # test split); "refit" trains on the whole pool with what the folds chose, tests once.
    role: str = "trial"
    fold: int | None = None  # the fold a "fold" trial was scored on
    # Test predictions, one per test example in order (class ids, or lists of values),
    # so that two models can be compared on the same examples; None for "fold" trials.
    predictions: list[Any] | None = None
    # A classification "fold" trial's cross-entropy on each validation sequence of its
    # fold, in fold order: two networks' fold trials of one seed share the fold, so their
    # losses pair up (see seqselect.bakeoff.ranking); None for the other trials.
    val_losses: list[float] | None = None

    def to_dict(self, *, with_history: bool = True) -> dict[str, Any]:
        out = {key: getattr(self, key) for key in _TRIAL_KEYS}
        if not with_history:
            del out["history"]
        if self.val_metrics:
            out["val_metrics"] = self.val_metrics
        out["kind"] = self.kind
        out["role"] = self.role
        if self.fold is not None:
            out["fold"] = self.fold
        if self.predictions is not None and with_history:
            out["predictions"] = self.predictions
        if self.val_losses is not None and with_history:
            out["val_losses"] = self.val_losses
        return out

    @property
    def key(self) -> tuple[str, int, str]:
        """What identifies a trial within a run: (model, seed, role)."""
        return (self.model, self.seed, self.role)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trial:
        return _read(cls, data)


def _read(cls: type, data: dict[str, Any], metric: str | None = None, **given: Any) -> Any:
    """``cls`` from ``data``: its fields that ``data`` has and are not None (the others
    take their defaults; unknown keys are ignored), the metric's value and std read from
    under the metric's name, and ``given`` as it is."""
    values = {f.name: data[f.name] for f in fields(cls) if data.get(f.name) is not None}
    if metric is not None:
        values.update(metric=metric, value=data.get(metric), std=data.get(f"{metric}_std"))
    return cls(**{**values, **given})


def _metric_of(data: dict[str, Any]) -> str | None:
    """The metric a row is about: the ``X`` of its ``X`` and ``X_std`` keys."""
    for key in data:
        if key.startswith("val_"):  # the validation twin of the metric
            continue
        if key.endswith("_std") and key[: -len("_std")] in data:
            return key[: -len("_std")]
    return None


@dataclass(frozen=True)
class LeaderboardRow:
    """One model's line: mean and std of ``metric`` over its ok seeds, median costs."""

    model: str
    metric: str
    value: float | None = None
    std: float | None = None
    n_seeds: int = 0
    seeds: list[int] = field(default_factory=list)
    train_s: float | None = None
    latency_ms: float | None = None
    batch_latency_ms: float | None = None
    step_latency_ms: float | None = None
    peak_mb: float | None = None
    params: int | None = None
    status: str = "pending"
    n_diverged: int = 0
    n_failed: int = 0
    metrics: dict[str, float] = field(default_factory=dict)  # every test metric's mean
    best_seed: int | None = None
    errors: list[str] = field(default_factory=list)
    rank: int | None = None  # None when the model has no usable trial
    kind: str = "network"  # "network" or "baseline"
    # The validation score the row is ranked by: mean and std over folds x seeds (the
    # "fold" trials) or over seeds (held-out validation); ``value``/``std`` are the test
    # score over seeds, reported, never used to rank.
    val_value: float | None = None
    val_std: float | None = None
    n_val: int = 0  # validation scores behind val_value
    # Mean validation cross-entropy (classification networks): what ranks networks among
    # themselves on small folds (:mod:`seqselect.bakeoff.ranking`).
    val_loss: float | None = None
    # How the network's tested and fold trials trained: "bf16" (all), "fp32" (none in
    # bf16) or "mixed" (some), from each trial's ``extra["precision"]``; None for a
    # baseline, or for trials that did not record it (older runs).
    precision: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "kind": self.kind,
            f"val_{self.metric}": self.val_value,
            f"val_{self.metric}_std": self.val_std,
            "n_val": self.n_val,
            "val_cross_entropy": self.val_loss,
            self.metric: self.value,
            f"{self.metric}_std": self.std,
            "n_seeds": self.n_seeds,
            "seeds": self.seeds,
            "train_s": self.train_s,
            "latency_ms": self.latency_ms,
            "batch_latency_ms": self.batch_latency_ms,
            "step_latency_ms": self.step_latency_ms,
            "peak_mb": self.peak_mb,
            "params": self.params,
            "precision": self.precision,
            "status": self.status,
            "n_diverged": self.n_diverged,
            "n_failed": self.n_failed,
            "metrics": self.metrics,
            "best_seed": self.best_seed,
            "errors": self.errors,
            "rank": self.rank,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], metric: str | None = None) -> LeaderboardRow:
        metric = metric or _metric_of(data) or "accuracy"
        return _read(
            cls, data, metric,
            val_value=data.get(f"val_{metric}"), val_std=data.get(f"val_{metric}_std"),
            val_loss=data.get("val_cross_entropy"),
        )


@dataclass(frozen=True)
class Winner:
    """The verdict: the chosen model (None when none qualified), why, and what was left out.

    ``excluded`` maps a model to why it could not win (a constraint it broke, or no usable
    trial); ``reasons`` are the verdict's sentences, shown by the CLI and the report alike.
    """

    model: str | None
    metric: str
    constraints: dict[str, Any] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)
    advisor_pick: str | None = None
    reasons: list[str] = field(default_factory=list)
    agrees_with_advisor: bool | None = None
    value: float | None = None
    std: float | None = None
    latency_ms: float | None = None
    step_latency_ms: float | None = None
    peak_mb: float | None = None
    params: int | None = None
    train_s: float | None = None
    seed: int | None = None
    advisor_rank_of_winner: int | None = None
    kind: str = "network"  # a baseline can win; the verdict then says so
    val_value: float | None = None  # the validation score it won on
    val_std: float | None = None
    runner_up: str | None = None
    # The paired comparison with the runner-up on the same test examples
    # (seqselect.stats.PairedComparison.to_dict()): difference, interval, tied.
    comparison: dict[str, Any] | None = None
    # The best network when a baseline wins (named, and the one exported).
    best_network: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "metric": self.metric,
            "constraints": self.constraints,
            "excluded": self.excluded,
            "advisor_pick": self.advisor_pick,
        }
        if self.model is not None:
            out.update({
                self.metric: self.value,
                f"{self.metric}_std": self.std,
                "latency_ms": self.latency_ms,
                "step_latency_ms": self.step_latency_ms,
                "peak_mb": self.peak_mb,
                "params": self.params,
                "train_s": self.train_s,
                "seed": self.seed,
                "kind": self.kind,
                f"val_{self.metric}": self.val_value,
                f"val_{self.metric}_std": self.val_std,
                "runner_up": self.runner_up,
                "comparison": self.comparison,
                "best_network": self.best_network,
            })
        out["reasons"] = self.reasons
        out["agrees_with_advisor"] = self.agrees_with_advisor
        if self.advisor_rank_of_winner is not None:
            out["advisor_rank_of_winner"] = self.advisor_rank_of_winner
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], metric: str | None = None) -> Winner:
        metric = data.get("metric") or metric or _metric_of(data) or "accuracy"
        return _read(
            cls, data, metric, model=data.get("model"),
            val_value=data.get(f"val_{metric}"), val_std=data.get(f"val_{metric}_std"),
        )


#: Bench facts a scaling cell keeps besides its columns (the store's ``extra``).
_SCALING_EXTRA = ("error", "flops", "estimate_mb")


@dataclass(frozen=True)
class ScalingCell:
    """One benchmark cell of a bake-off's scaling section (model x length x mode): the
    store's ``bench_cells`` row. ``ms`` is the bench's ``time_ms`` (median, one batch)."""

    model: str
    length: int | None = None
    mode: str | None = None
    batch: int | None = None
    status: str = "ok"
    ms: float | None = None
    peak_mb: float | None = None
    params: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    run: str | None = None
    created: str | None = None

    @classmethod
    def from_bench(cls, cell: Any, *, run: str | None = None) -> ScalingCell:
        """From a :class:`~seqselect.bench.records.BenchCell` of the harness."""
        extra = {k: getattr(cell, k) for k in _SCALING_EXTRA if getattr(cell, k) is not None}
        return cls(
            model=cell.model, length=cell.length, mode=cell.mode, batch=cell.batch or 8,
            status=cell.status or "ok", ms=cell.time_ms, peak_mb=cell.peak_mb,
            params=cell.params, extra=extra, run=run,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run, "model": self.model, "length": self.length, "mode": self.mode,
            "batch": self.batch, "status": self.status, "ms": self.ms, "peak_mb": self.peak_mb,
            "params": self.params, "extra": self.extra, "created": self.created,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScalingCell:
        return _read(cls, data)


@dataclass(frozen=True)
class Protocol:
    """How a run selects, written with every result (DESIGN.md, evaluation protocol).

    ``kind="holdout"``: each trial trains on the training split, is validated on the
    validation split (early stopping and checkpoint restore allowed: it is large enough to
    rank on) and tested once. ``kind="cv"``: the training split is small, so the loader's
    validation rows go back into a training *pool* split into ``n_folds`` stratified folds;
    each seed's "fold" trial trains on the pool minus fold ``seed % n_folds`` and is scored
    on that fold (selection data), then its "refit" trial trains on the whole pool for the
    epochs the fold runs chose and is tested once. Nothing that selects reads the test
    split.
    """

    kind: str  # "holdout" | "cv"
    n_folds: int = 0
    n_pool: int = 0  # training sequences the folds split (cv) or the training split (holdout)
    n_val: int = 0  # validation sequences: the split (holdout) or the smallest fold (cv)
    restore_best: bool = True  # restore the best-on-validation weights before testing
    fold_seed: int = 0  # the seed the folds are drawn with
    reason: str = ""  # why this protocol was chosen, in words

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Protocol:
        return _read(cls, data)
