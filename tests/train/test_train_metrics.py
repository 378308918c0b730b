"""Metrics agree with scikit-learn and PyTorch's definitions."""

from __future__ import annotations

import pytest
import torch
from sklearn.metrics import f1_score, mean_absolute_error, mean_squared_error

from seqselect.train import task_metric
from seqselect.train.metrics import classification_metrics, macro_f1, regression_metrics


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
    assert task_metric("forecast") == ("mse", False)
    assert task_metric("per_step") == ("accuracy", True)
