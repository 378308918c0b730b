"""The baselines' share of the budget: fits stop at BASELINE_SHARE of it, a fit whose
estimate is over what is left is stored as a skipped trial with the reason, and the floor
(majority class) always runs.

The share is wall time, so these tests run on a fake clock: the modules that time
baselines read :class:`_Clock`, and the stand-in MiniRocket advances it by what its fit
would cost, so a busy machine cannot change which fits run."""

from __future__ import annotations

import re
import types

import numpy as np
from tests.bakeoff.test_baseline_trials import _part  # two-class noisy ramps

from seqselect.bakeoff import ResultsStore, baseline_trials
from seqselect.bakeoff import run as bakeoff_run
from seqselect.bakeoff.baseline_trials import PROBE_MIN_TRAIN
from seqselect.bakeoff.plan import BakeoffRequest, make_plan
from seqselect.bakeoff.run import BASELINE_SHARE, run_baselines
from seqselect.baselines import registry
from seqselect.baselines import run as baselines_run
from seqselect.data.types import DatasetSplits, SequenceData


def _splits(n_train: int, n_val: int, n_test: int) -> DatasetSplits:
    return DatasetSplits(
        name="ramps", task="classify", model_task="classify", train=_part(n_train, 0),
        val=_part(n_val, 1), test=_part(n_test, 2), d_output=2, d_input=1,
        class_names=["down", "up"],
    )


