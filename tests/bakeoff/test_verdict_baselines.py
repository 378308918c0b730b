"""The verdict on a baseline that heads the table: it *wins* only with a strictly better
validation score; equal to the best network (up to round-off) it *matches* it, Occam's
rule putting it first; and a trivial floor the networks do not beat on validation is
said. Which sentence is written, and the winner, never depend on the test split."""

from __future__ import annotations

import re
import statistics

import pytest

from seqselect.bakeoff.decide import build_leaderboard, choose_winner, same_validation
from seqselect.bakeoff.records import Trial

WINS = "a non-deep model wins on this data"
MATCHES = "a non-deep model matches the best network on validation"
FLOOR = "the networks did not beat the trivial floor on validation"


def _rows(spec: dict[str, tuple[str, list[float], float]], metric: str) -> list[Trial]:
    """Trials from ``{model: (kind, validation score per seed, test score)}``: a fold and
    a refit trial per seed (the cv protocol)."""
    trials = []
    for model, (kind, vals, test) in spec.items():
        params = None if kind == "baseline" else 20_000
        for seed, val in enumerate(vals):
            trials.append(Trial(model=model, seed=seed, status="ok", kind=kind, role="fold",
                                fold=seed, val_metrics={metric: val}, params=params))
            trials.append(Trial(model=model, seed=seed, status="ok", kind=kind, role="refit",
                                metrics={metric: test}, params=params, latency_ms=1.0))
    return trials


def _verdict(spec, metric="accuracy"):
    trials = _rows(spec, metric)
    baselines = [m for m, (kind, *_) in spec.items() if kind == "baseline"]
    board = build_leaderboard(trials, list(spec), metric, baselines=baselines)
    return board, choose_winner(board, metric, trials=trials)


def _said(winner, head: str) -> list[str]:
    return [r for r in winner.reasons if r.startswith(head)]


def test_a_baseline_equal_on_validation_matches_the_network_and_does_not_win():
    # GunPoint and BasicMotions: MiniRocket and cnn1d both right on every fold.
    board, winner = _verdict({
        "cnn1d": ("network", [1.0, 1.0, 1.0], 0.98),
        "lstm": ("network", [0.9, 0.95, 0.9], 0.91),
        "minirocket": ("baseline", [1.0, 1.0, 1.0], 0.99),
    })
    assert [r.model for r in board] == ["minirocket", "cnn1d", "lstm"]  # Occam's rule
    assert winner.model == "minirocket" and winner.best_network == "cnn1d"
    assert not _said(winner, WINS) and not _said(winner, FLOOR)
    assert _said(winner, MATCHES) == [
        "a non-deep model matches the best network on validation: minirocket (validation "
        "1 ± 0, test 0.99) and cnn1d (validation 1 ± 0, test 0.98); on a validation tie the "
        "simpler model ranks first, so minirocket heads the table, not because it scored "
        "higher; cnn1d is the model exported (baselines are not exported)"
    ]


def test_a_winner_level_with_the_runner_up_on_validation_is_not_called_ahead():
    _, tied = _verdict({
        "cnn1d": ("network", [1.0, 1.0, 1.0], 0.98),
        "minirocket": ("baseline", [1.0, 1.0, 1.0], 0.99),
    })
    _, ahead = _verdict({
        "cnn1d": ("network", [0.9, 1.0, 0.9], 0.98),
        "minirocket": ("baseline", [1.0, 1.0, 1.0], 0.99),
    })
    assert any(r.startswith("level with cnn1d on validation (1), first by the rule for ties")
               for r in tied.reasons)
    assert not any(r.startswith("ahead of") for r in tied.reasons)
    assert any(r.startswith("ahead of cnn1d on validation (0.9333)") for r in ahead.reasons)


def test_a_round_off_difference_is_a_tie_in_the_order_and_in_the_words():
    network_vals = [0.4, 0.45, 0.56]
    mean = statistics.fmean(network_vals)
    assert mean > 0.47 and same_validation(mean, 0.47)  # 0.47000000000000003
    board, winner = _verdict({
        "tcn": ("network", network_vals, 0.5),
        "tfidf_logreg": ("baseline", [0.47, 0.47, 0.47], 0.52),
    })
    assert [r.model for r in board] == ["tfidf_logreg", "tcn"]
    assert _said(winner, MATCHES) and not _said(winner, WINS)
    assert not _said(winner, FLOOR)  # tf-idf is a real model, not a floor


