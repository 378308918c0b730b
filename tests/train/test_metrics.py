"""Metrics agree with scikit-learn and PyTorch's definitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, mean_absolute_error, mean_squared_error

from seqselect.data import IGNORE_INDEX
from seqselect.data.windows import ForecastLayout
from seqselect.train import task_metric
from seqselect.train.metrics import (
    classification_metrics,
    forecast_metrics,
    is_better,
    macro_f1,
    mase,
    mase_scale,
    per_step_targets,
    regression_metrics,
    smape,
)


def test_macro_f1_matches_sklearn():
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        y = torch.randint(0, 5, (200,), generator=g)
        p = torch.randint(0, 4, (200,), generator=g)  # class 4 never predicted
        assert macro_f1(p, y, 5) == pytest.approx(f1_score(y, p, average="macro"))


def test_classification_metrics():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0], [0.0, 0.5]])
    y = torch.tensor([0, 1, 1, 1])
    m = classification_metrics(logits, y)
    assert m["accuracy"] == 0.75 and m["n"] == 4
    assert m["cross_entropy"] == pytest.approx(float(torch.nn.functional.cross_entropy(logits, y)))


def test_regression_metrics():
    p = torch.tensor([[1.0, 2.0], [0.0, 0.5]])
    y = torch.tensor([[1.5, 2.0], [1.0, 0.0]])
    m = regression_metrics(p, y)
    assert m["mse"] == pytest.approx(mean_squared_error(y, p))
    assert m["mae"] == pytest.approx(mean_absolute_error(y, p))


def test_task_metric_direction():
    assert task_metric("classify") == ("accuracy", True)
    assert task_metric("regress") == ("mse", False)
    assert task_metric("forecast") == ("mase", False)
    assert task_metric("per_step") == ("accuracy", True)


def test_task_metric_is_the_vocabulary_one():
    import seqselect.vocabulary

    assert task_metric is seqselect.vocabulary.task_metric


def test_macro_f1_infers_the_classes_when_not_given():
    y = torch.tensor([0, 1, 2, 2])
    p = torch.tensor([0, 2, 2, 2])
    assert macro_f1(p, y) == pytest.approx(f1_score(y, p, average="macro"))


def test_is_better_points_the_right_way():
    assert is_better(0.5, None, higher_is_better=True)
    assert is_better(0.6, 0.5, True) and not is_better(0.5, 0.5, True)
    assert is_better(0.4, 0.5, False) and not is_better(0.6, 0.5, False)


def test_per_step_targets_ignore_padding():
    y = torch.tensor([[1, 2, 3]])
    mask = torch.tensor([[True, True, False]])
    assert per_step_targets(y, mask).tolist() == [[1, 2, IGNORE_INDEX]]


def test_empty_splits_give_nan_with_n_zero():
    assert classification_metrics(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long))["n"] == 0
    assert regression_metrics(torch.zeros(0, 1), torch.zeros(0, 1))["n"] == 0


# ---- forecasting -----------------------------------------------------------------------------
def test_mase_of_the_naive_forecast_on_a_line_is_the_horizon_average():
    # Windows of the line t (slope 1): the in-sample naive error is 1 per step; the naive
    # forecast (the last value) misses step h by h, so MASE = mean(1..H) = (H + 1) / 2.
    w, h = 8, 4
    starts = np.arange(20)
    history = np.stack([np.arange(s, s + w, dtype=float) for s in starts])[:, :, None]
    target = np.stack([np.arange(s + w, s + w + h, dtype=float) for s in starts])
    naive = np.repeat(history[:, -1, :], h, axis=1)
    assert mase_scale(history, None).tolist() == [1.0] * len(starts)
    assert mase(target, naive, history, None) == pytest.approx((h + 1) / 2)


def test_mase_is_zero_for_the_seasonal_naive_on_a_seasonal_series():
    # Windows of three seasons (m = 6) that continue with a fourth; each window's first
    # season is disturbed, so its in-sample seasonal naive error is positive while the
    # seasonal naive forecast of the next season is exact.
    rng = np.random.default_rng(0)
    m, n = 6, 10
    pattern = rng.normal(size=(n, m))
    history = np.tile(pattern, 3)[:, :, None].copy()  # (N, 18, 1)
    history[:, :m, 0] += rng.normal(size=(n, m))
    target = pattern  # (N, H = m)
    seasonal = history[:, -m:, 0]
    assert (mase_scale(history, m) > 0).all()
    assert mase(target, seasonal, history, m) == 0.0
    # a purely seasonal history has no in-sample error: MASE is undefined there (NaN)
    clean = np.tile(pattern, 3)[:, :, None]
    assert np.isnan(mase(target, seasonal + 1, clean, m))


def test_mase_is_invariant_to_each_windows_scale_and_shift():
    rng = np.random.default_rng(1)
    history = rng.normal(size=(5, 10, 1))
    target, pred = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    a, b = 3.5, -7.0
    assert mase(a * target + b, a * pred + b, a * history + b, 2) == pytest.approx(
        mase(target, pred, history, 2))


def test_smape_known_answers():
    assert smape(np.array([100.0, 0.0]), np.array([100.0, 0.0])) == 0.0  # 0/0 counts as 0
    assert smape(np.array([100.0]), np.array([50.0])) == pytest.approx(200 * 50 / 150)
    assert smape(np.array([1.0]), np.array([-1.0])) == pytest.approx(200.0)


def test_forecast_metrics_put_smape_on_the_series_values():
    # One window, one channel: standardised with mean 10, std 2, offset by its last value.
    layout = ForecastLayout(2, (0,), None, "last", (10.0,), (2.0,))
    offsets = np.array([[1.0]])  # last input value, standardised: 12 in the series' units
    x = np.array([[[-1.0], [0.0]]])  # inputs after the offset
    target, pred = np.array([[0.5, 1.0]]), np.array([[0.5, 0.0]])  # series: 13, 14 vs 13, 12
    got = forecast_metrics(pred, target, x, layout, offsets)
    assert got["smape"] == pytest.approx(np.mean([0.0, 200 * 2 / 26]))
    assert got["mase"] == pytest.approx(0.5 / 1.0)  # MAE 0.5 over an in-sample error of 1
    assert np.isnan(forecast_metrics(pred, target, x, layout, None)["smape"])
