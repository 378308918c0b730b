"""The bake-off end to end on a small CSV: leaderboard, winner, budget, resume, JSON."""

from __future__ import annotations

import pytest

import seqselect
from seqselect.bakeoff import ResultsStore, bakeoff
from seqselect.errors import SeqSelectError


def test_result_document_has_the_promised_shape(finished_run):
    doc = finished_run["result"].to_dict()
    assert doc["run"] == "waves"
    assert doc["metric"] == "accuracy"
    assert doc["profile"]["n_classes"] == 2
    assert set(doc["advisor"]) >= {"ranked", "pick", "shortlist"}
    assert [r["model"] for r in doc["leaderboard"]] != []
    baselines = [r for r in doc["leaderboard"] if r["kind"] == "baseline"]
    assert {r["model"] for r in baselines} == {"minirocket", "majority"}
    for row in baselines:  # measured like the networks: scores over seeds, a latency
        assert row["n_seeds"] == 2 and 0.0 <= row["accuracy"] <= 1.0 and row["latency_ms"] > 0
    for row in (r for r in doc["leaderboard"] if r["kind"] == "network"):
        for key in (
            "model",
            "accuracy",
            "accuracy_std",
            "train_s",
            "latency_ms",
            "peak_mb",
            "params",
        ):
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
    networks = [t for t in doc["trials"] if t["kind"] == "network"]
    # Small data: cross-validation, every fold scored (3 fold trials a model), then a
    # refit per (model, seed).
    assert len(networks) == 10 and all(t["status"] == "ok" for t in networks)
    assert all(t["history"] for t in networks)
    assert sorted(t["role"] for t in networks) == ["fold"] * 6 + ["refit"] * 4


def test_stored_keys_are_todays(finished_run):
    doc = finished_run["result"].to_dict()
    optional = ("val_metrics", "fold", "predictions")  # written when a trial has them
    assert [key for key in doc["trials"][0] if key not in optional] == [
        "run",
        "model",
        "seed",
        "status",
        "metrics",
        "train_s",
        "latency_ms",
        "batch_latency_ms",
        "step_latency_ms",
        "peak_mb",
        "params",
        "history",
        "extra",
        "error",
        "weights",
        "started",
        "finished",
        "kind",
        "role",
    ]
    env = doc["environment"]
    # describe_environment's keys plus the bake-off's own (torch threads, the executor)
    assert {
        "seqselect",
        "torch",
        "cpu",
        "cores",
        "device",
        "torch_threads",
        "executor",
        "slots",
        "threads_per_trial",
        "threads_reason",
    } <= set(env)


def test_timing_reports_the_phase_against_the_budget(finished_run):
    # What the run says about its own time is consistent; how long it took on this
    # machine is not asserted (the shares are checked on a fake clock in test_schedule).
    timing = finished_run["result"].timing
    assert timing["budget_s"] == 6.0 and timing["tolerance"] == 0.1
    # The whole run is judged, set-up and baselines included.
    assert timing["within_budget"] == (timing["total_s"] <= 6.0 * 1.1)
    actual = timing["actual_s"]
    assert set(actual) == {"setup", "baselines", "folds", "refits", "closing", "total"}
    assert actual["total"] == pytest.approx(sum(v for k, v in actual.items() if k != "total"),
                                            abs=0.01)
    # What the networks share is what set-up, baselines and the closing reserve (4% of the
    # budget) left (never under a quarter of the budget), split over 2 x k folds then 4
    # refits, one at a time; a refit trains its folds' epochs on k/(k-1) times their rows,
    # so it gets k/(k-1) times their share.
    assert timing["planned_s"]["closing"] == pytest.approx(0.04 * 6.0)
    left = max(0.25 * 6.0, 6.0 - actual["setup"] - actual["baselines"] - 0.04 * 6.0)
    assert timing["network_budget_s"] == pytest.approx(left, abs=0.01)
    k = finished_run["result"].protocol.n_folds
    folds, refit_weight = 2 * k, k / (k - 1)
    assert timing["share_s"] == pytest.approx(left / (folds + 4 * refit_weight), abs=0.01)
    planned = timing["planned_s"]
    assert planned["refits"] == pytest.approx(
        planned["folds"] * 4 * refit_weight / folds, abs=0.01
    )
    assert planned["folds"] + planned["refits"] == pytest.approx(left, abs=0.02)
    assert timing["trials_run"] == folds + 4 and timing["trials_resumed"] == 0


