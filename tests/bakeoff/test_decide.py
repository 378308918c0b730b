"""Stage 4: leaderboard order, the winner under constraints, and the verdict's sentences."""

from __future__ import annotations

import math

import pytest

from seqselect.bakeoff.decide import build_leaderboard, choose_winner, metric_for
from seqselect.bakeoff.records import Trial


def _trial(model, seed, acc, latency=1.0, peak=10.0, params=1000, status="ok"):
    return Trial(
        model=model,
        seed=seed,
        status=status,
        metrics={"accuracy": acc} if acc is not None else {},
        train_s=1.0,
        latency_ms=latency,
        batch_latency_ms=latency * 4,
        step_latency_ms=None,
        peak_mb=peak,
        params=params,
        error="boom" if status == "failed" else None,
    )


def test_leaderboard_means_std_and_order():
    trials = [
        _trial("a", 0, 0.80),
        _trial("a", 1, 0.90),
        _trial("b", 0, 0.95, latency=9.0),
        _trial("b", 1, 0.93, latency=11.0),
        _trial("c", 0, None, status="failed"),
    ]
    board = build_leaderboard(trials, ["a", "b", "c"], "accuracy")
    assert [r.model for r in board] == ["b", "a", "c"]
    assert [r.rank for r in board] == [1, 2, None]
    assert board[0].value == pytest.approx(0.94)
    assert board[0].std == pytest.approx(math.sqrt(2) * 0.01)
    assert board[0].latency_ms == pytest.approx(10.0)
    assert board[0].best_seed == 0
    assert board[2].value is None and board[2].status == "failed" and board[2].errors == ["boom"]
    assert board[0].to_dict()["accuracy"] == board[0].value


def test_leaderboard_ties_go_to_the_smaller_model_and_pending_rows_sink():
    trials = [_trial("big", 0, 0.9, params=5000), _trial("small", 0, 0.9, params=500)]
    board = build_leaderboard(trials, ["big", "small", "later"], "accuracy")
    assert [r.model for r in board] == ["small", "big", "later"]
    assert board[2].status == "pending" and board[2].rank is None


def test_winner_respects_constraints_and_says_why():
    trials = [
        _trial("fast", 0, 0.80, latency=1.0),
        _trial("fast", 1, 0.82, latency=1.0),
        _trial("slow", 0, 0.95, latency=50.0),
        _trial("slow", 1, 0.96, latency=50.0),
        _trial("big", 0, 0.99, params=10**7),
        _trial("big", 1, 0.99, params=10**7),
    ]
    board = build_leaderboard(trials, ["fast", "slow", "big"], "accuracy")
    free = choose_winner(board, "accuracy", advisor_pick="slow")
    assert free.model == "big" and free.agrees_with_advisor is False
    bound = choose_winner(
        board, "accuracy", max_latency_ms=10, max_params=10**6, advisor_pick="fast"
    )
    assert bound.model == "fast" and bound.agrees_with_advisor is True
    assert "latency" in bound.excluded["slow"] and "--max-latency-ms" in bound.excluded["slow"]
    assert "parameters" in bound.excluded["big"]
    assert any("slow excluded" in r for r in bound.reasons)
    none = choose_winner(board, "accuracy", max_latency_ms=0.5)
    assert none.model is None and none.reasons
    assert none.reasons[0] == "no candidate met the constraints"


def test_lower_is_better_for_mse():
    trials = [
        Trial(model="a", seed=0, status="ok", metrics={"mse": 0.5}),
        Trial(model="b", seed=0, status="ok", metrics={"mse": 0.1}),
    ]
    board = build_leaderboard(trials, ["a", "b"], "mse")
    assert board[0].model == "b"
    winner = choose_winner(board, "mse")
    assert winner.model == "b" and winner.reasons[0].startswith("lowest mean mse: 0.1 ± 0 ")


def test_verdict_sentences():
    trials = [
        _trial("a", 0, 0.90, latency=5.0),
        _trial("a", 1, 0.92, latency=5.0),
        _trial("b", 0, 0.89, latency=1.0),
        _trial("b", 1, 0.92, latency=1.0),
    ]
    board = build_leaderboard(trials, ["a", "b"], "accuracy")
    winner = choose_winner(board, "accuracy", advisor_pick="b", advisor_ranked=["b", "a"])
    assert winner.model == "a" and winner.seed == 1
    assert winner.reasons[0] == (
        "highest mean accuracy: 0.91 ± 0.014 over 2 seed(s), among 2 candidate(s) meeting "
        "the constraints"
    )
    assert winner.reasons[1] == "ahead of b (0.905) by 0.005"
    assert "statistically tied on accuracy; b is the faster of the two" in winner.reasons[2]
    assert winner.reasons[3] == (
        "the advisor's first choice, b, scored 0.905 (rank 2): the measurement disagrees "
        "with the advice on this data"
    )
    assert winner.advisor_rank_of_winner == 2
    agreeing = choose_winner(board, "accuracy", advisor_pick="a")
    assert agreeing.reasons[-1] == "the advisor's first choice was a too: evidence and advice agree"
    absent = choose_winner(board, "accuracy", advisor_pick="mamba")
    assert absent.reasons[-1] == "the advisor's first choice, mamba, was not measured here"


def test_missing_measurement_breaks_a_constraint():
    board = build_leaderboard([_trial("a", 0, 0.9, peak=None)], ["a"], "accuracy")
    winner = choose_winner(board, "accuracy", max_memory_mb=100)
    assert winner.model is None
    assert winner.excluded["a"] == "peak memory not measured (--max-memory-mb 100)"


def test_metric_for_task():
    assert metric_for("classify") == "accuracy"
    assert metric_for("per_step") == "accuracy"
    assert metric_for("forecast") == "mse"
    assert metric_for("regress", {"mae": 0.1, "n": 3}) == "mae"  # the trials lack mse
