"""Fit and measure one baseline on a dataset, like a candidate: :func:`run_baseline`."""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from seqselect.baselines.forecast import ForecastLayout, forecast_layout
from seqselect.baselines.metrics import split_metrics
from seqselect.baselines.registry import Baseline, baseline_card, create_baseline
from seqselect.bench.memory import current_rss_mb, peak_rss_mb, reset_peak_rss
from seqselect.data.types import DatasetSplits, SequenceData
from seqselect.errors import SeqSelectError

log = logging.getLogger(__name__)

#: What a baseline's fit or predict may raise on data it cannot handle (singular systems,
#: too little data, no memory, numerical overflow): recorded as status "failed".
BASELINE_FAILURES = (ValueError, ArithmeticError, MemoryError, RuntimeError, np.linalg.LinAlgError)


@dataclass(frozen=True)
class BaselineRun:
    """One baseline fitted with one seed: metrics, per-example test predictions, costs.

    ``status`` is ``"ok"`` or ``"failed"`` (then ``error`` says why and the metrics are
    empty). ``test_predictions`` are class ids ``[N]`` or values ``[N][O]``, in test order,
    for paired statistics (:func:`seqselect.stats.paired_bootstrap`). ``latency_ms`` is
    the time to predict one test sequence alone (median of the timed repeats after one
    warm-up, see :func:`_timed_predict`); ``peak_mb`` the growth of peak RSS during
    one predict on it.
    """

    name: str
    seed: int
    status: str
    dataset: str = ""
    task: str = ""
    val_metrics: dict[str, float] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    test_predictions: list = field(default_factory=list)
    fit_s: float | None = None
    latency_ms: float | None = None
    peak_mb: float | None = None
    options: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def predictions(self) -> np.ndarray:
        """``test_predictions`` as an array: ``(N,)`` int64 or ``(N, O)`` float64."""
        dtype = np.int64 if self.task == "classify" else np.float64
        return np.asarray(self.test_predictions, dtype=dtype)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BaselineRun:
        return cls(**data)


def check_fits(name: str, splits: DatasetSplits) -> None:
    """Refuse a baseline that cannot take ``splits`` (its task, inputs or targets).

    Raises:
        SeqSelectError: what the baseline takes, and what the data is.
    """
    card = baseline_card(name)
    if card.task != splits.task:
        raise SeqSelectError(
            f"baseline {name} is for {card.task} data; {splits.name} is a {splits.task} dataset"
        )
    tokens = splits.train.x.dim() == 2
    if tokens and "tokens" not in card.inputs:
        raise SeqSelectError(
            f"baseline {name} takes real-valued series; {splits.name} holds token ids"
        )
    audio = (splits.metadata or {}).get("data_type") == "audio"
    if "audio" in card.inputs and not audio:
        raise SeqSelectError(f"baseline {name} takes audio clips (an audio: set, folder or "
                             f"table); {splits.name} is not audio")
    if not tokens and not {"real", "audio"} & set(card.inputs):
        raise SeqSelectError(f"baseline {name} takes texts; {splits.name} holds real values")
    if splits.model_task == "per_step":
        raise SeqSelectError(f"baseline {name} cannot predict per-step targets ({splits.name})")


def _options_for(
    name: str, splits: DatasetSplits, options: dict[str, Any]
) -> tuple[dict[str, Any], ForecastLayout | None]:
    """The baseline's options (forecasting: the data's layout unless the caller set it)
    and the layout the metrics use.

    An audio baseline gets the clips' sample rate. The metrics' layout is the dataset's
    own, never a baseline option, so MASE divides by one scale for every row of a
    leaderboard (a network has no season option).
    """
    if splits.task != "forecast":
        audio = splits.metadata.get("audio") or {}
        if "audio" in baseline_card(name).inputs and audio.get("sample_rate"):
            return {"sample_rate": int(audio["sample_rate"]), **options}, None
        return dict(options), None
    layout = forecast_layout(splits)
    merged = {
        "horizon": layout.horizon,
        "target_channels": layout.target_channels,
        "season_length": layout.season_length,
        **options,
    }
    return merged, layout


