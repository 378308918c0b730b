"""Networks rank among themselves by validation cross-entropy on small folds; baselines
keep the places validation accuracy gives them; large folds keep accuracy."""

from __future__ import annotations

import pytest

from seqselect.bakeoff.decide import build_leaderboard, choose_winner
from seqselect.bakeoff.records import Trial


def _trials(n_val: int) -> list[Trial]:
    """tcn: higher validation accuracy, worse cross-entropy than cnn1d; minirocket (no
    probabilities) between them on accuracy, majority last. Test scores favour cnn1d
    but never enter the ranking."""
    spec = {  # model: (kind, [(val acc, val ce)] per seed, test acc)
        "tcn": ("network", [(0.75, 1.17), (0.57, 0.80), (0.86, 0.65)], 0.76),
        "cnn1d": ("network", [(0.62, 0.82), (0.71, 0.36), (0.71, 0.54)], 0.85),
        "minirocket": ("baseline", [(0.70, None), (0.70, None), (0.70, None)], 0.86),
        "majority": ("baseline", [(0.27, None)] * 3, 0.39),
    }
    trials = []
    for model, (kind, folds, test) in spec.items():
        for seed, (acc, ce) in enumerate(folds):
            val = {"accuracy": acc, "n": n_val, **({"cross_entropy": ce} if ce else {})}
            trials.append(Trial(model=model, seed=seed, status="ok", role="fold", fold=seed,
                                kind=kind, val_metrics=val, params=20000))
            trials.append(Trial(model=model, seed=seed, status="ok", role="refit", kind=kind,
                                metrics={"accuracy": test, "n": 175}, params=20000))
    return trials


def _board(n_val: int):
    trials = _trials(n_val)
    board = build_leaderboard(trials, ["tcn", "cnn1d", "minirocket", "majority"], "accuracy",
                              baselines=["minirocket", "majority"])
    return trials, board


def test_small_folds_rank_networks_by_cross_entropy_in_their_own_places():
    trials, board = _board(n_val=7)
    # accuracy places: tcn 0.727 (network), minirocket 0.70, cnn1d 0.68 (network), majority
    assert [r.model for r in board] == ["cnn1d", "minirocket", "tcn", "majority"]
    assert [r.rank for r in board] == [1, 2, 3, 4]
    assert board[0].val_loss == pytest.approx((0.82 + 0.36 + 0.54) / 3)
    assert board[1].val_loss is None  # a baseline: no probabilities
    winner = choose_winner(board, "accuracy", trials=trials)
    assert winner.model == "cnn1d" and winner.best_network == "cnn1d"
    assert any("validation cross-entropy" in r and "7 validation sequences" in r
               for r in winner.reasons)


def test_folds_large_enough_keep_accuracy():
    trials, board = _board(n_val=60)
    assert [r.model for r in board] == ["tcn", "minirocket", "cnn1d", "majority"]
    winner = choose_winner(board, "accuracy", trials=trials)
    assert winner.model == "tcn"
    assert not any("cross-entropy" in r for r in winner.reasons)


def test_the_row_document_carries_the_validation_loss():
    from seqselect.bakeoff.records import LeaderboardRow

    _, board = _board(n_val=7)
    doc = board[0].to_dict()
    assert doc["val_cross_entropy"] == pytest.approx(board[0].val_loss)
    assert LeaderboardRow.from_dict(doc).val_loss == pytest.approx(board[0].val_loss)
