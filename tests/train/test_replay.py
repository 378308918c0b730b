"""A seconds budget's work, recorded and redone (seqselect.train.work).

A run on a wall-clock budget decides from the clock how many steps to take, how long its
learning-rate schedule is and when to validate. ``result.work`` records those decisions;
``train(..., replay=work)`` must redo the run to the bit with no clock involved. The
known answer here is the recorded run itself.
"""

from __future__ import annotations

import json

import pytest
import torch

from seqselect.data import load_dataset
from seqselect.models import create_model
from seqselect.train import train
from seqselect.train.schedule import StepPlanner
from seqselect.train.work import WorkRecord


@pytest.fixture(scope="module")
def splits():
    return load_dataset("task:adding?length=16&n=120")


def _build(splits):
    return lambda: create_model(
        "lstm", d_input=splits.d_input, d_output=splits.d_output, task=splits.model_task,
        params=3000,
    )


def _same(a, b) -> str:
    keep = ("status", "steps", "best_step", "test_metrics", "val_metrics", "work")
    doc = {k: a[k] for k in keep}
    doc["history"] = [{k: v for k, v in h.items() if k != "elapsed_s"} for h in a["history"]]
    return json.dumps(doc, sort_keys=True)


def test_a_seconds_run_replayed_gives_the_same_bits(splits):
    torch.set_num_threads(1)
    first = train(_build(splits), splits, budget="1.5s", seed=3, progress=False,
                  lr_schedule="onecycle", batch_size=16).to_dict()
    work = first["work"]
    assert first["stopped_by"] == "seconds" and work["steps"] == first["steps"] > 8
    # the clock's decisions: the probe's plan after 8 steps, then one re-plan
    assert [step for step, _ in work["plans"]][:1] == [8] and len(work["plans"]) == 2
    assert work["validations"], "a 1.5 s budget validates at least every 1/10 of it"
    again = train(_build(splits), splits, budget="1h", seed=3, progress=False,
                  lr_schedule="onecycle", batch_size=16, replay=work).to_dict()
    assert again["hparams"]["replayed"] is True
    assert _same(again, first) == _same(first, first)
    # a replay's own record is the record it replayed: replays chain
    assert again["work"] == work


def test_a_replay_with_another_seed_is_another_run(splits):
    first = train(_build(splits), splits, budget="40 steps", seed=0, progress=False,
                  lr_schedule="onecycle").to_dict()
    other = train(_build(splits), splits, budget="1h", seed=1, progress=False,
                  lr_schedule="onecycle", replay=first["work"]).to_dict()
    assert other["steps"] == 40 and other["test_metrics"] != first["test_metrics"]


def test_a_step_budget_records_its_fixed_plan_at_step_zero():
    planner = StepPlanner(None, fixed=120)
    planner.observe(50, 1.0)
    assert planner.plans == [(0, 120)] and planner.total == 120


def test_a_scripted_planner_sets_the_recorded_plans_at_their_steps():
    planner = StepPlanner(99.0, script={8: 400, 200: 380})
    assert planner.total is None  # before the probe's step: the warm-up's start rate
    for step in range(1, 300):
        planner.observe(step, elapsed_s=1e6)  # a clock reading must change nothing
        expected = None if step < 8 else 400 if step < 200 else 380
        assert planner.total == expected
    assert planner.plans == [(8, 400), (200, 380)]


def test_a_work_record_round_trips_and_refuses_an_empty_one():
    record = WorkRecord(steps=12, plans=((0, 12),), validations=(4, 8), threads=2)
    assert WorkRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record
    with pytest.raises(ValueError, match="steps"):
        WorkRecord.from_dict({"plans": []})