class _Clock:
    """``time.perf_counter`` for the modules that time baselines: it stands still except
    when a fake fit says it took ``seconds``."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class _Sleepy:
    """A baseline whose fit takes ``per_fit`` plus ``per_example`` per training sequence
    on ``clock`` (a real one's cost grows with its data); ``sizes`` records what each fit
    was given."""

    def __init__(self, per_fit: float, per_example: float, sizes: list[int],
                 clock: _Clock) -> None:
        self.per_fit, self.per_example, self.sizes, self.clock = per_fit, per_example, sizes, clock

    def fit(self, train: SequenceData) -> _Sleepy:
        self.sizes.append(len(train))
        self.clock.advance(self.per_fit + self.per_example * len(train))
        return self

    def predict(self, data: SequenceData) -> np.ndarray:
        return np.zeros(len(data), dtype=np.int64)


def _slow_minirocket(monkeypatch, per_fit: float = 0.0, per_example: float = 0.0) -> list[int]:
    """Make the registry's minirocket entry a :class:`_Sleepy` (its card kept), timed on
    a fake clock by every module that times baselines."""
    sizes: list[int] = []
    clock = _Clock()
    for module in (bakeoff_run, baseline_trials, baselines_run):
        monkeypatch.setattr(module, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
    card = registry.baseline_card("minirocket")
    entry = registry._Entry(card, lambda seed: _Sleepy(per_fit, per_example, sizes, clock))
    monkeypatch.setitem(registry._REGISTRY, "minirocket", entry)
    return sizes


def _run(tmp_path, splits: DatasetSplits, budget: str, trim: bool = True):
    plan = make_plan(splits, BakeoffRequest(
        budget=budget, models="cnn1d", seeds=3, params=1500, baselines="majority,minirocket",
    ))
    db = ResultsStore(tmp_path / "runs.db")
    db.create_run("r", dataset=splits.name, args=plan.args, profile={}, advisor={},
                  environment={})
    seconds = run_baselines(db, "r", plan, set(), None, trim=trim)
    trials = [t for t in db.trials("r") if t.kind == "baseline"]
    return seconds, {m: [t for t in trials if t.model == m] for m in ("majority", "minirocket")}


def _skip_reasons(trials) -> list[str]:
    skipped = [t for t in trials if (t.extra or {}).get("skipped")]
    assert all(t.status == "failed" and t.error.startswith("skipped: ") for t in skipped)
    return [t.error for t in skipped]


def test_a_slow_baseline_stops_within_the_share_and_says_why(tmp_path, monkeypatch):
    _slow_minirocket(monkeypatch, per_fit=0.25)
    share = BASELINE_SHARE * 6
    seconds, trials = _run(tmp_path, _splits(60, 14, 20), "6s")
    # 3-fold cv, 3 seeds: the first group (every fold, then seed 0's refit) runs
    # unestimated (small data: no probe) and takes 1.0 s of the 1.2 s share (4 fits of
    # 0.25 s): no later refit fits in the 0.2 s left
    assert all(t.status == "ok" for t in trials["majority"]) and len(trials["majority"]) == 6
    fitted = [t for t in trials["minirocket"] if t.status == "ok"]
    reasons = _skip_reasons(trials["minirocket"])
    assert len(fitted) == 4 and len(reasons) == 2
    assert all(f"share of {share:.1f} s" in r for r in reasons)
    pattern = r"would take ~\d\.\d s \(1 refit of seed [12]\), over the 0\.2 s left"
    assert all(re.search(pattern, r) for r in reasons), reasons
    # a cut keeps a whole validation: every fold, and seed 0's refit
    assert {(t.seed, t.role) for t in fitted} == {
        *((s, "fold") for s in range(3)), (0, "refit"),
    }


def test_a_probe_skips_a_fit_too_long_for_the_share_before_it_runs(tmp_path, monkeypatch):
    # hold-out (300+ training, 50+ validation sequences): a full fit sleeps 1.3 s, the
    # share is 1 s, and the probes (16, 16 and 32 sequences) say so for 0.3 s
    n_train = 320
    assert n_train >= PROBE_MIN_TRAIN
    sizes = _slow_minirocket(monkeypatch, per_example=0.004)
    seconds, trials = _run(tmp_path, _splits(n_train, 60, 40), "5s")
    # warmed up on 8 sequences (outside the share), probed once, never fitted
    assert sizes == [8, 16, 16, 32]
    reasons = _skip_reasons(trials["minirocket"])
    assert len(reasons) == 3 == len(trials["minirocket"])
    estimate = float(re.search(r"would take ~([\d.]+) s \(1 trial of seed 0\)", reasons[0])[1])
    assert estimate > BASELINE_SHARE * 5  # over the share: why it was skipped
    assert all(t.status == "ok" for t in trials["majority"])


def test_the_floor_runs_when_nothing_is_left_of_the_share(tmp_path, monkeypatch):
    sizes = _slow_minirocket(monkeypatch, per_fit=0.01)
    monkeypatch.setattr(bakeoff_run, "BASELINE_SHARE", 0.0)
    _, trials = _run(tmp_path, _splits(60, 14, 20), "6s")
    assert len(trials["majority"]) == 6 and all(t.status == "ok" for t in trials["majority"])
    reasons = _skip_reasons(trials["minirocket"])
    assert len(reasons) == 6 and sizes == [8]  # the warm-up only, never a fit
    assert all("share of 0.0 s (0% of the budget) is spent" in r for r in reasons)


def test_untrimmed_every_baseline_seed_is_fitted_whatever_the_share(tmp_path, monkeypatch):
    # trim_to_budget=False keeps every seed: a spent share cuts no baseline (the
    # bake-off tests that count seeds rely on it on a busy machine)
    sizes = _slow_minirocket(monkeypatch, per_fit=0.01)
    monkeypatch.setattr(bakeoff_run, "BASELINE_SHARE", 0.0)
    _, trials = _run(tmp_path, _splits(60, 14, 20), "6s", trim=False)
    assert len(trials["minirocket"]) == 6
    assert all(t.status == "ok" for t in trials["minirocket"])
    assert sizes[0] == 8 and len(sizes) == 7  # the warm-up, then all six fits


def test_the_leaderboard_shows_why_a_baseline_was_cut(tmp_path, monkeypatch):
    from seqselect.bakeoff import bakeoff

    _slow_minirocket(monkeypatch, per_fit=0.5)
    # 2.4 s of 20 s: the 3 folds and seed 0's refit (2.0 s), not seed 1's refit (0.4 s
    # left: its estimate is over). The budget is trimmed as a user's is
    # (trim_to_budget=False would fit every baseline), and is large enough that both
    # network seeds stay; one epoch each ends them early.
    monkeypatch.setattr(bakeoff_run, "BASELINE_SHARE", 0.12)
    result = bakeoff(
        _splits(60, 14, 20), models="cnn1d", seeds=2, budget="20s", params=1500, max_epochs=1,
        cpus_per_trial=1, baselines="majority,minirocket", store=tmp_path / "runs.db",
        run="cut",
    )
    rows = {row.model: row for row in result.leaderboard}
    assert rows["majority"].status == "ok" and not rows["majority"].errors
    assert rows["minirocket"].n_seeds == 1 and rows["minirocket"].n_failed == 1
    assert rows["minirocket"].n_val == 3
    assert any(e.startswith("skipped: ") for e in rows["minirocket"].errors)
