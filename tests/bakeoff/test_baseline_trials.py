"""Baselines as bake-off rows: chosen by ``baselines=``, fitted under the run's protocol,
stored like trials (kind "baseline") and resumed, never repeated."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from seqselect.bakeoff import ResultsStore, bakeoff
from seqselect.bakeoff.baseline_trials import SLOW_BASELINES, parse_baselines, run_baseline_trial
from seqselect.bakeoff.protocol import choose_protocol, pool_folds
from seqselect.baselines import list_baselines
from seqselect.data.types import DatasetSplits, SequenceData
from seqselect.errors import SeqSelectError


def _part(n: int, seed: int) -> SequenceData:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = (2 * y.float() - 1)[:, None, None] * torch.linspace(0, 1, 12)[None, :, None]
    x = x + 0.3 * torch.randn(n, 12, 1, generator=g)
    return SequenceData(x, torch.ones(n, 12, dtype=torch.bool), y)


def _splits(test_seed: int = 2) -> DatasetSplits:
    return DatasetSplits(
        name="ramps", task="classify", model_task="classify", train=_part(60, 0),
        val=_part(14, 1), test=_part(20, test_seed), d_output=2, d_input=1,
        class_names=["down", "up"],
    )


def test_auto_takes_the_tasks_fast_baselines_and_names_are_checked():
    splits = _splits()
    auto = parse_baselines("auto", splits)
    takes_others = {"tfidf_logreg", "minirocket_logmel"}  # series: no text or audio baseline
    assert set(auto) == set(list_baselines("classify")) - set(SLOW_BASELINES) - takes_others
    assert "majority" in auto and "minirocket" in auto
    assert parse_baselines("none", splits) == [] and parse_baselines(None, splits) == []
    assert parse_baselines("majority, multirocket_hydra", splits) == [
        "majority", "multirocket_hydra"
    ]
    with pytest.raises(SeqSelectError, match="unknown baseline"):
        parse_baselines("majority,nope", splits)
    with pytest.raises(SeqSelectError, match="cannot take"):
        parse_baselines("mean", splits)  # a regression baseline on class labels


def test_a_fold_fit_is_scored_on_its_fold_and_a_refit_on_the_test_split():
    splits = _splits()
    protocol = choose_protocol(splits, seeds=2)
    fold = run_baseline_trial("majority", splits, protocol, seed=1, role="fold", fold=1)
    assert fold.kind == "baseline" and fold.metrics == {} and fold.predictions is None
    assert fold.val_metrics["n"] == len(pool_folds(splits, protocol)[1][1])
    refit = run_baseline_trial("majority", splits, protocol, seed=1, role="refit", fold=None)
    assert refit.metrics["n"] == 20 and refit.val_metrics == {}
    # The majority class of the pool (37 up, 37 down: the first label wins ties), for all.
    assert len(set(refit.predictions)) == 1 and len(refit.predictions) == 20


def test_baselines_are_stored_rows_and_a_resume_keeps_them(tmp_path):
    store = tmp_path / "runs.db"
    common = dict(
        models="cnn1d", seeds=2, budget="4s", params=1500, max_epochs=1, cpus_per_trial=1,
        baselines="majority", store=store, run="b", trim_to_budget=False,
    )
    result = bakeoff(_splits(), **common)
    rows = [t for t in ResultsStore(store).trials("b") if t.kind == "baseline"]
    k = result.protocol.n_folds  # every fold, then the 2 seeds' refits
    assert sorted(t.key for t in rows) == sorted(
        [("majority", s, "fold") for s in range(k)] + [("majority", s, "refit") for s in (0, 1)]
    )
    assert all(t.status == "ok" for t in rows)
    # the baselines' measured time is the one phase total the timing reports for them
    assert result.timing["actual_s"]["baselines"] == pytest.approx(result.timing["baselines_s"])
    # The same run again: nothing is repeated, the baselines' rows are untouched.
    again = bakeoff(_splits(), **common)
    kept = {t.key: t.finished for t in ResultsStore(store).trials("b") if t.kind == "baseline"}
    assert kept == {t.key: t.finished for t in rows}
    assert again.timing["trials_run"] == 0 and again.timing["trials_resumed"] == k + 2


def test_selection_does_not_depend_on_the_test_labels(tmp_path):
    # The same data with the test labels permuted: every fold score (what selects) is the
    # same, only the refits' test scores can move.
    def fold_scores(splits, run):
        bakeoff(
            splits, models="cnn1d", seeds=2, budget="30s", params=1500, max_epochs=2,
            cpus_per_trial=1, baselines="majority", store=tmp_path / "runs.db", run=run,
        )
        trials = ResultsStore(tmp_path / "runs.db").trials(run)
        return {t.key: t.val_metrics for t in trials if t.role == "fold"}

    splits = _splits()
    permuted = replace(splits, test=replace(splits.test, y=splits.test.y.flip(0)))
    assert fold_scores(splits, "plain") == fold_scores(permuted, "permuted")
