"""Networks rank among themselves by validation cross-entropy on small folds; baselines
keep the places validation accuracy gives them; large folds keep accuracy. Networks whose
paired validation losses cannot be told apart are tied, and a recurrent one yields."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from seqselect.bakeoff.decide import build_leaderboard, choose_winner
from seqselect.bakeoff.ranking import validation_ties
from seqselect.bakeoff.records import Trial
from seqselect.stats import paired_loss_bootstrap


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


def _tie_trials(gap: float, *, leader: str = "lstm", other: str = "cnn1d",
                with_losses: bool = True, test: dict | None = None) -> list[Trial]:
    """Two networks on the same three folds of 10 sequences: ``other``'s loss on each
    sequence is ``leader``'s plus ``gap`` plus noise that leaves its mean a little higher
    (0.01-0.02); a baseline."""
    rng = np.random.default_rng(0)
    test = test or {leader: 0.96, other: 0.99}
    trials = []
    for seed in range(3):
        base = rng.exponential(0.1, size=10)
        noise = rng.normal(0.01, 0.1, size=10)
        for model, losses in ((leader, base), (other, np.clip(base + gap + noise, 1e-3, None))):
            val = {"accuracy": 1.0, "cross_entropy": float(losses.mean()), "n": 10}
            trials.append(Trial(
                model=model, seed=seed, status="ok", role="fold", fold=seed, val_metrics=val,
                params=20000, val_losses=[float(v) for v in losses] if with_losses else None))
            trials.append(Trial(model=model, seed=seed, status="ok", role="refit",
                                metrics={"accuracy": test[model], "n": 150}, params=20000,
                                predictions=[0] * 150))
        trials.append(Trial(model="minirocket", seed=seed, status="ok", role="fold", fold=seed,
                            kind="baseline", val_metrics={"accuracy": 1.0, "n": 10}))
    return trials


def _tie_board(trials, models=("lstm", "cnn1d")):
    return build_leaderboard(trials, [*models, "minirocket"], "accuracy",
                             baselines=["minirocket"])


def test_a_recurrent_leader_tied_on_validation_yields_to_a_convolutional_network():
    trials = _tie_trials(gap=0.0)
    board = _tie_board(trials)
    networks = [r for r in board if r.kind == "network"]
    assert networks[0].val_loss > networks[1].val_loss  # cnn1d leads despite a higher loss
    assert [r.model for r in networks] == ["cnn1d", "lstm"]
    (tie,) = validation_ties(board, trials)
    assert (tie.leader, tie.model, tie.comparison.n) == ("lstm", "cnn1d", 30)
    assert tie.comparison.ci_low <= 0 <= tie.comparison.ci_high
    winner = choose_winner(board, "accuracy", trials=trials)
    assert winner.best_network == "cnn1d"
    (why,) = [r for r in winner.reasons if "cannot separate" in r]
    assert "lstm from cnn1d" in why and "the tie goes to cnn1d" in why and "30 sequences" in why
    # The three seeds' folds are the blocks the two-level bootstrap draws first.
    assert (tie.comparison.n_seeds_a, tie.comparison.n_seeds_b) == (3, 3)
    assert "30 sequences in 3 fold run(s)" in why


def test_a_clear_validation_gap_keeps_the_lower_loss_first():
    trials = _tie_trials(gap=0.3)
    board = _tie_board(trials)
    assert [r.model for r in board if r.kind == "network"] == ["lstm", "cnn1d"]
    assert validation_ties(board, trials) == []
    winner = choose_winner(board, "accuracy", trials=trials)
    assert winner.best_network == "lstm"
    assert not any("cannot separate" in r for r in winner.reasons)


def test_two_non_recurrent_networks_tied_keep_the_loss_order():
    trials = _tie_trials(gap=0.0, leader="tcn", other="cnn1d",
                         test={"tcn": 0.9, "cnn1d": 0.99})
    board = _tie_board(trials, models=("tcn", "cnn1d"))
    assert [r.model for r in board if r.kind == "network"] == ["tcn", "cnn1d"]
    winner = choose_winner(board, "accuracy", trials=trials)
    assert any("cannot separate tcn from cnn1d" in r and "tcn keeps the lead" in r
               for r in winner.reasons)


def test_trials_without_per_sequence_losses_are_never_tied():
    trials = _tie_trials(gap=0.0, with_losses=False)
    board = _tie_board(trials)
    assert validation_ties(board, trials) == []
    assert [r.model for r in board if r.kind == "network"] == ["lstm", "cnn1d"]


def test_ties_read_no_test_data():
    # The same validation with the test scores and predictions reversed: the same order.
    a = _tie_board(_tie_trials(gap=0.0, test={"lstm": 0.99, "cnn1d": 0.5}))
    b = _tie_board(_tie_trials(gap=0.0, test={"lstm": 0.5, "cnn1d": 0.99}))
    assert [r.model for r in a] == [r.model for r in b]


def test_the_tie_interval_resamples_the_folds_not_only_the_sequences():
    """cnn1d's loss on each sequence is lstm's + 0.3 in folds 0 and 2 and - 0.15 in fold
    1, with nothing else between them: pooled over 30 sequences that is a clear +0.15;
    drawn by fold, three draws of fold 1 (1 in 27, more than 2.5%) say -0.15: a tie."""
    trials = _tie_trials(gap=0.0)
    base = {t.seed: np.array(t.val_losses) for t in trials if t.model == "lstm" and t.val_losses}
    losses = {  # (model, seed): per-sequence losses, all positive
        **{("lstm", s): base[s] + (0.15 if s == 1 else 0.0) for s in base},
        **{("cnn1d", s): base[s] + (0.0 if s == 1 else 0.3) for s in base},
    }
    shifted = [
        replace(t, val_losses=[float(v) for v in losses[(t.model, t.seed)]],
                val_metrics={**t.val_metrics,
                             "cross_entropy": float(losses[(t.model, t.seed)].mean())})
        if t.role == "fold" and t.kind == "network" else t
        for t in trials
    ]
    board = _tie_board(shifted)
    (tie,) = validation_ties(board, shifted)
    cmp = tie.comparison
    assert (tie.leader, tie.model) == ("lstm", "cnn1d")
    assert cmp.difference == pytest.approx(0.15)
    assert cmp.ci_low == pytest.approx(-0.15) and cmp.ci_high == pytest.approx(0.3)
    pooled = paired_loss_bootstrap(
        *[np.concatenate([losses[(m, s)] for s in range(3)]) for m in ("lstm", "cnn1d")]
    )
    assert not pooled.tied  # what the example-only interval said
