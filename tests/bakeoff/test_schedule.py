"""Stage 2: the budget's shares, on a fake clock (elapsed seconds are given, not measured)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from seqselect.bakeoff.plan import Plan
from seqselect.bakeoff.schedule import (
    Schedule,
    closing_reserve,
    measure_seconds,
    nominal_share,
    timing,
    with_closing,
)
from seqselect.data import load_dataset


def _schedule(budget_s=12.0, n_trials=4, slots=1, overhead=None) -> Schedule:
    plan = Plan(
        splits=load_dataset("task:adding?length=12&n=60"),  # the recipe reads its size
        source="s",
        profile={},
        advice={},
        candidates=["a", "b"],
        prepared={m: {"config": {"d_model": 4}, "causal": False} for m in ("a", "b")},
        args={
            "budget_s": budget_s,
            "seeds": 2,
            "params": None,
            "max_epochs": 5,
            "device": "cpu",
            "train_options": {},
        },
    )
    waves = -(-n_trials // slots)
    return Schedule(
        run="r",
        todo=plan.trials,
        n_trials=n_trials,
        budget_s=budget_s,
        nominal_s=budget_s / waves,
        slots=slots,
        threads=1,
        overhead=overhead if overhead is not None else {"a": 0.5, "b": 0.5},
        plan=plan,
        weights_dir=Path("w"),
    )


def test_on_time_every_trial_gets_an_equal_share():
    schedule = _schedule()
    shares = [schedule.share(elapsed=3.0 * i, waiting=4 - i) for i in range(4)]
    assert shares == [3.0, 3.0, 3.0, 3.0]
    assert sum(shares) <= schedule.budget_s


def test_after_an_overrun_the_later_shares_shrink_to_fit():
    schedule = _schedule()
    late = schedule.share(elapsed=7.0, waiting=2)  # 5 s left for 2 trials
    assert late == pytest.approx(2.5)
    assert schedule.share(elapsed=12.5, waiting=1) == 0.0  # the budget is spent


def test_parallel_slots_share_by_waves():
    schedule = _schedule(n_trials=4, slots=2)
    assert schedule.nominal_s == 6.0
    assert schedule.share(elapsed=0.0, waiting=4) == 6.0


def test_the_trainer_gets_the_share_less_the_overhead():
    schedule = _schedule(overhead={"a": 0.5})
    spec = schedule.spec(("a", 1, "trial"), share=3.0, excess=[])
    assert spec.train_seconds == pytest.approx(2.5)
    assert spec.measure_seconds == measure_seconds(3.0)
    assert spec.overrides == {"d_model": 4} and spec.max_epochs == 5
    assert spec.weights_path == str(Path("w") / "a-seed1.safetensors")
    # Trials that ran over their shares lately: their median excess is held back too.
    assert schedule.spec(("a", 1, "trial"), 3.0, [0.2, 1.0, 0.4]).train_seconds == 2.1
    # Never less than 0.2 s of training.
    assert schedule.spec(("a", 1, "trial"), share=0.1, excess=[]).train_seconds == 0.2
    # The recipe's options under the user's own, and the protocol's part for the worker.
    assert spec.role == "trial" and spec.fold is None and spec.protocol["kind"] == "holdout"


def test_measurement_limit_is_bounded():
    assert measure_seconds(1.0) == 0.15 and measure_seconds(1000.0) == 2.0
    assert measure_seconds(10.0) == pytest.approx(0.6)


def _timing(setup: float, baselines: float, trials: float) -> dict:
    return timing(
        _schedule(),
        actual={"setup": setup, "baselines": baselines, "trials": trials},
        planned={"setup": setup, "baselines": baselines, "trials": 12.0 - setup - baselines},
    )


def test_timing_document():
    # The whole bake-off is judged: set-up and baselines count against the budget.
    doc = _timing(1.23456, 0.5, 11.0)
    assert doc["within_budget"] is True and doc["trials_s"] == 11.0  # 12.73 <= 12 * 1.1
    assert doc["setup_s"] == 1.235 and doc["trials_run"] == 4 and doc["trials_resumed"] == 0
    assert doc["actual_s"]["total"] == pytest.approx(12.735, abs=1e-3)
    assert doc["planned_s"]["total"] == 12.0 and doc["baselines_s"] == 0.5
    assert _timing(1.0, 0.5, 11.9)["within_budget"] is False  # 13.4 > 13.2


def test_the_closing_phase_counts_against_the_budget():
    # What follows the trials (deciding, exporting) is part of the wall time a user waits.
    doc = with_closing(_timing(1.0, 0.5, 11.0), 0.8)  # 12.5 within 13.2; 13.3 is not
    assert doc["actual_s"]["closing"] == 0.8 and doc["total_s"] == pytest.approx(13.3)
    assert doc["actual_s"]["total"] == pytest.approx(13.3) and doc["within_budget"] is False
    assert with_closing(_timing(1.0, 0.5, 11.0), 0.5)["within_budget"] is True
    assert with_closing(doc, 0.1)["total_s"] == pytest.approx(12.6)  # replaced, not added
    assert closing_reserve(60.0) == pytest.approx(2.4) and closing_reserve(3600.0) == 10.0
    assert closing_reserve(60.0, command=True) == pytest.approx(4.4)  # + the CLI's writing


def test_the_nominal_share_counts_each_phases_waves_at_its_weight():
    # 4 folds then 4 refits, one slot, 16 s for the networks.
    assert nominal_share(16.0, {"fold": 4, "refit": 4}, slots=1) == 2.0
    assert nominal_share(16.0, {"fold": 4, "refit": 4}, slots=4) == 8.0  # a wave a phase
    assert nominal_share(12.0, {"trial": 4}, slots=1) == 3.0
    # 10 folds and 4 refits weighing 1.25: 15 units
    assert nominal_share(30.0, {"fold": 10, "refit": 4}, 1, {"refit": 1.25}) == 2.0


def test_refits_still_waiting_keep_their_shares_from_an_overrunning_fold_phase():
    # 12 s for 2 folds then 2 refits: a fold trial running late (elapsed 5 s after the
    # first) leaves 7 s for the 3 trials still to run, the refits counted among them.
    schedule = _schedule(n_trials=4)
    assert schedule.share(elapsed=5.0, waiting=1 + 2) == pytest.approx(7.0 / 3)
    # Without counting the refits the last fold would have taken all 7 s (capped at 3).
    assert schedule.share(elapsed=5.0, waiting=1) == 3.0


def test_a_fold_spec_saves_no_weights_and_a_refit_trains_the_chosen_epochs():
    schedule = _schedule()
    fold = schedule.spec(("a", 1, "fold"), 3.0, [])
    assert fold.weights_path is None and fold.role == "fold"
    refit = schedule.spec(("a", 1, "refit"), 3.0, [], max_epochs=7)
    assert refit.max_epochs == 7 and refit.weights_path.endswith("a-seed1.safetensors")


def test_the_recipes_options_lie_under_the_users(monkeypatch):
    import seqselect.bakeoff.schedule as schedule_module

    def recipe(model, splits):
        return {"lr": 3e-3, "batch_size": 16, "weight_decay": 0.05}

    monkeypatch.setattr(schedule_module, "train_options_for", recipe)
    schedule = _schedule()
    schedule.plan.args["train_options"] = {"lr": 1e-2}
    options = schedule.spec(("a", 0, "trial"), 3.0, []).train_options
    assert options["lr"] == 1e-2 and options["batch_size"] == 16
    assert options["weight_decay"] == 0.05


def _cv_schedule(budget_s: float, overhead=None) -> Schedule:
    """2 models x 2 seeds under 5-fold cv: 10 fold trials (every fold) then 4 refits,
    one at a time."""
    from seqselect.bakeoff.records import Protocol
    from seqselect.bakeoff.schedule import make_schedule

    base = _schedule()
    plan = dataclasses.replace(base.plan, protocol=Protocol(kind="cv", n_folds=5))
    return make_schedule(
        plan, "r", done=set(), slots=1, threads=1, runs_dir=Path("."), budget_s=budget_s,
        overhead=overhead or {"a": 0.5, "b": 0.5},
    )


def test_a_refit_gets_k_over_k_minus_1_times_a_folds_share():
    from seqselect.bakeoff.records import Protocol
    from seqselect.bakeoff.schedule import phase_weights

    assert phase_weights(Protocol(kind="cv", n_folds=5)) == {"fold": 1.0, "refit": 1.25}
    assert phase_weights(Protocol(kind="holdout")) == {}
    schedule = _cv_schedule(budget_s=30.0)  # 10 x 1 + 4 x 1.25 = 15 units of 2 s
    assert schedule.nominal("fold") == pytest.approx(2.0)
    assert schedule.nominal("refit") == pytest.approx(2.5)
    assert schedule.phase_budget("fold") + schedule.phase_budget("refit") == pytest.approx(30.0)
    # On time, every trial gets its nominal share and the budget is spent exactly.
    shares, elapsed = [], 0.0
    for i in range(10):
        shares.append(schedule.share(elapsed, 10 - i, "fold", later=4))
        elapsed += shares[-1]
    for i in range(4):
        shares.append(schedule.share(elapsed, 4 - i, "refit"))
        elapsed += shares[-1]
    assert shares == pytest.approx([2.0] * 10 + [2.5] * 4)
    assert elapsed == pytest.approx(30.0)
    # A late fold phase (12 s gone after 3 folds): the 7 folds and 4 refits left share
    # the 18 s in proportion, 7 x 1 + 4 x 1.25 = 12 units of 1.5 s.
    assert schedule.share(12.0, 7, "fold", later=4) == pytest.approx(1.5)


def test_trials_that_ended_early_give_their_unused_overhead_back():
    schedule = _schedule(overhead={"a": 1.0})
    # the last trials each ended 0.6 s inside their share: the overhead was over-estimated
    assert schedule.spec(("a", 1, "trial"), 3.0, [-0.6, -0.6, -0.6]).train_seconds == 2.6
    # never more than the share itself
    assert schedule.spec(("a", 1, "trial"), 3.0, [-5.0]).train_seconds == 3.0


def test_only_trials_that_used_their_seconds_correct_the_overhead():
    from seqselect.bakeoff.records import Trial
    from seqselect.bakeoff.run import _trained_to_its_share

    def trial(stopped_by, status="ok"):
        return Trial(model="a", seed=0, status=status, extra={"stopped_by": stopped_by})

    assert _trained_to_its_share(trial("seconds"), wall=2.5, share=3.0)
    assert _trained_to_its_share(trial("epochs"), wall=3.4, share=3.0)  # ran over
    # ended early at its epochs: says nothing about the overhead
    assert not _trained_to_its_share(trial("epochs"), wall=1.0, share=3.0)
    assert not _trained_to_its_share(trial("seconds", status="failed"), wall=1.0, share=3.0)