def test_rerun_with_same_name_resumes_without_repeating(finished_run):
    store = ResultsStore(finished_run["store"])
    before = {t.key: t.finished for t in store.trials("waves")}
    again = bakeoff(
        str(finished_run["csv"]),
        target="label",
        models="cnn1d,gru",
        budget="6s",
        trim_to_budget=False,  # seed counts are asserted; budget_fit has its own tests
        seeds=2,
        params=3000,
        cpus_per_trial=1,
        store=finished_run["store"],
        run="waves",
    )
    assert again.timing["trials_run"] == 0 and again.timing["trials_resumed"] == 10
    after = {t.key: t.finished for t in store.trials("waves")}
    assert after == before
    assert again.winner.model == finished_run["result"].winner.model


def test_resume_with_different_data_settings_is_refused(finished_run):
    with pytest.raises(SeqSelectError, match="different settings"):
        bakeoff(
            str(finished_run["csv"]),
            target="label",
            models="cnn1d,gru",
            budget="6s",
        trim_to_budget=False,  # seed counts are asserted; budget_fit has its own tests
            seeds=2,
            params=4000,
            store=finished_run["store"],
            run="waves",
        )


def test_resume_with_seeds_that_change_the_folds_is_refused(finished_run):
    # started with 2 seeds (3 folds); 4 seeds would split the pool into 4 folds, and the
    # kept fold trials were scored on the 3: refused before anything trains
    with pytest.raises(SeqSelectError, match="3-fold cross-validation .* 4-fold"):
        bakeoff(
            str(finished_run["csv"]), target="label", models="cnn1d,gru", budget="6s",
            trim_to_budget=False, seeds=4, params=3000, store=finished_run["store"],
            run="waves",
        )
    kept = ResultsStore(finished_run["store"]).trials("waves")
    assert len([t for t in kept if t.kind == "network"]) == 10


def test_a_clock_that_started_earlier_is_charged_to_the_budget(tmp_path):
    # The command line passes its process's start: 30 s of start-up against a 3 s budget
    # leave the networks their floor (a quarter of the budget) and the run is judged over.
    import time

    result = seqselect.run_bakeoff(
        "task:adding?length=12&n=120", models="cnn1d", budget="3s", seeds=1, params=300,
        cpus_per_trial=1, store=tmp_path / "r.db", run="x", baselines="none",
        clock_start=time.perf_counter() - 30.0,
    )
    timing = result.timing
    assert timing["setup_s"] >= 30.0 and timing["within_budget"] is False
    assert timing["planned_s"]["closing"] == pytest.approx(0.04 * 3.0 + 2.0)  # + CLI writing
    assert timing["network_budget_s"] == pytest.approx(0.25 * 3.0, abs=0.01)


def test_the_console_script_records_when_its_process_started(monkeypatch, capsys):
    import time

    from seqselect import cli
    from seqselect.cli import _app

    monkeypatch.setitem(_app._state, "process_start", None)
    monkeypatch.setattr("sys.argv", ["seqselect", "models"])
    with pytest.raises(SystemExit) as done:
        cli.main()
    assert done.value.code == 0 and "cnn1d" in capsys.readouterr().out
    assert _app.process_start() is not None and _app.process_start() <= time.perf_counter()


