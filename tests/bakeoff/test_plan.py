"""Stage 1: the request is checked before any work (budget, seeds, options)."""

from __future__ import annotations

import pytest

from seqselect.bakeoff.plan import BakeoffRequest, Plan, check_resume, default_run_name
from seqselect.budget import parse_seconds
from seqselect.errors import SeqSelectError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10m", 600.0), ("90s", 90.0), ("1h30m", 5400.0), ("2.5m", 150.0), ("45", 45.0), (12, 12.0)],
)
def test_budget_seconds(text, seconds):
    assert parse_seconds(text) == seconds
    assert BakeoffRequest(budget=text).budget_s == seconds


@pytest.mark.parametrize("text", ["ten minutes", "5x", "-3m", "0s", "", "3m fast"])
def test_budget_rejects(text):
    with pytest.raises(SeqSelectError, match="budget"):
        parse_seconds(text)
    with pytest.raises(SeqSelectError, match="budget"):
        BakeoffRequest(budget=text)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"seeds": 0}, "--seeds must be >= 1"),
        ({"params": 0}, "--params must be positive"),
        ({"max_latency_ms": 0}, "--max-latency-ms must be positive"),
        ({"max_memory_mb": -1}, "--max-memory-mb must be positive"),
        ({"jobs": 0}, "--jobs must be >= 1"),
        ({"executor": "slurm"}, "--executor must be one of local, ray"),
        ({"models": "lstm,resnet"}, "unknown model"),
        ({"models": ""}, "--models is empty"),
        ({"run": " "}, "--run must not be empty"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(SeqSelectError, match=message):
        BakeoffRequest(budget="1m", **options)


def test_request_resolves_models_and_device():
    assert BakeoffRequest(models="auto").explicit_models is None
    assert BakeoffRequest(models="gru,lstm,gru").explicit_models == ["gru", "lstm"]
    assert BakeoffRequest(device="cpu").device == "cpu"


def test_resume_must_train_the_same_thing():
    check_resume(None, {"data": "a"})
    check_resume({"name": "r", "args": {"data": "a", "params": 10}}, {"data": "a", "params": 10})
    with pytest.raises(SeqSelectError, match="params: 10 then, 20 now"):
        check_resume({"name": "r", "args": {"params": 10}}, {"params": 20})


def test_default_run_name_is_a_slug():
    assert default_run_name("my data/set.csv").startswith("my-data-set.csv-")


def _plan(protocol_kind: str) -> Plan:
    from seqselect.bakeoff.records import Protocol

    return Plan(
        splits=None, source="s", profile={}, advice={}, candidates=["a", "b", "broken"],
        prepared={"a": {}, "b": {}, "broken": {"error": "cannot build"}},
        args={"seeds": 2}, protocol=Protocol(kind=protocol_kind, n_folds=5),
        baselines=["majority"],
    )


def test_trials_run_phase_by_phase_and_seed_by_seed():
    cv = _plan("cv")
    assert cv.roles == ("fold", "refit")
    # every one of the 5 folds is scored (seed s on fold s), then the 2 seeds refit
    assert cv.trials == [
        *[(m, s, "fold") for s in range(5) for m in ("a", "b")],
        ("a", 0, "refit"), ("b", 0, "refit"), ("a", 1, "refit"), ("b", 1, "refit"),
    ]  # the model that cannot be built takes no trial
    assert cv.baseline_trials == [
        *[("majority", s, "fold") for s in range(5)],
        ("majority", 0, "refit"), ("majority", 1, "refit"),
    ]
    holdout = _plan("holdout")
    assert holdout.trials == [("a", 0, "trial"), ("b", 0, "trial"), ("a", 1, "trial"),
                              ("b", 1, "trial")]
