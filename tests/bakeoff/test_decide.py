"""Stage 4: the leaderboard ranks by validation, the winner and its exported seed follow
validation, a winning baseline is named plainly, and "tied" means the paired interval
includes 0."""

from __future__ import annotations

import math
import statistics
from dataclasses import replace

import numpy as np
import pytest

from seqselect.bakeoff.decide import (
    build_leaderboard,
    choose_winner,
    compare_on_test,
    metric_for,
    protocol_sentence,
)
from seqselect.bakeoff.records import Protocol, Trial
from seqselect.stats import paired_bootstrap


def _trial(model, seed, test, val, *, role="trial", latency=1.0, peak=10.0, params=1000,
           status="ok", kind="network", predictions=None):
    """A tested trial (role trial/refit) with test ``test`` and validation ``val``, or a
    "fold" trial (test None) scored ``val`` on its fold."""
    ok = status == "ok"
    return Trial(
        model=model, seed=seed, status=status,
        metrics={"accuracy": test} if ok and test is not None else {},
        val_metrics={"accuracy": val} if ok and val is not None else {},
        train_s=1.0, latency_ms=latency, batch_latency_ms=latency * 4, peak_mb=peak,
        params=params, error="boom" if status == "failed" else None, kind=kind, role=role,
        fold=seed if role == "fold" else None, predictions=predictions,
    )


def test_ranking_follows_validation_even_when_test_is_reversed():
    # Validation says a > b > c; test says the exact reverse.
    trials = [
        _trial("a", 0, 0.70, 0.95), _trial("a", 1, 0.72, 0.93),
        _trial("b", 0, 0.80, 0.90), _trial("b", 1, 0.82, 0.88),
        _trial("c", 0, 0.99, 0.60), _trial("c", 1, 0.98, 0.62),
        _trial("d", 0, None, None, status="failed"),
    ]
    board = build_leaderboard(trials, ["c", "b", "a", "d"], "accuracy")
    assert [r.model for r in board] == ["a", "b", "c", "d"]
    assert [r.rank for r in board] == [1, 2, 3, None]
    top = board[0]
    assert top.val_value == pytest.approx(0.94) and top.val_std == pytest.approx(math.sqrt(2) / 100)
    assert top.value == pytest.approx(0.71) and top.n_seeds == 2 and top.n_val == 2
    assert board[3].status == "failed" and board[3].errors == ["boom"]
    winner = choose_winner(board, "accuracy")
    assert winner.model == "a" and winner.val_value == pytest.approx(0.94)
    assert winner.value == pytest.approx(0.71)  # reported, though c tested better
    assert winner.runner_up == "b"
    assert winner.reasons[0].startswith("highest mean validation accuracy: 0.94 ± 0.014")


def test_cv_validation_comes_from_folds_and_the_exported_seed_beats_its_folds_mean():
    # tcn's seed s is scored on fold s; "b" on the same folds says fold 0 is hard and
    # fold 2 easy. Seed 2's raw score is the highest, but only its fold's; seed 0 beat
    # its fold's mean by most (0.80 against 0.75): seed 0 is exported. Test scores (seed
    # 2's refit tested best) play no part.
    trials = []
    for seed, fold_val, refit_test in ((0, 0.80, 0.70), (1, 0.85, 0.90), (2, 0.95, 0.99)):
        trials.append(_trial("tcn", seed, None, fold_val, role="fold"))
        trials.append(_trial("tcn", seed, refit_test, None, role="refit"))
    for seed, fold_val in ((0, 0.70), (1, 0.85), (2, 0.95)):
        trials.append(_trial("b", seed, None, fold_val, role="fold"))
    board = build_leaderboard(trials, ["tcn", "b"], "accuracy")
    row = next(r for r in board if r.model == "tcn")
    assert row.val_value == pytest.approx(statistics.fmean([0.80, 0.85, 0.95]))
    assert row.value == pytest.approx(statistics.fmean([0.70, 0.90, 0.99]))
    assert row.n_val == 3 and row.n_seeds == 3
    assert row.best_seed == 0
    assert choose_winner(board, "accuracy").seed == 0