def test_unbuildable_candidate_is_recorded_not_fatal(tmp_path):
    # params=300 cannot be met by a transformer (its smallest width has more): the trial is
    # recorded as failed with the registry's message and the rest of the bake-off goes on.
    result = seqselect.run_bakeoff(
        "task:adding?length=12&n=120",
        models="transformer,cnn1d",
        budget="2s",
        seeds=1,
        params=300,
        cpus_per_trial=1,
        store=tmp_path / "r.db",
        run="x",
        baselines="none",  # a network must win here (a ridge baseline may beat cnn1d in 2 s)
    )
    rows = {r.model: r for r in result.leaderboard}
    assert rows["transformer"].status == "failed"
    assert "cannot build" in rows["transformer"].errors[0]
    assert rows["cnn1d"].status == "ok"
    assert result.winner.model == "cnn1d"
    assert result.metric == "mse"


@pytest.fixture
def nan_gru(monkeypatch):
    """Every gru a trial builds answers NaN: its loss cannot be finite."""
    import seqselect.bakeoff.trial as trial_module

    real_create = trial_module.create_model

    def create_nan_model(name, **kwargs):
        model = real_create(name, **kwargs)
        model.register_forward_hook(lambda module, args, out: out * float("nan"))
        return model

    monkeypatch.setattr(trial_module, "create_model", create_nan_model)


def test_a_diverging_trial_is_recorded_and_the_rest_goes_on(tmp_path, nan_gru):
    # The trainer stops a NaN loss as diverged; the bake-off records it, goes on to the
    # next seed, and does not repeat either on resume.
    result = bakeoff(
        "task:adding?length=12&n=120",
        models="gru",
        budget="2s",
        seeds=2,
        params=2000,
        cpus_per_trial=1,
        store=tmp_path / "r.db",
        run="nan",
        baselines="none",  # with no network usable, a baseline would win
        trim_to_budget=False,
    )
    # Small data: cross-validation, every fold, then a refit per seed, all diverged.
    k = result.protocol.n_folds
    assert [(t.role, t.status) for t in result.trials if t.kind == "network"] == [
        *[("fold", "diverged")] * k, ("refit", "diverged"), ("refit", "diverged")
    ]
    row = result.leaderboard[0]
    assert row.status == "diverged" and row.value is None
    assert result.winner.model is None
    assert "no usable trial (diverged" in result.winner.excluded["gru"]
    keys = ResultsStore(tmp_path / "r.db").finished_trials("nan")
    assert {key for key in keys if key[0] == "gru"} == {
        *(("gru", s, "fold") for s in range(k)), ("gru", 0, "refit"), ("gru", 1, "refit")
    }


def test_a_budget_too_small_for_the_plan_is_fitted_and_says_so(tmp_path, wave_csv, monkeypatch):
    """With trials whose fixed cost leaves no time to train, the run drops seeds, records
    the fit in its arguments and verdict, and a resume keeps the same fit."""
    from seqselect import run_bakeoff
    from seqselect.bakeoff import runner

    monkeypatch.setattr(runner, "calibrate_models", lambda plan, models, **kw: {
        m: 2.0 for m in models
    })
    kwargs = dict(target="label", models="cnn1d,gru", budget="12s", seeds=3, params=3000,
                  cpus_per_trial=1, store=tmp_path / "runs.db", run="fit", baselines="none")
    result = run_bakeoff(str(wave_csv), **kwargs)
    fit = result.args["budget_fit"]
    assert fit["seeds"] < 3 and result.args["seeds"] == fit["seeds"]
    assert any(r.startswith("fitted to the budget") for r in result.winner.reasons)
    refits = {t.seed for t in result.trials if t.kind == "network" and t.role == "refit"}
    assert refits == set(range(fit["seeds"]))
    folds = {t.seed for t in result.trials if t.kind == "network" and t.role == "fold"}
    assert folds == set(range(max(fit["seeds"], result.protocol.n_folds)))
    assert result.protocol.n_folds == 3  # the fit drops seeds, never the folds
    again = run_bakeoff(str(wave_csv), **kwargs)
    assert again.args["budget_fit"] == fit
    assert result.timing["trials_run"] > 0 and again.timing["trials_run"] == 0
