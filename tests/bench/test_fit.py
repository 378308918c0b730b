"""Exponent fitting on synthetic data (no subprocesses, no timings)."""

import math

import pytest

from seqselect.bench import extrapolate, fit_exponent, local_exponent
from seqselect.bench.fit import fit_exponent_offset

LENGTHS = [128, 256, 512, 1024, 2048]


@pytest.mark.parametrize("k", [0.0, 1.0, 1.5, 2.0])
def test_power_law_slope_is_recovered(k):
    values = [3.0 * n**k for n in LENGTHS]
    assert fit_exponent(LENGTHS, values) == pytest.approx(k, abs=1e-9)
    assert local_exponent(LENGTHS, values) == pytest.approx(k, abs=1e-9)


def test_n_log_n_fits_slightly_above_one():
    values = [n * math.log(n) for n in LENGTHS]
    assert 1.05 < fit_exponent(LENGTHS, values) < 1.25


def test_linear_plus_quadratic_local_slope_approaches_two():
    values = [1000 * n + n * n for n in LENGTHS]
    assert fit_exponent(LENGTHS, values) < local_exponent(LENGTHS, values) < 2.0


def test_failed_cells_are_ignored():
    values = [n**2 for n in LENGTHS]
    values[1] = None  # e.g. a time-out
    values[3] = 0.0  # e.g. nothing measurable
    assert fit_exponent(LENGTHS, values) == pytest.approx(2.0)
    assert fit_exponent(LENGTHS, [float("nan")] * 4 + [5.0]) != fit_exponent(LENGTHS, [1.0] * 5)


def test_fewer_than_two_points_is_nan():
    assert math.isnan(fit_exponent([100], [1.0]))
    assert math.isnan(fit_exponent([100, 200], [1.0, None]))
    assert math.isnan(fit_exponent([100, 100], [1.0, 2.0]))
    assert math.isnan(local_exponent([], []))
    assert extrapolate([100], [1.0], 200) is None


def test_extrapolate_follows_the_last_two_points():
    assert extrapolate([100, 200], [10.0, 40.0], 400) == pytest.approx(160.0)


@pytest.mark.parametrize("k", [0.5, 1.0, 2.0])
def test_offset_fit_takes_the_constant_out(k):
    values = [500.0 + 0.01 * n**k for n in LENGTHS]  # a large fixed overhead
    assert fit_exponent(LENGTHS, values) < k - 0.2  # the plain slope is fooled
    assert fit_exponent_offset(LENGTHS, values) == pytest.approx(k, abs=0.01)


def test_offset_fit_needs_three_lengths():
    assert fit_exponent_offset([100, 200], [1.0, 2.0]) == pytest.approx(1.0)
    assert math.isnan(fit_exponent_offset([100], [1.0]))