def test_cv_fold_runs_without_a_refit_count_in_validation_not_in_the_export():
    # 5 folds, 2 seeds: seeds 2-4 run their folds only. Every fold is in the validation
    # score; the seed to export is one of the refitted seeds, on folds two models share.
    trials = [_trial("tcn", s, None, v, role="fold")
              for s, v in enumerate((0.6, 0.9, 0.7, 0.8, 1.0))]
    trials += [_trial("b", s, None, v, role="fold")
               for s, v in enumerate((0.4, 0.9, 0.7, 0.8, 1.0))]
    trials += [_trial("tcn", s, 0.8, None, role="refit") for s in (0, 1)]
    row = next(r for r in build_leaderboard(trials, ["tcn", "b"], "accuracy") if r.model == "tcn")
    assert row.n_val == 5 and row.val_value == pytest.approx(0.8)
    assert row.n_seeds == 2 and row.best_seed == 0  # +0.1 over fold 0's mean, 0 on fold 1


def test_cv_with_one_model_cannot_tell_its_seeds_from_their_folds():
    # Alone on its folds, a model's seeds differ only by their folds: the smaller seed.
    trials = []
    for seed, fold_val in ((0, 0.80), (1, 0.95)):
        trials.append(_trial("tcn", seed, None, fold_val, role="fold"))
        trials.append(_trial("tcn", seed, 0.9, None, role="refit"))
    assert build_leaderboard(trials, ["tcn"], "accuracy")[0].best_seed == 0


def test_holdout_export_seed_is_the_best_validation_seed_with_ties_to_the_smaller_seed():
    trials = [_trial("a", 0, 0.99, 0.80), _trial("a", 1, 0.70, 0.90), _trial("a", 2, 0.75, 0.90)]
    assert build_leaderboard(trials, ["a"], "accuracy")[0].best_seed == 1


def test_equal_validation_goes_to_the_smaller_model_then_the_name():
    trials = [
        _trial("big", 0, 0.99, 0.9, params=5000), _trial("small", 0, 0.5, 0.9, params=500),
        _trial("b2", 0, 0.5, 0.9, params=500),
    ]
    board = build_leaderboard(trials, ["big", "small", "b2", "later"], "accuracy")
    assert [r.model for r in board] == ["b2", "small", "big", "later"]
    assert board[3].status == "pending" and board[3].rank is None


def test_a_row_without_validation_cannot_win():
    board = build_leaderboard([_trial("a", 0, 0.99, None), _trial("b", 0, 0.5, 0.6)],
                              ["a", "b"], "accuracy")
    winner = choose_winner(board, "accuracy")
    assert winner.model == "b" and "no validation score" in winner.excluded["a"]


def test_a_winning_baseline_is_said_plainly_and_the_best_network_is_named():
    trials = [
        _trial("minirocket", s, 0.99, v, kind="baseline", params=None)
        for s, v in ((0, 0.97), (1, 0.99))
    ] + [_trial("cnn1d", s, 0.97, v) for s, v in ((0, 0.95), (1, 0.97))]
    trials += [_trial("lstm", s, 0.90, v) for s, v in ((0, 0.80), (1, 0.82))]
    board = build_leaderboard(trials, ["cnn1d", "lstm", "minirocket"], "accuracy",
                              baselines=["minirocket"])
    assert board[0].model == "minirocket" and board[0].kind == "baseline"
    winner = choose_winner(board, "accuracy")
    assert winner.model == "minirocket" and winner.kind == "baseline"
    assert winner.best_network == "cnn1d"
    assert winner.reasons[1] == (
        "a non-deep model wins on this data: minirocket (validation 0.98 ± 0.014, test 0.99) "
        "vs the best network, cnn1d (validation 0.96 ± 0.014, test 0.97); cnn1d is the model "
        "exported (baselines are not exported)"
    )
    networks_first = choose_winner(
        build_leaderboard(trials[2:], ["cnn1d", "lstm"], "accuracy"), "accuracy"
    )
    assert networks_first.kind == "network" and networks_first.best_network == "cnn1d"
    assert not any("non-deep" in r for r in networks_first.reasons)