def test_a_strictly_better_baseline_wins():
    _, winner = _verdict({
        "cnn1d": ("network", [0.95, 0.97], 0.97),
        "minirocket": ("baseline", [0.97, 0.99], 0.99),
    })
    assert _said(winner, WINS) == [
        "a non-deep model wins on this data: minirocket (validation 0.98 ± 0.014, test 0.99) "
        "vs the best network, cnn1d (validation 0.96 ± 0.014, test 0.97); cnn1d is the model "
        "exported (baselines are not exported)"
    ]
    assert not _said(winner, MATCHES) and not _said(winner, FLOOR)


def test_a_majority_floor_tying_the_best_network_is_said():
    # A text set where the majority class tied tcn at 0.531 on validation.
    _, winner = _verdict({
        "tcn": ("network", [0.531, 0.531], 0.52),
        "transformer": ("network", [0.50, 0.49], 0.50),
        "majority": ("baseline", [0.531, 0.531], 0.53),
    })
    assert winner.model == "majority" and winner.best_network == "tcn"
    assert _said(winner, MATCHES) and not _said(winner, WINS)
    assert _said(winner, FLOOR) == [
        "the networks did not beat the trivial floor on validation: the best network, tcn, "
        "scored 0.531 accuracy, the same as majority, a floor every model must clear"
    ]


def test_a_floor_above_the_networks_is_said_whoever_wins():
    _, below_floor = _verdict({
        "tcn": ("network", [0.55, 0.55], 0.6),
        "majority": ("baseline", [0.6, 0.6], 0.58),
    })
    assert _said(below_floor, WINS)
    assert _said(below_floor, FLOOR) == [
        "the networks did not beat the trivial floor on validation: the best network, tcn, "
        "scored 0.55 accuracy, worse than majority's 0.6, a floor every model must clear"
    ]
    _, strong_baseline = _verdict({
        "tcn": ("network", [0.5, 0.5], 0.5),
        "minirocket": ("baseline", [0.9, 0.9], 0.9),
        "majority": ("baseline", [0.6, 0.6], 0.6),
    })
    assert strong_baseline.model == "minirocket"
    assert _said(strong_baseline, WINS) and len(_said(strong_baseline, FLOOR)) == 1


def test_a_network_that_clears_the_floor_gets_no_floor_sentence():
    _, winner = _verdict({
        "tcn": ("network", [0.7, 0.72], 0.7),
        "majority": ("baseline", [0.53, 0.53], 0.53),
    })
    assert winner.model == "tcn" and winner.kind == "network"
    assert not any(r.startswith((WINS, MATCHES, FLOOR)) for r in winner.reasons)


@pytest.mark.parametrize(("floor", "metric"), [("mean", "mse"), ("seasonal_naive", "mase")])
@pytest.mark.parametrize(("error", "floor_said"), [(1.0, True), (1.2, True), (0.8, False)])
def test_the_floors_of_errors_count_lower_as_better(floor, metric, error, floor_said):
    board, winner = _verdict({
        "tcn": ("network", [error] * 2, 0.9),
        floor: ("baseline", [1.0, 1.0], 1.0),
    }, metric=metric)
    assert bool(_said(winner, FLOOR)) is floor_said
    assert board[0].model == ("tcn" if error < 1.0 else floor)
    assert bool(_said(winner, MATCHES)) is (error == 1.0)


_SPEC = {
    "cnn1d": ("network", [1.0, 1.0, 1.0], 0.98),
    "lstm": ("network", [0.9, 0.95, 0.9], 0.91),
    "minirocket": ("baseline", [1.0, 1.0, 1.0], 0.99),
    "majority": ("baseline", [0.5, 0.5, 0.5], 0.5),
    "tcn": ("network", [0.5, 0.5, 0.5], 0.6),
}


def _decision(spec):
    """What the verdict decided, with its numbers masked: the order, the winner, the
    exported network, the runner-up and the sentences' words."""
    board, winner = _verdict(spec)
    words = [re.sub(r"-?\d+(\.\d+)?", "#", r) for r in winner.reasons]
    return [r.model for r in board], winner.model, winner.best_network, winner.runner_up, words


@pytest.mark.parametrize("shift", [1, 2, 3, 4])
def test_permuting_the_test_scores_changes_no_decision_and_no_sentence(shift):
    tests = [test for *_, test in _SPEC.values()]
    permuted = tests[shift:] + tests[:shift]
    spec = {m: (kind, vals, t) for (m, (kind, vals, _)), t in zip(_SPEC.items(), permuted,
                                                                    strict=True)}
    assert _decision(spec) == _decision(_SPEC)
