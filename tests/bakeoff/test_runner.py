"""The bake-off end to end on a small CSV: leaderboard, winner, budget, resume, JSON."""

from __future__ import annotations

import math

import pytest

from seqselect.bakeoff import ResultsStore, bakeoff
from seqselect.bakeoff.runner import build_leaderboard, choose_winner, parse_budget
from seqselect.errors import SeqSelectError


def test_result_document_has_the_promised_shape(finished_run):
    doc = finished_run["result"].to_dict()
    assert doc["run"] == "waves"
    assert doc["metric"] == "accuracy"
    assert doc["profile"]["n_classes"] == 2
    assert set(doc["advisor"]) >= {"ranked", "pick", "shortlist"}
    assert [r["model"] for r in doc["leaderboard"]] != []
    for row in doc["leaderboard"]:
        for key in ("model", "accuracy", "accuracy_std", "train_s", "latency_ms", "peak_mb", "params"):
            assert key in row, key
        assert row["n_seeds"] == 2
        assert 0.0 <= row["accuracy"] <= 1.0
        assert row["latency_ms"] > 0 and row["peak_mb"] > 0
        assert 2700 <= row["params"] <= 3300  # --params 3000, matched within 10%
    # gru streams (causal by construction): per-step latency measured; cnn1d is not causal here.
    rows = {r["model"]: r for r in doc["leaderboard"]}
    assert rows["gru"]["step_latency_ms"] > 0
    assert rows["cnn1d"]["step_latency_ms"] is None
    winner = doc["winner"]
    assert winner["model"] == doc["leaderboard"][0]["model"]
    assert winner["reasons"] and isinstance(winner["agrees_with_advisor"], (bool, type(None)))
    assert len(doc["trials"]) == 4 and all(t["status"] == "ok" for t in doc["trials"])
    assert all(t["history"] for t in doc["trials"])


def test_budget_is_respected_and_split_equally(finished_run):
    result = finished_run["result"]
    timing = result.timing
    assert timing["within_budget"], timing
    assert timing["trials_s"] <= 6.0 * 1.1
    budgets = [t["extra"]["budget_s"] for t in result.trials]
    assert max(budgets) - min(budgets) < 0.5 * max(budgets), budgets


def test_rerun_with_same_name_resumes_without_repeating(finished_run):
    store = ResultsStore(finished_run["store"])
    before = {(t["model"], t["seed"]): t["finished"] for t in store.trials("waves")}
    again = bakeoff(
        str(finished_run["csv"]), target="label", models="cnn1d,gru", budget="6s", seeds=2,
        params=3000, cpus_per_trial=1, store=finished_run["store"], run="waves",
    )
    assert again.timing["trials_run"] == 0 and again.timing["trials_resumed"] == 4
    after = {(t["model"], t["seed"]): t["finished"] for t in store.trials("waves")}
    assert after == before
    assert again.winner["model"] == finished_run["result"].winner["model"]


def test_resume_with_different_data_settings_is_refused(finished_run):
    with pytest.raises(SeqSelectError, match="different settings"):
        bakeoff(
            str(finished_run["csv"]), target="label", models="cnn1d,gru", budget="6s", seeds=2,
            params=4000, store=finished_run["store"], run="waves",
        )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10m", 600.0), ("90s", 90.0), ("1h30m", 5400.0), ("2.5m", 150.0), ("45", 45.0), (12, 12.0)],
)
def test_parse_budget(text, seconds):
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["ten minutes", "5x", "-3m", "0s", "", "3m fast"])
def test_parse_budget_rejects(text):
    with pytest.raises(SeqSelectError, match="budget"):
        parse_budget(text)


def _trial(model, seed, acc, latency=1.0, peak=10.0, params=1000, status="ok"):
    return {
        "model": model, "seed": seed, "status": status, "metrics": {"accuracy": acc} if acc is not None else {},
        "train_s": 1.0, "latency_ms": latency, "batch_latency_ms": latency * 4, "step_latency_ms": None,
        "peak_mb": peak, "params": params, "error": "boom" if status == "failed" else None,
    }