def _predicting_trials(y, right_a, right_b, seeds=3):
    """Trials of a and b whose test predictions are right on the given example masks."""
    wrong = 1 - y
    trials = []
    for name, right, val in (("a", right_a, 0.9), ("b", right_b, 0.8)):
        pred = np.where(right, y, wrong)
        for seed in range(seeds):
            trials.append(_trial(name, seed, float(right.mean()), val,
                                 predictions=pred.tolist()))
    return trials


@pytest.mark.parametrize("apart", [True, False])
def test_tied_exactly_when_the_paired_interval_includes_zero(apart):
    rng = np.random.default_rng(0)
    n = 150
    y = rng.integers(0, 2, n)
    right_a = rng.random(n) < 0.9
    # Far apart: b is wrong on 60 more examples. Close: b differs on 2 examples only.
    right_b = right_a.copy()
    flip = rng.choice(np.flatnonzero(right_a), 60 if apart else 2, replace=False)
    right_b[flip] = False
    trials = _predicting_trials(y, right_a, right_b)
    board = build_leaderboard(trials, ["a", "b"], "accuracy")
    winner = choose_winner(board, "accuracy", trials=trials, test_targets=y.tolist())
    cmp = winner.comparison
    reference = paired_bootstrap("accuracy", y, np.stack([np.where(right_a, y, 1 - y)] * 3),
                                 np.stack([np.where(right_b, y, 1 - y)] * 3), seed=0)
    assert cmp["ci_low"] == pytest.approx(reference.ci_low)
    assert cmp["tied"] == (cmp["ci_low"] <= 0 <= cmp["ci_high"])
    assert cmp["tied"] is (not apart)
    sentence = winner.reasons[1]
    assert "95% paired bootstrap interval" in sentence and "150 examples x 3 seed(s)" in sentence
    assert f"{cmp['ci_low']:.3g} to {cmp['ci_high']:.3g}" in sentence
    assert ("statistically tied" in sentence) is (not apart)
    assert not any("seed-to-seed spread" in r for r in winner.reasons)


def test_the_validation_winner_can_be_behind_on_test_and_the_verdict_says_so():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    right_b = rng.random(200) < 0.95
    right_a = right_b.copy()
    right_a[rng.choice(np.flatnonzero(right_b), 80, replace=False)] = False
    trials = _predicting_trials(y, right_a, right_b)  # a wins validation (0.9 vs 0.8)
    winner = choose_winner(build_leaderboard(trials, ["a", "b"], "accuracy"), "accuracy",
                           trials=trials, test_targets=y.tolist())
    assert winner.model == "a" and winner.comparison["difference"] < 0
    assert "behind it by" in winner.reasons[1] and "b is better on these test" in winner.reasons[1]


def test_regression_compares_on_mse_and_mase_falls_back_to_mae():
    y = np.linspace(0, 1, 40)[:, None]
    trials = []
    for name, noise, val in (("a", 0.01, 0.1), ("b", 0.5, 0.2)):
        pred = (y + noise).tolist()
        trials += [Trial(model=name, seed=s, status="ok", metrics={"mse": noise**2, "mase": 1},
                         val_metrics={"mse": val, "mase": val}, predictions=pred)
                   for s in range(2)]
    board = build_leaderboard(trials, ["b", "a"], "mse")
    assert board[0].model == "a"  # lower is better
    winner = choose_winner(board, "mse", trials=trials, test_targets=y.tolist())
    assert winner.comparison["metric"] == "mse" and not winner.comparison["tied"]
    assert winner.comparison["difference"] == pytest.approx(0.5**2 - 0.01**2)
    cmp, used = compare_on_test("mase", trials, "a", "b", y.tolist())
    assert used == "mae" and cmp.difference == pytest.approx(0.49)


def test_no_interval_without_stored_predictions():
    trials = [_trial("a", 0, 0.9, 0.9), _trial("b", 0, 0.8, 0.8)]
    winner = choose_winner(build_leaderboard(trials, ["a", "b"], "accuracy"), "accuracy",
                           trials=trials, test_targets=[0, 1])
    assert winner.comparison is None
    assert winner.reasons[1] == (
        "ahead of b on validation (0.8); no paired test interval: a stored no test predictions"
    )


