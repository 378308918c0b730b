"""The winner-versus-runner-up interval is on the metric that ranked them: regression on
MSE, forecasting on MASE (each test window scaled by its in-sample seasonal-naive MAE,
as the trials' MASE is), and the verdict names the metric it used."""

from __future__ import annotations

import numpy as np
import pytest

from seqselect.bakeoff.decide import build_leaderboard, choose_winner
from seqselect.bakeoff.records import Protocol, Trial
from seqselect.bakeoff.result import mase_test_scale, result_from_store, run_summary
from seqselect.stats import metric_value

#: Forty one-step windows: half with a small in-sample scale, half with a large one.
N = 40
SCALE = np.array([0.1] * (N // 2) + [10.0] * (N // 2))
TARGETS = np.zeros((N, 1))
# a: exact on the small-scale windows, off by 2 on the large ones (MAE 1.0, MASE 0.1);
# b: off by 0.5 everywhere (MAE 0.5, MASE (5 + 0.05) / 2 = 2.525). MAE prefers b, MASE a.
ERRORS = {"a": np.where(SCALE < 1, 0.0, 2.0), "b": np.full(N, 0.5)}
MASE = {"a": 0.1, "b": 2.525}


def _forecast_trials(seeds: int = 2) -> list[Trial]:
    """Tested trials of a and b with their test predictions; validation agrees with the
    MASE on test (a better)."""
    trials = []
    for model, errors in ERRORS.items():
        pred = (TARGETS[:, 0] + errors)[:, None].tolist()
        for seed in range(seeds):
            trials.append(Trial(
                model=model, seed=seed, status="ok", predictions=pred,
                metrics={"mase": MASE[model], "mae": float(errors.mean())},
                val_metrics={"mase": MASE[model] + 0.01 * seed},
            ))
    return trials


def _winner(trials, scale):
    board = build_leaderboard(trials, ["b", "a"], "mase")
    return choose_winner(board, "mase", trials=trials, test_targets=TARGETS.tolist(),
                         test_scale=None if scale is None else scale.tolist())


def test_forecasting_is_compared_on_mase_given_the_scales():
    winner = _winner(_forecast_trials(), SCALE)
    cmp = winner.comparison
    assert winner.model == "a" and winner.runner_up == "b"
    assert cmp["metric"] == "mase"
    assert cmp["value_a"] == pytest.approx(MASE["a"]) and cmp["value_b"] == pytest.approx(2.525)
    assert cmp["difference"] == pytest.approx(2.425) and not cmp["tied"]
    (sentence,) = [r for r in winner.reasons if "paired bootstrap interval" in r]
    assert "ahead of it by 2.42 on test mase (" in sentence
    assert "40 examples x 2 seed(s)" in sentence


def test_without_the_scales_it_is_compared_on_mae_and_says_so():
    winner = _winner(_forecast_trials(), None)
    cmp = winner.comparison
    assert cmp["metric"] == "mae" and cmp["difference"] == pytest.approx(-0.5)
    (sentence,) = [r for r in winner.reasons if "paired bootstrap interval" in r]
    assert "behind it by 0.5 on test mae (95% paired bootstrap interval" in sentence
    assert sentence.endswith("; compared on mae, not mase: the run stored no per-example mase "
                             "scale")


def test_regression_is_compared_on_its_ranking_metric():
    y = np.linspace(-1, 1, 30)[:, None]
    trials = []
    for model, noise, val in (("a", 0.1, 0.01), ("b", 0.3, 0.09)):
        pred = (y + noise).tolist()
        trials += [Trial(model=model, seed=s, status="ok", predictions=pred,
                         metrics={"mse": noise**2, "mae": noise}, val_metrics={"mse": val})
                   for s in range(2)]
    board = build_leaderboard(trials, ["a", "b"], "mse")
    winner = choose_winner(board, "mse", trials=trials, test_targets=y.tolist())
    assert winner.comparison["metric"] == "mse"
    assert winner.comparison["difference"] == pytest.approx(0.3**2 - 0.1**2)
    assert any("on test mse (" in r for r in winner.reasons)


class _ForecastStore:
    """The read side of the store for one forecasting run (see test_result.py)."""

    path = "fake.db"

    def __init__(self, trials, summary=None):
        self._trials, self.summary = trials, summary

    def get_run(self, name):
        return {
            "args": {"models": ["a", "b"], "seeds": 2},
            "environment": {"dataset": {"name": "f", "task": "forecast",
                                        "model_task": "regress"}},
            "dataset": "f", "profile": {}, "advisor": {}, "summary": self.summary,
        }

    def list_runs(self):
        return [{"name": "r"}]

    def trials(self, run):
        return list(self._trials)

    def protocol(self, run):
        return Protocol(kind="holdout", n_pool=100, n_val=20), TARGETS.tolist()

    def bench_cells(self, run):
        return []


def test_the_result_uses_the_scales_and_keeps_them_for_the_report():
    trials = _forecast_trials()
    fresh = result_from_store(_ForecastStore(trials), "r", test_scale=SCALE.tolist())
    assert fresh.metric == "mase" and fresh.winner.comparison["metric"] == "mase"
    summary = run_summary(fresh)
    assert summary["test_scale"] == pytest.approx(SCALE.tolist())
    # seqselect report: no splits at hand, the scales come from the stored summary.
    report = result_from_store(_ForecastStore(trials, summary), "r")
    assert report.winner.comparison == fresh.winner.comparison
    assert report.winner.reasons == fresh.winner.reasons
    # Scales that do not fit the stored targets are not used: MAE, said.
    wrong = result_from_store(_ForecastStore(trials), "r", test_scale=[1.0] * 3)
    assert wrong.winner.comparison["metric"] == "mae" and wrong.test_scale is None
    assert "test_scale" not in run_summary(wrong)


def test_the_scale_reproduces_the_mase_the_trials_report():
    from seqselect.baselines import run_baseline
    from seqselect.data.bundled import make_windows

    rng = np.random.default_rng(0)
    pattern = np.array([3.0, 5.0, 9.0, 4.0, 1.0, 2.0, 8.0, 7.0, 6.0, 5.0, 4.0, 2.0])
    series = (np.tile(pattern, 20) + rng.normal(0, 0.5, 240))[:, None]
    splits = make_windows(
        series, name="synthetic", source="synthetic", columns=("v",), target_columns=[0],
        window=36, horizon=12, val_fraction=0.15, test_fraction=0.2,
        metadata={"season_length": 12},
    )
    run = run_baseline("seasonal_naive", splits, seed=0)
    assert run.ok, run.error
    scale = mase_test_scale(splits)
    assert len(scale) == len(splits.test) and min(scale) > 0
    y_test = splits.test.y.numpy().reshape(len(splits.test), -1)
    got = metric_value("mase", y_test, run.predictions(), scale=scale)
    assert got == pytest.approx(run.test_metrics["mase"], rel=1e-9)
    assert mase_test_scale(type(splits)(**{**splits.__dict__, "task": "regress"})) is None
