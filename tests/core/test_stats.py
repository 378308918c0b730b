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


def _example_only_interval(err_a, err_b, *, n_boot, seed, confidence=0.95):
    """The interval of the old, example-only paired bootstrap, by hand: every seed kept
    in every resample (its errors averaged per example), only the examples drawn. It
    draws the examples as paired_bootstrap does (one chunk: n_boot <= 256)."""
    idx = np.random.default_rng(seed).integers(0, err_a.shape[1], size=(n_boot, err_a.shape[1]))
    diffs = err_b.mean(axis=0)[idx].mean(axis=1) - err_a.mean(axis=0)[idx].mean(axis=1)
    alpha = 1 - confidence
    return tuple(np.quantile(diffs, [alpha / 2, 1 - alpha / 2]))


def test_one_seed_is_the_ordinary_paired_bootstrap_and_so_are_identical_seeds():
    rng = np.random.default_rng(11)
    y = rng.normal(size=(120, 1))
    a, b = y + rng.normal(0, 0.3, y.shape), y + rng.normal(0, 0.4, y.shape)
    one = paired_bootstrap("mae", y, a, b, n_boot=200, seed=4)
    by_hand = _example_only_interval(np.abs(a - y).T, np.abs(b - y).T, n_boot=200, seed=4)
    assert (one.ci_low, one.ci_high) == pytest.approx(by_hand, abs=1e-12)
    assert (one.n_seeds_a, one.n_seeds_b) == (1, 1)
    # Seeds whose predictions agree add no spread: the same interval as one seed.
    copies = paired_bootstrap("mae", y, np.stack([a] * 4), np.stack([b] * 3), n_boot=200, seed=4)
    assert (copies.ci_low, copies.ci_high) == pytest.approx((one.ci_low, one.ci_high))
    assert (copies.n_seeds_a, copies.n_seeds_b) == (4, 3)
    assert "two-level paired bootstrap" in copies.method


def test_identical_models_with_several_seeds_are_tied_around_zero():
    rng = np.random.default_rng(12)
    y = rng.integers(0, 3, 150)
    seeds = np.stack([np.where(rng.random(150) < 0.8, y, (y + 1) % 3) for _ in range(4)])
    for metric in ("accuracy", "macro_f1"):
        cmp = paired_bootstrap(metric, y, seeds, seeds.copy(), n_boot=500)
        assert cmp.difference == 0.0 and cmp.tied
        # Each model's seeds are drawn on their own, so the interval has width, around 0.
        assert cmp.ci_low < 0 < cmp.ci_high
        assert cmp.ci_low == pytest.approx(-cmp.ci_high, abs=0.01)


def test_a_constant_shift_is_the_whole_interval():
    rng = np.random.default_rng(13)
    y = np.zeros((90, 2))
    a = np.abs(rng.normal(0, 1, y.shape))  # varied errors per example
    # b errs by exactly 0.5 more on every example and output, for every seed of each.
    cmp = paired_bootstrap("mae", y, np.stack([a] * 3), np.stack([a + 0.5] * 2), n_boot=300)
    assert cmp.difference == pytest.approx(0.5)
    assert cmp.ci_low == pytest.approx(0.5) and cmp.ci_high == pytest.approx(0.5)
    assert not cmp.tied


def test_seed_spread_is_counted_where_the_example_only_interval_missed_it():
    # Five seeds of a that disagree by up to 0.8 in their mean error, each with tiny
    # example noise; b is steady. Resampling examples alone sees none of that spread.
    rng = np.random.default_rng(14)
    n = 300
    y = np.zeros((n, 1))
    offsets = np.array([-0.4, -0.2, 0.0, 0.2, 0.4])
    a = np.stack([1.0 + o + rng.normal(0, 0.001, y.shape) for o in offsets])  # (5, N, 1)
    b = np.stack([1.0 + rng.normal(0, 0.001, y.shape) for _ in offsets])
    new = paired_bootstrap("mae", y, a, b, n_boot=256, seed=0)
    old = _example_only_interval(np.abs(a[..., 0]), np.abs(b[..., 0]), n_boot=256, seed=0)
    assert old[1] - old[0] < 0.001
    # The mean of 5 seeds drawn from these offsets has a std of sqrt(0.08 / 5) = 0.126:
    # a 95% interval about 0.5 wide.
    assert 0.35 < new.ci_high - new.ci_low < 0.6
    assert new.ci_low < new.difference < new.ci_high and new.tied


