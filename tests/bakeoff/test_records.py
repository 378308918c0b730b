"""The bake-off's records: ``from_dict(to_dict(x)) == x`` and today's JSON keys."""

from __future__ import annotations

import json

from seqselect.bakeoff.records import LeaderboardRow, Protocol, ScalingCell, Trial, Winner
from seqselect.bakeoff.result import BakeoffResult


def _trial() -> Trial:
    return Trial(
        model="gru",
        seed=1,
        status="ok",
        run="r",
        metrics={"accuracy": 0.9},
        train_s=1.5,
        latency_ms=0.3,
        batch_latency_ms=1.2,
        step_latency_ms=0.01,
        peak_mb=2.0,
        params=3000,
        history=[{"step": 1, "train_loss": 0.5}],
        extra={"epochs": 3},
        weights="w.safetensors",
        started="t0",
        finished="t1",
    )


def test_trial_round_trip_and_keys():
    trial = _trial()
    assert Trial.from_dict(trial.to_dict()) == trial
    assert "val_metrics" not in trial.to_dict()  # only when the worker had some
    with_val = Trial(model="a", seed=0, status="ok", val_metrics={"accuracy": 1.0})
    assert Trial.from_dict(with_val.to_dict()) == with_val
    assert "history" not in trial.to_dict(with_history=False)
    # Through JSON too (the store's and --json's path).
    assert Trial.from_dict(json.loads(json.dumps(trial.to_dict()))) == trial


def test_leaderboard_row_round_trip_names_the_metric():
    row = LeaderboardRow(
        model="tcn",
        metric="mse",
        value=0.1,
        std=0.01,
        n_seeds=2,
        seeds=[0, 1],
        params=10,
        status="ok",
        metrics={"mse": 0.1},
        best_seed=0,
        rank=1,
    )
    doc = row.to_dict()
    assert doc["mse"] == 0.1 and doc["mse_std"] == 0.01 and "value" not in doc
    assert LeaderboardRow.from_dict(doc) == row
    failed = LeaderboardRow(model="x", metric="accuracy", status="failed", errors=["boom"])
    assert LeaderboardRow.from_dict(failed.to_dict()) == failed
    ranked = LeaderboardRow(model="minirocket", metric="accuracy", value=0.9, std=0.01,
                            kind="baseline", val_value=0.95, val_std=0.02, n_val=6)
    doc = ranked.to_dict()
    assert doc["val_accuracy"] == 0.95 and doc["accuracy"] == 0.9 and doc["kind"] == "baseline"
    assert LeaderboardRow.from_dict(doc) == ranked


def test_trial_role_and_predictions_round_trip():
    fold = Trial(model="tcn", seed=1, status="ok", role="fold", fold=1,
                 val_metrics={"accuracy": 0.8})
    refit = Trial(model="tcn", seed=1, status="ok", role="refit", predictions=[0, 1, 1])
    for trial in (fold, refit):
        assert Trial.from_dict(json.loads(json.dumps(trial.to_dict()))) == trial
    assert fold.key != refit.key
    assert "predictions" not in refit.to_dict(with_history=False)


def test_protocol_round_trip():
    protocol = Protocol(kind="cv", n_folds=5, n_pool=50, n_val=10, restore_best=False,
                        reason="50 training sequences: too few to hold out")
    assert Protocol.from_dict(json.loads(json.dumps(protocol.to_dict()))) == protocol


def test_winner_round_trip_and_key_order():
    winner = Winner(
        model="tcn",
        metric="accuracy",
        constraints={"max_params": None},
        advisor_pick="lstm",
        reasons=["because"],
        agrees_with_advisor=False,
        value=0.9,
        std=0.0,
        seed=2,
        advisor_rank_of_winner=3,
    )
    doc = winner.to_dict()
    assert list(doc) == [
        "model",
        "metric",
        "constraints",
        "excluded",
        "advisor_pick",
        "accuracy",
        "accuracy_std",
        "latency_ms",
        "step_latency_ms",
        "peak_mb",
        "params",
        "train_s",
        "seed",
        "kind",
        "val_accuracy",
        "val_accuracy_std",
        "runner_up",
        "comparison",
        "best_network",
        "reasons",
        "agrees_with_advisor",
        "advisor_rank_of_winner",
    ]
    assert Winner.from_dict(doc) == winner
    nobody = Winner(model=None, metric="mse", excluded={"a": "why"}, reasons=["none"])
    assert list(nobody.to_dict()) == [
        "model",
        "metric",
        "constraints",
        "excluded",
        "advisor_pick",
        "reasons",
        "agrees_with_advisor",
    ]
    assert Winner.from_dict(nobody.to_dict()) == nobody


def test_result_round_trip():
    result = BakeoffResult(
        run="r",
        dataset={"name": "d"},
        profile={},
        advisor={"pick": None},
        metric="accuracy",
        leaderboard=[LeaderboardRow(model="gru", metric="accuracy", value=0.9, rank=1)],
        winner=Winner(model="gru", metric="accuracy", value=0.9, seed=1),
        trials=[_trial()],
        store="s.db",
        bench=[ScalingCell(model="gru", length=64, ms=1.5)],
        protocol=Protocol(kind="cv", n_folds=5, n_pool=50, n_val=10, reason="small"),
    )
    doc = result.to_dict()
    assert doc["protocol"]["kind"] == "cv" and doc["protocol"]["n_folds"] == 5
    assert BakeoffResult.from_dict(doc).to_dict() == doc
    assert BakeoffResult.from_dict(json.loads(json.dumps(doc))) == result
    legacy = {k: v for k, v in doc.items() if k != "protocol"}  # a run from before it
    assert BakeoffResult.from_dict(legacy).protocol is None


def test_a_winning_baseline_round_trips_with_its_comparison():
    winner = Winner(
        model="minirocket", metric="accuracy", value=0.99, std=0.0, seed=0, kind="baseline",
        val_value=0.98, val_std=0.01, runner_up="cnn1d", best_network="cnn1d",
        comparison={"metric": "accuracy", "difference": 0.02, "ci_low": -0.01,
                    "ci_high": 0.05, "tied": True},
    )
    doc = json.loads(json.dumps(winner.to_dict()))
    assert doc["val_accuracy"] == 0.98 and doc["best_network"] == "cnn1d"
    assert Winner.from_dict(doc) == winner


def test_a_rows_precision_round_trips_and_old_rows_load_without_it():
    row = LeaderboardRow(model="lstm", metric="accuracy", value=0.9, precision="bf16")
    doc = row.to_dict()
    assert doc["precision"] == "bf16"
    assert LeaderboardRow.from_dict(json.loads(json.dumps(doc))) == row
    old = {k: v for k, v in doc.items() if k != "precision"}  # a row from before it
    assert LeaderboardRow.from_dict(old).precision is None
    assert LeaderboardRow.from_dict(old) == LeaderboardRow(model="lstm", metric="accuracy",
                                                           value=0.9)