#: The latency repeats stop once they have taken this many seconds: a slow predict (TF-IDF
#: over long documents) gets fewer repeats rather than costing several times its fit, as
#: the networks' measurement is bounded (``measure_seconds``).
LATENCY_SECONDS = 0.5


def _timed_predict(
    model: Baseline, data: SequenceData, repeats: int
) -> tuple[np.ndarray, float, float]:
    """Predictions of ``data``, latency of one sequence (ms) and peak RSS growth.

    The latency is measured as the networks' is (:mod:`seqselect.bakeoff.measure`): the
    time to predict one sequence alone, the median of up to ``repeats`` timed predicts
    after a warm-up, as many as :data:`LATENCY_SECONDS` allows (dividing a whole-split
    predict by its size would credit a baseline with batching the networks do not get).
    """
    reset_peak_rss()
    base = current_rss_mb()
    pred = model.predict(data)
    peak = max(0.0, peak_rss_mb() - base)
    one = data.subset(torch.arange(min(1, len(data))))
    start = time.perf_counter()
    model.predict(one)  # the warm-up
    first = time.perf_counter() - start
    times: list[float] = []
    while len(times) < repeats and first + sum(times) < LATENCY_SECONDS:
        start = time.perf_counter()
        model.predict(one)
        times.append(time.perf_counter() - start)
    return pred, 1000 * statistics.median(times or [first]), peak


def _val_predictions(model: Baseline, splits: DatasetSplits, test_pred) -> np.ndarray | None:
    """The validation split's predictions: the test split's when they are the same split
    (a bake-off fold trial is scored on its fold, given as both), so it is predicted once."""
    if splits.val is splits.test:
        return test_pred
    return model.predict(splits.val) if len(splits.val) else None


def run_baseline(
    name: str,
    splits: DatasetSplits,
    seed: int = 0,
    *,
    options: dict[str, Any] | None = None,
    repeats: int = 3,
) -> BaselineRun:
    """Fit ``name`` on ``splits.train``; score validation and test; time and size predict.

    The test split is predicted once for its metrics and predictions (then up to
    ``repeats`` more times within :data:`LATENCY_SECONDS`, only to time them); a
    validation split that is the test split itself is not predicted again. Forecasting
    options ``horizon``, ``target_channels`` and ``season_length`` default to what the
    splits' metadata says.

    Raises:
        SeqSelectError: an unknown baseline or option, or a dataset it cannot take (wrong
            task, token inputs, per-step targets). Failures while fitting or predicting
            are returned as ``status="failed"``, never raised.
    """
    check_fits(name, splits)
    merged, layout = _options_for(name, splits, options or {})
    model = create_baseline(name, seed=seed, **merged)
    recorded = {k: list(v) if isinstance(v, tuple) else v for k, v in merged.items()}
    common = {
        "name": name, "seed": seed, "dataset": splits.name, "task": splits.task,
        "options": recorded,
    }
    try:
        start = time.perf_counter()
        model.fit(splits.train)
        fit_s = time.perf_counter() - start
        test_pred, latency_ms, peak_mb = _timed_predict(model, splits.test, repeats)
        val_pred = _val_predictions(model, splits, test_pred)
        val_metrics = split_metrics(splits.task, splits.val, val_pred, splits, layout)
        test_metrics = split_metrics(splits.task, splits.test, test_pred, splits, layout)
    except BASELINE_FAILURES as exc:  # a boundary: the leaderboard records it and goes on
        log.warning("baseline %s (seed %d) failed on %s: %s", name, seed, splits.name, exc)
        return BaselineRun(status="failed", error=f"{type(exc).__name__}: {exc}", **common)
    return BaselineRun(
        status="ok",
        val_metrics=val_metrics,
        test_metrics=test_metrics,
        test_predictions=np.asarray(test_pred).tolist(),
        fit_s=fit_s,
        latency_ms=latency_ms,
        peak_mb=peak_mb,
        **common,
    )