def test_seeded_determinism_with_several_seeds():
    rng = np.random.default_rng(15)
    y = rng.integers(0, 2, 100)
    a = np.stack([np.where(rng.random(100) < 0.8, y, 1 - y) for _ in range(3)])
    b = np.stack([np.where(rng.random(100) < 0.7, y, 1 - y) for _ in range(2)])
    first = paired_bootstrap("accuracy", y, a, b, seed=2, n_boot=400)
    assert paired_bootstrap("accuracy", y, a, b, seed=2, n_boot=400) == first
    other = paired_bootstrap("accuracy", y, a, b, seed=3, n_boot=400)
    assert (other.ci_low, other.ci_high) != (first.ci_low, first.ci_high)
    assert "McNemar" not in first.method  # several seeds: the bootstrap's own p


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


def test_paired_losses_with_one_group_are_the_ordinary_bootstrap():
    rng = np.random.default_rng(2)
    a = rng.exponential(0.3, size=60)
    b = a + rng.normal(0.05, 0.2, size=60)
    plain = paired_loss_bootstrap(a, b, seed=5)
    grouped = paired_loss_bootstrap(a, b, groups=np.zeros(60), seed=5)
    assert (grouped.ci_low, grouped.ci_high) == (plain.ci_low, plain.ci_high)
    assert grouped.n_seeds_a == plain.n_seeds_a == 1


def test_paired_losses_draw_fold_blocks_and_count_their_spread():
    # Four seeds' folds of 50 sequences: the gain differs by fold (0.05 to 0.35), with
    # tiny noise within a fold. Pooled, 200 sequences look like a precise 0.2.
    rng = np.random.default_rng(3)
    a = rng.exponential(0.3, size=200)
    blocks = np.repeat(np.arange(4), 50)
    b = a + np.array([0.05, 0.15, 0.25, 0.35])[blocks] + rng.normal(0, 0.001, 200)
    pooled = paired_loss_bootstrap(a, b, seed=1)
    folds = paired_loss_bootstrap(a, b, groups=blocks, seed=1)
    assert folds.difference == pytest.approx(pooled.difference) == pytest.approx(0.2, abs=1e-3)
    assert (folds.n_seeds_a, folds.n_seeds_b, pooled.n_seeds_a) == (4, 4, 1)
    # The mean of 4 fold gains drawn from these has a std of sqrt(0.0125 / 4) = 0.056
    # (an interval about 0.2 wide); pooled, 0.112 / sqrt(200) = 0.008 (about 0.03).
    width, pooled_width = folds.ci_high - folds.ci_low, pooled.ci_high - pooled.ci_low
    assert width > 0.15 and width > 5 * pooled_width
    assert paired_loss_bootstrap(a, b, groups=blocks, seed=1) == folds
    # A constant shift on every sequence is the whole interval, however blocks are drawn.
    shifted = paired_loss_bootstrap(a, a + 0.5, groups=blocks)
    assert shifted.ci_low == pytest.approx(0.5) and shifted.ci_high == pytest.approx(0.5)
    with pytest.raises(SeqSelectError, match="groups"):
        paired_loss_bootstrap(a, b, groups=blocks[:10])


def test_per_step_accuracy_scores_each_sequence_on_its_scored_steps_only():
    from seqselect.data.types import IGNORE_INDEX
    from seqselect.resampled_metrics import IGNORE_INDEX as METRICS_IGNORE

    assert METRICS_IGNORE == IGNORE_INDEX  # one meaning of "no target here"
    rng = np.random.default_rng(0)
    n, length = 60, 12
    y = np.full((n, length), IGNORE_INDEX)
    y[:, -4:] = rng.integers(0, 5, size=(n, 4))  # 4 scored steps per sequence (copy tasks)
    a = np.where(y == IGNORE_INDEX, 3, y)  # right on every scored step
    b = a.copy()
    b[:, -1] = (b[:, -1] + 1) % 5  # wrong on one of the four: accuracy 0.75
    b[:, 0] = 4  # changes on unscored steps count for nothing
    cmp = paired_bootstrap("accuracy", y, a[None], b[None], seed=0)
    assert cmp.difference == pytest.approx(0.25) and cmp.ci_low == pytest.approx(0.25)
    assert not cmp.tied and cmp.n == n
    with pytest.raises(SeqSelectError, match="accuracy only"):
        paired_bootstrap("macro_f1", y, a[None], b[None], seed=0)
