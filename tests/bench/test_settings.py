"""BenchSettings: one configuration for every cell of a run."""

import dataclasses

import pytest

from seqselect.bench.settings import BenchSettings


def test_defaults_are_the_documented_ones():
    s = BenchSettings()
    assert (s.batch, s.params, s.repeats, s.warmup, s.timeout_s) == (8, 100_000, 5, 2, 300.0)
    assert s.memory_check and s.count_flops and not s.causal


def test_settings_are_frozen_and_round_trip():
    s = BenchSettings(batch=2, params=None, threads=1, memory_limit_mb=16.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.batch = 3
    assert BenchSettings.from_dict(s.to_dict()) == s


def test_an_unknown_setting_raises():
    with pytest.raises(TypeError):
        BenchSettings(repeat=3)
