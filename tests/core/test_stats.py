"""seqselect.stats: paired bootstrap, McNemar's test, cross-validation folds."""

import numpy as np
import pytest
from scipy import stats as scipy_stats
from sklearn.metrics import f1_score

from seqselect.errors import SeqSelectError
from seqselect.stats import (
    PairedComparison,
    mcnemar,
    metric_value,
    paired_bootstrap,
    paired_loss_bootstrap,
    stratified_folds,
)


def _classes(n=200, seed=0, accuracy=0.8, k=3):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    wrong = rng.random(n) > accuracy
    pred = np.where(wrong, (y + 1 + rng.integers(0, k - 1, n)) % k, y)
    return y, pred


def test_mcnemar_matches_scipys_exact_binomial_by_hand():
    y = np.zeros(20, dtype=int)
    a = np.zeros(20, dtype=int)
    b = np.zeros(20, dtype=int)
    a[:2] = 1  # a wrong on 2 that b gets right
    b[2:10] = 1  # b wrong on 8 that a gets right
    a[10:12] = b[10:12] = 1  # both wrong on 2: not discordant
    result = mcnemar(y, a, b)
    assert (result.a_only, result.b_only) == (8, 2)
    assert result.method == "exact binomial"
    assert result.p_value == pytest.approx(scipy_stats.binomtest(8, 10, 0.5).pvalue)
    by_hand = 2 * sum(scipy_stats.binom.pmf(k, 10, 0.5) for k in range(3))  # P(<= 2 of 10) x 2
    assert result.p_value == pytest.approx(by_hand)


def test_mcnemar_uses_the_corrected_chi_square_for_many_discordant_pairs():
    y = np.zeros(100, dtype=int)
    a, b = np.zeros(100, dtype=int), np.zeros(100, dtype=int)
    a[:10] = 1
    b[10:40] = 1  # a_only = 30, b_only = 10
    result = mcnemar(y, a, b)
    assert result.statistic == pytest.approx((abs(30 - 10) - 1) ** 2 / 40)
    assert result.p_value == pytest.approx(scipy_stats.chi2.sf(361 / 40, 1))
    assert mcnemar(y, a, a).p_value == 1.0


def test_identical_predictions_give_exactly_zero_and_a_tie():
    y, pred = _classes()
    for metric in ("accuracy", "macro_f1"):
        cmp = paired_bootstrap(metric, y, pred, pred.copy(), n_boot=300)
        assert (cmp.difference, cmp.ci_low, cmp.ci_high) == (0.0, 0.0, 0.0)
        assert cmp.tied and cmp.p_value == 1.0
    values = np.random.default_rng(1).normal(size=(50, 3))
    cmp = paired_bootstrap("mse", values, values + 1, values + 1, n_boot=300)
    assert (cmp.ci_low, cmp.ci_high, cmp.tied) == (0.0, 0.0, True)


def test_a_clearly_better_model_excludes_zero_and_gets_a_small_p():
    y, good = _classes(accuracy=0.95, seed=2)
    bad = np.where(np.random.default_rng(4).random(len(y)) < 0.6, y, (y + 1) % 3)
    cmp = paired_bootstrap("accuracy", y, good, bad, n_boot=1000)
    assert cmp.difference > 0 and cmp.ci_low > 0 and not cmp.tied
    assert cmp.p_value < 1e-4
    reverse = paired_bootstrap("accuracy", y, bad, good, n_boot=1000)
    assert reverse.ci_high < 0 and reverse.difference == pytest.approx(-cmp.difference)


def test_errors_are_oriented_so_that_positive_means_a_is_better():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(100, 2))
    close, far = y + rng.normal(0, 0.1, y.shape), y + rng.normal(0, 1.0, y.shape)
    for metric in ("mse", "mae"):
        cmp = paired_bootstrap(metric, y, close, far, n_boot=500)
        assert cmp.value_a < cmp.value_b
        assert cmp.difference == pytest.approx(cmp.value_b - cmp.value_a) and cmp.ci_low > 0


def test_the_same_seed_gives_the_same_interval_and_another_seed_another():
    y, a = _classes(seed=5)
    _, b = _classes(seed=6)
    first = paired_bootstrap("macro_f1", y, a, b, seed=7, n_boot=400)
    assert paired_bootstrap("macro_f1", y, a, b, seed=7, n_boot=400) == first
    other = paired_bootstrap("macro_f1", y, a, b, seed=8, n_boot=400)
    assert (other.ci_low, other.ci_high) != (first.ci_low, first.ci_high)
    assert PairedComparison.from_dict(first.to_dict()) == first


def test_metrics_agree_with_scikit_learn_and_average_over_seeds():
    y, a = _classes(k=4, seed=9)
    _, b = _classes(k=4, seed=10)
    assert metric_value("macro_f1", y, a) == pytest.approx(f1_score(y, a, average="macro"))
    assert metric_value("accuracy", y, np.stack([a, b])) == pytest.approx(
        ((a == y).mean() + (b == y).mean()) / 2
    )


