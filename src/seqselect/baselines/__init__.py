"""Non-network baselines for the leaderboard, fitted and measured like the candidates.

DESIGN.md: every leaderboard has at least one baseline that is not a network, measured the
same way, and when a baseline wins the verdict says so. This package provides them.

Registry (timm-style, one card per baseline)::

    list_baselines(task=None) -> list[str]        # task: classify | regress | forecast
    baseline_card(name) -> BaselineCard           # name task summary reference inputs
                                                  # multivariate variable_length options requires
    create_baseline(name, *, seed=0, **options) -> Baseline   # unknown options raise
    baseline.fit(train: SequenceData) -> baseline
    baseline.predict(data: SequenceData) -> np.ndarray
        # classify: (N,) int64 class ids; regress / forecast: (N, O) float64 values,
        # in the units of the dataset's targets (standardised, offset windows as given)

One call fits and measures a baseline on a dataset, as the bake-off does with candidates::

    run = run_baseline("minirocket", splits, seed=0)      # -> BaselineRun (frozen)
    run.status            # "ok" | "failed" (then run.error; a failure never raises)
    run.val_metrics       # {"accuracy", "macro_f1", "n"}  (classify)
    run.test_metrics      # {"mse", "mae", "n"} (regress), + "mase", "smape" (forecast)
    run.test_predictions  # per test example, for seqselect.stats.paired_bootstrap
    run.fit_s, run.latency_ms (per sequence, median after warm-up), run.peak_mb
    run.to_dict() / BaselineRun.from_dict(d)

A dataset a baseline cannot take (another task, token ids, per-step targets) raises
:class:`~seqselect.errors.SeqSelectError` before any work.

Baselines:

=================  ========  ========================================================
name               task      what
=================  ========  ========================================================
majority           classify  most frequent training class (the chance floor)
minirocket         classify  aeon MiniRocketClassifier (n_jobs=1, random_state=seed)
multirocket_hydra  classify  aeon MultiRocketHydraClassifier
mean               regress   training mean of the targets
minirocket_ridge   regress   MiniRocket features + StandardScaler + RidgeCV, (N, O)
seasonal_naive     forecast  last season of the window repeated (m = 1: last value)
auto_ets           forecast  aeon AutoETS fitted per window and target channel
=================  ========  ========================================================

Variable-length (padded) series: aeon's ROCKET family needs equal lengths, so each
series' real steps are resampled (linear interpolation) to the training split's length;
option ``unequal_length="last"`` pads with the last real value and truncates instead.
Forecasting baselines read ``horizon``, ``target_channels`` and ``season_length`` from
the splits' metadata (:func:`forecast_layout`); ``season_length`` can be passed as an
option and otherwise falls back to the naive forecast.
Metric definitions: :mod:`seqselect.baselines.metrics`.
"""

from __future__ import annotations

from seqselect.baselines import classify, forecast, regress, text  # noqa: F401  (register entries)
from seqselect.baselines.forecast import ForecastLayout, forecast_layout
from seqselect.baselines.registry import (
    Baseline,
    BaselineCard,
    baseline_card,
    create_baseline,
    list_baselines,
    register_baseline,
)
from seqselect.baselines.run import BaselineRun, run_baseline

__all__ = [
    "Baseline",
    "BaselineCard",
    "BaselineRun",
    "ForecastLayout",
    "baseline_card",
    "create_baseline",
    "forecast_layout",
    "list_baselines",
    "register_baseline",
    "run_baseline",
]
