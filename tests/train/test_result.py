"""TrainResult: a frozen record that survives JSON."""

from __future__ import annotations

import dataclasses
import json

import pytest

from seqselect.train import TrainResult


def make_result(**changes) -> TrainResult:
    fields = dict(
        status="ok", seed=3, steps=10, epochs=2.5, train_seconds=1.25,
        test_metrics={"accuracy": 0.75, "n": 4}, val_metrics={"accuracy": 0.5, "n": 2},
        history=[{"step": 10, "train_loss": 0.3}], best_step=10, task="classify",
        task_metric="accuracy", budget={"epochs": None, "steps": 10, "seconds": None},
    )
    return TrainResult(**{**fields, **changes})


def test_to_dict_keeps_every_field_in_order_and_from_dict_inverts_it():
    result = make_result()
    data = result.to_dict()
    assert list(data) == [f.name for f in dataclasses.fields(TrainResult)]
    assert list(data)[:3] == ["status", "seed", "steps"] and list(data)[-2:] == [
        "param_groups", "work",
    ]
    assert TrainResult.from_dict(json.loads(json.dumps(data))) == result
    worked = make_result(work={"steps": 10, "plans": [[0, 10]], "validations": [5],
                               "threads": 1})
    assert TrainResult.from_dict(json.loads(json.dumps(worked.to_dict()))) == worked


def test_from_dict_refuses_unknown_keys():
    with pytest.raises(TypeError, match="unknown keys"):
        TrainResult.from_dict({**make_result().to_dict(), "loss": 1.0})


def test_the_test_score_is_the_task_metric_and_none_when_diverged():
    assert make_result().test_score == 0.75
    assert make_result(status="diverged", test_metrics={}).test_score is None


def test_results_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        make_result().status = "diverged"