def test_seed_spread_widens_the_interval():
    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, 300)
    base = np.where(rng.random(300) < 0.8, y, 1 - y)
    steady = np.stack([base] * 5)  # (S, N): five seeds that agree
    noisy = np.stack([np.where(rng.random(300) < 0.8, y, 1 - y) for _ in range(5)])
    reference = np.where(rng.random(300) < 0.8, y, 1 - y)
    one = paired_bootstrap("accuracy", y, base, reference, n_boot=800)
    many = paired_bootstrap("accuracy", y, noisy, reference, n_boot=800)
    same = paired_bootstrap("accuracy", y, steady, reference, n_boot=800)
    assert same.ci_high - same.ci_low == pytest.approx(one.ci_high - one.ci_low)
    assert many.n_seeds_a == 5 and "bootstrap" in many.method
    # Averaging five independent seeds cancels their disagreements: a narrower interval
    # than one seed's, which is the point of running several.
    assert many.ci_high - many.ci_low < one.ci_high - one.ci_low


def test_mase_needs_a_scale_and_divides_each_example_by_it():
    y = np.zeros((3, 2))
    pred = np.array([[1.0, 1.0], [2.0, 2.0], [4.0, 4.0]])
    assert metric_value("mase", y, pred, scale=[1.0, 2.0, 4.0]) == pytest.approx(1.0)
    with pytest.raises(SeqSelectError, match="scale"):
        paired_bootstrap("mase", y, pred, pred)
    cmp = paired_bootstrap("mase", y, pred, 2 * pred, scale=[1.0, 2.0, 4.0], n_boot=200)
    assert cmp.difference == pytest.approx(1.0)


def test_bad_shapes_and_metrics_are_refused():
    y, a = _classes(n=10)
    with pytest.raises(SeqSelectError, match="N = 10"):
        paired_bootstrap("accuracy", y, a[:5], a)
    with pytest.raises(SeqSelectError, match="unknown metric"):
        paired_bootstrap("auc", y, a, a)


def test_stratified_folds_cover_every_example_once_and_keep_classes():
    y = np.array([0] * 12 + [1] * 8)
    folds = stratified_folds(y, k=4, seed=0)
    assert len(folds) == 4
    held_out = np.sort(np.concatenate([val for _, val in folds]))
    assert held_out.tolist() == list(range(20))
    for train, val in folds:
        assert set(train) & set(val) == set()
        assert (y[val] == 1).sum() == 2 and (y[val] == 0).sum() == 3
    assert [v.tolist() for _, v in stratified_folds(y, 4, 0)] == [v.tolist() for _, v in folds]


def test_folds_drop_to_the_rarest_class_and_use_kfold_for_regression():
    y = np.array([0] * 10 + [1] * 3)
    assert len(stratified_folds(y, k=5)) == 3
    assert all(set(y[val]) == {0, 1} for _, val in stratified_folds(y, k=5))
    real = np.linspace(0, 1, 7)
    folds = stratified_folds(real, k=5)
    assert len(folds) == 5
    assert sorted(np.concatenate([v for _, v in folds]).tolist()) == list(range(7))
    assert len(stratified_folds(np.array([0, 0, 0, 1]), k=3)) == 3  # one member: KFold
    with pytest.raises(SeqSelectError):
        stratified_folds([1], k=3)


def test_paired_losses_known_answers():
    rng = np.random.default_rng(0)
    a = rng.exponential(0.3, size=40)
    same = paired_loss_bootstrap(a, a)
    assert same.difference == 0.0 and same.ci_low == same.ci_high == 0.0 and same.tied
    # b is worse by exactly 0.5 on every example: no resample can say otherwise.
    worse = paired_loss_bootstrap(a, a + 0.5)
    assert worse.difference == pytest.approx(0.5) and not worse.tied
    assert worse.ci_low == pytest.approx(0.5) and worse.ci_high == pytest.approx(0.5)
    assert worse.value_a == pytest.approx(a.mean()) and worse.n == 40


def test_paired_losses_interval_matches_the_normal_theory_and_is_seeded():
    rng = np.random.default_rng(1)
    a = rng.exponential(0.3, size=400)
    b = a + rng.normal(0.05, 0.2, size=400)  # b worse by 0.05 on average, paired noise
    cmp = paired_loss_bootstrap(a, b, n_boot=4000, seed=3)
    gain = b - a
    half = 1.96 * gain.std(ddof=1) / np.sqrt(len(gain))  # the t interval, for large N
    assert cmp.difference == pytest.approx(gain.mean())
    assert cmp.ci_low == pytest.approx(gain.mean() - half, abs=0.006)
    assert cmp.ci_high == pytest.approx(gain.mean() + half, abs=0.006)
    assert paired_loss_bootstrap(a, b, n_boot=4000, seed=3) == cmp
    # Swapping the models flips the sign and the interval.
    flipped = paired_loss_bootstrap(b, a, n_boot=4000, seed=3)
    assert flipped.difference == pytest.approx(-cmp.difference)


def test_paired_losses_need_the_same_examples():
    with pytest.raises(SeqSelectError, match="same examples"):
        paired_loss_bootstrap([0.1, 0.2], [0.1])
    with pytest.raises(SeqSelectError, match="same examples"):
        paired_loss_bootstrap([], [])
