"""Metrics agree with scikit-learn and PyTorch's definitions."""

from __future__ import annotations

import pytest
import torch
from sklearn.metrics import f1_score, mean_absolute_error, mean_squared_error

from seqselect.data import IGNORE_INDEX
from seqselect.train import task_metric
from seqselect.train.metrics import (
    classification_metrics,
    is_better,
    macro_f1,
    per_step_targets,
    regression_metrics,
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
    assert task_metric("forecast") == ("mse", False)
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
