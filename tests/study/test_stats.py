"""The study summary's statistics against known answers and scipy itself."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from seqselect.study.stats import critical_difference_png, holm, rank_row, summarize


def test_rank_row_averages_ties_and_follows_the_direction():
    assert rank_row({"a": 0.9, "b": 0.8, "c": 0.8}, higher=True) == {"a": 1.0, "b": 2.5, "c": 2.5}
    assert rank_row({"a": 0.9, "b": 0.8}, higher=False) == {"a": 2.0, "b": 1.0}


def test_holm_known_answer():
    # sorted: 0.01*3 = 0.03; 0.03*2 = 0.06; 0.04*1 = 0.04 -> kept monotone at 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_summary_counts_and_wilcoxon_match_scipy():
    rng = np.random.default_rng(0)
    datasets = [f"d{i}" for i in range(8)]
    a = rng.uniform(0.6, 0.9, 8)
    b = a - rng.uniform(0.01, 0.1, 8)
    b[0] = a[0]  # one tie
    c = rng.uniform(0.3, 0.5, 8)
    scores = {d: {"a": a[i], "b": b[i], "c": c[i]} for i, d in enumerate(datasets)}
    s = summarize(scores, "accuracy", True)
    assert s.models[0] == "a" and s.models[-1] == "c"
    ab = next(p for p in s.pairs if (p.a, p.b) == ("a", "b"))
    assert (ab.wins, ab.ties, ab.losses, ab.n) == (7, 1, 0, 8)
    expected = stats.wilcoxon(a, b, zero_method="zsplit").pvalue
    assert ab.p == pytest.approx(expected)
    ps = [p.p for p in s.pairs]
    assert [p.p_holm for p in s.pairs] == pytest.approx(holm(ps))
    assert s.mean_rank["c"] == pytest.approx(3.0)


def test_models_missing_a_dataset_are_compared_where_present():
    scores = {"d1": {"a": 0.9, "b": 0.8}, "d2": {"a": 0.7, "b": 0.75}, "d3": {"a": 0.6}}
    s = summarize(scores, "accuracy", True)
    assert s.datasets == ["d1", "d2"]  # every model has a score on these
    (pair,) = s.pairs
    assert (pair.wins, pair.losses, pair.n) == (1, 1, 2)


def test_critical_difference_diagram_is_a_png_from_aeon():
    scores = {f"d{i}": {"a": 0.9 - i / 100, "b": 0.8, "c": 0.5} for i in range(4)}
    png = critical_difference_png(summarize(scores, "accuracy", True))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    one = {"d": {"a": 1.0, "b": 0.5, "c": 0.2}}
    assert critical_difference_png(summarize(one, "accuracy", True)) is None  # 1 dataset
    two = {f"d{i}": {"a": 1.0, "b": 0.5} for i in range(3)}
    assert critical_difference_png(summarize(two, "accuracy", True)) is None  # 2 models


def test_when_no_dataset_has_every_model_the_common_models_are_ranked():
    """Auto shortlists differ by dataset: the models every dataset has are ranked on all
    of them; a model missing somewhere keeps its pairwise counts, with no rank."""
    scores = {"d1": {"a": 0.9, "b": 0.8, "x": 0.7}, "d2": {"a": 0.7, "b": 0.75, "y": 0.1},
              "d3": {"a": 0.6, "b": 0.5, "c": 0.4}}
    s = summarize(scores, "accuracy", True)
    assert s.datasets == ["d1", "d2", "d3"]
    assert s.mean_rank["a"] == pytest.approx((1 + 2 + 1) / 3)
    assert s.mean_rank["b"] == pytest.approx((2 + 1 + 2) / 3)
    assert all(math.isnan(s.mean_rank[m]) for m in ("c", "x", "y"))
    assert s.models[:2] == ["a", "b"]
    assert critical_difference_png(s) is None  # two ranked models: no Friedman test