def test_winner_respects_constraints_and_says_why():
    trials = [
        _trial("fast", 0, 0.80, 0.80, latency=1.0), _trial("slow", 0, 0.95, 0.95, latency=50.0),
        _trial("big", 0, 0.99, 0.99, params=10**7),
    ]
    board = build_leaderboard(trials, ["fast", "slow", "big"], "accuracy")
    free = choose_winner(board, "accuracy", advisor_pick="slow", advisor_ranked=["slow", "big"])
    assert free.model == "big" and free.agrees_with_advisor is False
    assert free.advisor_rank_of_winner == 2
    assert free.reasons[-1] == (
        "the advisor's first choice, slow, scored 0.95 on validation (rank 2): the "
        "measurement disagrees with the advice on this data"
    )
    bound = choose_winner(board, "accuracy", max_latency_ms=10, max_params=10**6,
                          advisor_pick="fast")
    assert bound.model == "fast" and bound.agrees_with_advisor is True
    assert "--max-latency-ms" in bound.excluded["slow"] and "parameters" in bound.excluded["big"]
    assert any("slow excluded" in r for r in bound.reasons)
    none = choose_winner(board, "accuracy", max_latency_ms=0.5)
    assert none.model is None and none.reasons[0] == "no candidate met the constraints"
    missing = choose_winner(
        build_leaderboard([_trial("a", 0, 0.9, 0.9, peak=None)], ["a"], "accuracy"),
        "accuracy", max_memory_mb=100,
    )
    assert missing.excluded["a"] == "peak memory not measured (--max-memory-mb 100)"


def test_protocol_sentence():
    cv = Protocol(kind="cv", n_folds=5, n_pool=50, n_val=10)
    assert protocol_sentence(cv).startswith("5-fold cross-validation inside the 50 training")
    assert "refit on all of them; test read once per trial, only to report" in (
        protocol_sentence(cv)
    )
    holdout = protocol_sentence(Protocol(kind="holdout", n_pool=800, n_val=200))
    assert "200 validation sequences select" in holdout
    assert "not recorded" in protocol_sentence(None)


def test_metric_for_task():
    assert metric_for("classify") == "accuracy"
    assert metric_for("per_step") == "accuracy"
    assert metric_for("forecast") == "mase"  # the vocabulary ranks forecasting by MASE
    assert metric_for("forecast", {"mse": 1.0, "mase": 0.9}) == "mase"
    assert metric_for("regress", {"mae": 0.1, "n": 3}) == "mae"  # the trials lack mse


def _precision_trials(model, precisions, *, kind="network"):
    """One fold and one refit trial per seed of ``model``, each with a recorded precision
    (None: not recorded)."""
    trials = []
    for seed, (fold, refit) in enumerate(precisions):
        for role, precision in (("fold", fold), ("refit", refit)):
            trial = _trial(model, seed, None if role == "fold" else 0.9, 0.9, role=role,
                           kind=kind, params=None if kind == "baseline" else 1000)
            extra = {} if precision is None else {"precision": precision}
            trials.append(replace(trial, extra=extra))
    return trials


def test_a_rows_precision_says_how_its_network_trials_trained():
    trials = (
        _precision_trials("all16", [("bf16", "bf16"), ("bf16", "bf16")])
        + _precision_trials("none16", [("fp32", "float32"), ("fp32", "fp32")])
        + _precision_trials("some16", [("fp32", "bf16"), ("fp32", "fp32")])
        + _precision_trials("unknown", [(None, None)])
        + _precision_trials("majority", [(None, None)], kind="baseline")
    )
    # A failed trial's precision does not count: it produced none of the row's numbers.
    failed = _trial("all16", 2, None, None, status="failed")
    trials.append(replace(failed, extra={"precision": "fp32"}))
    models = ["all16", "none16", "some16", "unknown", "majority"]
    board = build_leaderboard(trials, models, "accuracy", baselines=["majority"])
    got = {row.model: row.precision for row in board}
    assert got == {"all16": "bf16", "none16": "fp32", "some16": "mixed", "unknown": None,
                   "majority": None}
    assert {r.model: r.to_dict()["precision"] for r in board} == got
