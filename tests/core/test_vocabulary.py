"""seqselect.vocabulary: one task vocabulary, one metric direction."""

import pytest

from seqselect.vocabulary import (
    DATA_TASKS,
    MODEL_TASKS,
    higher_is_better,
    model_task_for,
    task_metric,
)


def test_every_dataset_task_maps_to_a_model_task():
    for task in DATA_TASKS:
        assert model_task_for(task) in MODEL_TASKS
    assert model_task_for("forecast") == "regress"
    assert model_task_for("classify", per_step=True) == "per_step"
    with pytest.raises(ValueError, match="per-step"):
        model_task_for("per-step")


def test_metric_direction():
    assert higher_is_better("accuracy") and higher_is_better("macro_f1")
    assert not higher_is_better("mse") and not higher_is_better("cross_entropy")
    assert task_metric("classify") == ("accuracy", True)
    assert task_metric("forecast") == ("mase", False)  # MASE ranks forecasts, lower better
    assert task_metric("regress") == ("mse", False)
    with pytest.raises(ValueError):
        task_metric("cluster")


def test_forecasting_ranks_by_mase_whatever_its_head():
    from seqselect.vocabulary import ranking_task

    assert task_metric(ranking_task("forecast", "regress")) == ("mase", False)
    assert ranking_task("regress", "regress") == "regress"
    assert ranking_task("classify", "per_step") == "per_step"
    assert ranking_task(None, None) == "classify"
