"""Fitting the plan to the budget: fewer seeds, then fewer candidates (never fewer folds),
when a trial's fixed costs would leave it too little time to train (issue 13, item 8),
never the shortlist's pure convolutional or pure recurrent model."""

from __future__ import annotations

import pytest

from seqselect.bakeoff.budget_fit import (
    MIN_TRAIN_FRACTION,
    MIN_TRAIN_S,
    BudgetFit,
    fit_to_budget,
    needed_share,
)
from seqselect.bakeoff.protocol import phase_seeds
from seqselect.bakeoff.records import Protocol
from seqselect.bakeoff.schedule import nominal_share, phase_weights

CV = Protocol(kind="cv", n_folds=5)
HOLDOUT = Protocol(kind="holdout")


def _share(fit: BudgetFit, models: list[str], budget_s: float, protocol=CV) -> float:
    """The share of a fold trial under ``fit``, counted independently of the fit."""
    kept = [m for m in models if m not in fit.dropped]
    counts = {r: len(kept) * len(s) for r, s in phase_seeds(protocol, fit.seeds).items()}
    return nominal_share(budget_s, counts, 1, phase_weights(protocol))


def test_every_fold_is_a_trial_and_seeds_beyond_the_folds_add_folds():
    assert phase_seeds(CV, 3) == {"fold": [0, 1, 2, 3, 4], "refit": [0, 1, 2]}
    assert phase_seeds(CV, 7) == {"fold": list(range(7)), "refit": list(range(7))}
    assert phase_seeds(HOLDOUT, 2) == {"trial": [0, 1]}


def test_cheap_trials_keep_every_seed_and_model():
    fit = fit_to_budget(["a", "b", "c"], 3, {"a": 0.3, "b": 0.5, "c": 0.4},
                        budget_s=180, slots=1, protocol=CV)
    assert fit == BudgetFit(3) and not fit.changed


def test_costly_trials_lose_seeds_then_the_costliest_model_never_a_fold():
    models, overhead = ["tcn", "lstm", "cnn1d"], {"tcn": 1.0, "lstm": 4.0, "cnn1d": 0.8}
    # lstm needs an 8 s share. 150 s, 3 models: 3 seeds are 15 fold trials + 9 refits
    # (weight 1.25), 5.7 s a fold trial; one seed, 15 + 3 refits, is 8.0 s.
    fit = fit_to_budget(models, 3, overhead, budget_s=150, slots=1, protocol=CV)
    assert (fit.seeds, fit.dropped) == (1, ())
    assert _share(fit, models, 150) >= needed_share(4.0)
    assert "3 -> 1 seed(s)" in fit.reason and "lstm 4.0 s" in fit.reason
    # 130 s: one seed on 5 folds is 6.9 s; the folds stay (the baselines were scored on
    # them), so the shortlist's last goes: 10 + 2 refits, 10.4 s.
    fit = fit_to_budget(models, 3, overhead, budget_s=130, slots=1, protocol=CV)
    assert (fit.seeds, fit.dropped) == (1, ("cnn1d",))
    assert _share(fit, models, 130) >= needed_share(4.0)
    assert "folds" not in fit.reason
    # 20 s: not enough either; only the shortlist's last (the advisor's least
    # preferred) goes, not lstm, its only recurrent model: tcn and lstm are kept and
    # the run reports the overrun.
    fit = fit_to_budget(models, 3, overhead, budget_s=20, slots=1, protocol=CV)
    assert (fit.seeds, fit.dropped) == (1, ("cnn1d",))
    assert _share(fit, models, 20) < needed_share(4.0)
    assert "not run: cnn1d" in fit.reason and "tcn, lstm kept" in fit.reason
    assert "may overrun the budget" in fit.reason


def test_hold_out_loses_seeds_then_the_costliest_model():
    models, overhead = ["tcn", "lstm", "cnn1d"], {"tcn": 1.0, "lstm": 4.0, "cnn1d": 0.8}
    fit = fit_to_budget(models, 3, overhead, budget_s=20, slots=1, protocol=HOLDOUT)
    assert (fit.seeds, fit.dropped) == (1, ("cnn1d",))


def test_models_the_user_named_lose_seeds_but_are_never_dropped():
    fit = fit_to_budget(["tcn", "lstm"], 3, {"tcn": 1.0, "lstm": 4.0}, budget_s=20,
                        slots=1, protocol=CV, may_drop=False)
    assert (fit.seeds, fit.dropped) == (1, ())


def test_the_last_model_is_never_dropped():
    fit = fit_to_budget(["a", "b"], 2, {"a": 50.0, "b": 60.0}, budget_s=10, slots=1,
                        protocol=HOLDOUT)
    assert fit.seeds == 1 and fit.dropped == ("b",)  # "a" stays, whatever it costs


@pytest.mark.parametrize("overhead", [0.0, 1.0, 3.0, 10.0])
def test_the_needed_share_trains_enough(overhead):
    share = needed_share(overhead)
    assert share - overhead >= MIN_TRAIN_S - 1e-9
    assert share - overhead >= MIN_TRAIN_FRACTION * share - 1e-9


def test_the_fit_round_trips_through_the_stored_args():
    for fit in (BudgetFit(1, ("lstm",), "why"), BudgetFit(2, (), "why")):
        assert BudgetFit.from_dict(fit.to_dict()) == fit


def test_a_fit_drops_every_other_model_before_the_guarantee():
    # what the advisor ranks for long documents, then more: attention models and a
    # second recurrent one; costly enough that only two models could ever fit
    models = ["tcn", "longformer", "bigbird", "lstm", "gru"]
    overhead = {m: 3.0 for m in models}
    fit = fit_to_budget(models, 3, overhead, budget_s=10, slots=1, protocol=CV)
    assert fit.seeds == 1 and fit.dropped == ("longformer", "bigbird", "gru")
    assert "tcn, lstm kept" in fit.reason


def test_hybrids_go_before_the_pure_models_the_guarantee_rests_on():
    models = ["crnn", "conv_transformer", "cnn1d", "gru"]
    fit = fit_to_budget(models, 1, {m: 3.0 for m in models}, budget_s=10, slots=1, protocol=CV)
    assert set(fit.dropped) == {"crnn", "conv_transformer"}
    # without a pure recurrent model on the list, the hybrid one stands in
    models = ["crnn", "conv_transformer", "cnn1d"]
    fit = fit_to_budget(models, 1, {m: 3.0 for m in models}, budget_s=10, slots=1, protocol=CV)
    assert fit.dropped == ("conv_transformer",)


def test_a_fit_that_needs_no_guarantee_model_dropped_drops_none():
    models = ["tcn", "lstm", "transformer"]
    overhead = {"tcn": 0.2, "lstm": 0.2, "transformer": 1.5}
    fit = fit_to_budget(models, 3, overhead, budget_s=12, slots=1, protocol=CV)
    assert fit.dropped == ("transformer",)  # the costly one goes; then it all fits
    assert "may overrun" not in fit.reason
