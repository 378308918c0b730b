"""Stage 5: the result rebuilt from a store reads the protocol and the test targets,
shows baselines as rows, and exports the best network at its best-validation seed."""

from __future__ import annotations

import numpy as np

from seqselect.bakeoff.records import Protocol, Trial
from seqselect.bakeoff.result import result_from_store


class _FakeStore:
    """The store's read side as result_from_store uses it (engine's SQLite store has the
    same methods: get_run, list_runs, trials, protocol, bench_cells, path)."""

    path = "fake.db"

    def __init__(self, trials, protocol, targets):
        self._trials, self._protocol, self._targets = trials, protocol, targets

    def get_run(self, name):
        return {
            "args": {"models": ["cnn1d", "lstm"], "seeds": 2, "baselines": ["minirocket"]},
            "environment": {"dataset": {"name": "d", "task": "classify"}},
            "dataset": "d", "profile": {}, "advisor": {"pick": "lstm"}, "summary": None,
        }

    def list_runs(self):
        return [{"name": "r"}]

    def trials(self, run):
        return list(self._trials)

    def protocol(self, run):
        return self._protocol, self._targets

    def bench_cells(self, run):
        return []


def _cv_trials(y):
    """cnn1d, lstm (networks) and minirocket (baseline): a fold and a refit per seed."""
    trials = []
    wrong = 1 - y
    for model, kind, fold_scores, right in (
        ("minirocket", "baseline", (0.97, 0.99), 1.0),
        ("cnn1d", "network", (0.96, 0.90), 0.95),
        ("lstm", "network", (0.70, 0.72), 0.9),
    ):
        for seed, val in enumerate(fold_scores):
            trials.append(Trial(model=model, seed=seed, status="ok", kind=kind, role="fold",
                                fold=seed, val_metrics={"accuracy": val},
                                weights=f"{model}-{seed}-fold.safetensors"))
            n_right = int(right * len(y))
            pred = np.concatenate([y[:n_right], wrong[n_right:]]).tolist()
            trials.append(Trial(model=model, seed=seed, status="ok", kind=kind, role="refit",
                                metrics={"accuracy": n_right / len(y)}, predictions=pred,
                                weights=f"{model}-{seed}.safetensors"))
    trials.append(Trial(model="cnn1d", seed=5, status="ok", role="refit",
                        metrics={"accuracy": 1.0}))  # a seed the run did not ask for
    return trials


def test_result_from_store_reads_protocol_targets_and_baselines():
    y = np.random.default_rng(0).integers(0, 2, 60)
    protocol = Protocol(kind="cv", n_folds=2, n_pool=40, n_val=20)
    result = result_from_store(_FakeStore(_cv_trials(y), protocol, y.tolist()), "r")
    assert result.protocol == protocol and result.to_dict()["protocol"]["n_folds"] == 2
    assert [r.model for r in result.leaderboard] == ["minirocket", "cnn1d", "lstm"]
    assert [r.kind for r in result.leaderboard] == ["baseline", "network", "network"]
    assert all(t.seed in (0, 1) for t in result.trials)
    winner = result.winner
    assert winner.model == "minirocket" and winner.best_network == "cnn1d"
    assert winner.runner_up == "cnn1d" and winner.comparison["n"] == 60
    assert winner.comparison["n_seeds_a"] == 2
    # A baseline is not exported: the best network is, at the seed whose fold scored best.
    assert result.exported_choice() == ("cnn1d", 0)


def test_winning_trial_is_the_refit_not_the_fold_run(tmp_path, monkeypatch):
    y = np.zeros(10, dtype=int)
    trials = _cv_trials(y)
    for trial in trials:  # the weights exist on disk
        if trial.weights:
            (tmp_path / trial.weights).write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    result = result_from_store(_FakeStore(trials, None, None), "r")
    assert result.protocol is None and result.winner.comparison is None
    chosen = result.winning_trial()
    assert (chosen.model, chosen.seed, chosen.role) == ("cnn1d", 0, "refit")
    assert chosen.weights == "cnn1d-0.safetensors"