def test_leaderboard_means_std_and_order():
    trials = [
        _trial("a", 0, 0.80), _trial("a", 1, 0.90),
        _trial("b", 0, 0.95, latency=9.0), _trial("b", 1, 0.93, latency=11.0),
        _trial("c", 0, None, status="failed"),
    ]
    board = build_leaderboard(trials, ["a", "b", "c"], "accuracy")
    assert [r["model"] for r in board] == ["b", "a", "c"]
    assert board[0]["accuracy"] == pytest.approx(0.94)
    assert board[0]["accuracy_std"] == pytest.approx(math.sqrt(2) * 0.01)
    assert board[0]["latency_ms"] == pytest.approx(10.0)
    assert board[2]["accuracy"] is None and board[2]["status"] == "failed"


def test_winner_respects_constraints_and_says_why():
    trials = [
        _trial("fast", 0, 0.80, latency=1.0), _trial("fast", 1, 0.82, latency=1.0),
        _trial("slow", 0, 0.95, latency=50.0), _trial("slow", 1, 0.96, latency=50.0),
        _trial("big", 0, 0.99, params=10**7), _trial("big", 1, 0.99, params=10**7),
    ]
    board = build_leaderboard(trials, ["fast", "slow", "big"], "accuracy")
    free = choose_winner(board, "accuracy", advisor_pick="slow")
    assert free["model"] == "big" and free["agrees_with_advisor"] is False
    bound = choose_winner(board, "accuracy", max_latency_ms=10, max_params=10**6, advisor_pick="fast")
    assert bound["model"] == "fast" and bound["agrees_with_advisor"] is True
    assert "latency" in bound["excluded"]["slow"] and "--max-latency-ms" in bound["excluded"]["slow"]
    assert "parameters" in bound["excluded"]["big"]
    assert any("slow excluded" in r for r in bound["reasons"])
    none = choose_winner(board, "accuracy", max_latency_ms=0.5)
    assert none["model"] is None and none["reasons"]


def test_lower_is_better_for_mse():
    trials = [
        {**_trial("a", 0, None), "metrics": {"mse": 0.5}},
        {**_trial("b", 0, None), "metrics": {"mse": 0.1}},
    ]
    board = build_leaderboard(trials, ["a", "b"], "mse")
    assert board[0]["model"] == "b"
    assert choose_winner(board, "mse")["model"] == "b"


def test_unbuildable_candidate_is_recorded_not_fatal(tmp_path):
    # params=300 cannot be met by a transformer (its smallest width has more): the trial is
    # recorded as failed with the registry's message and the rest of the bake-off goes on.
    result = bakeoff(
        "task:adding?length=12&n=120", models="transformer,cnn1d", budget="2s", seeds=1,
        params=300, cpus_per_trial=1, store=tmp_path / "r.db", run="x",
    )
    rows = {r["model"]: r for r in result.leaderboard}
    assert rows["transformer"]["status"] == "failed"
    assert "cannot build" in rows["transformer"]["errors"][0]
    assert rows["cnn1d"]["status"] == "ok"
    assert result.winner["model"] == "cnn1d"
    assert result.metric == "mse"


def test_a_diverging_trial_is_recorded_and_the_rest_goes_on(tmp_path):
    # An absurd learning rate makes the loss non-finite: the trainer stops the trial as
    # diverged, the bake-off records it (and will not repeat it on resume).
    result = bakeoff(
        "task:adding?length=12&n=120", models="gru", budget="2s", seeds=1, params=2000,
        cpus_per_trial=1, store=tmp_path / "r.db", run="nan", train_options={"lr": 1e12, "clip": None},
    )
    trial = result.trials[0]
    if trial["status"] != "diverged":
        pytest.skip("this lr did not diverge on this machine's kernels")
    assert result.leaderboard[0]["status"] == "diverged" and result.leaderboard[0]["n_diverged"] == 1
    assert result.winner["model"] is None
    assert ("gru", 0) in ResultsStore(tmp_path / "r.db").finished_trials("nan")
