"""From a dataset profile to the characteristics (and ``recommend --from``)."""

from __future__ import annotations

import pytest

from seqselect.advisor import characteristics_from_profile, recommend

PROFILE = {
    "name": "demo", "task": "classify", "n_sequences": 1200, "n_train": 800, "n_val": 200,
    "n_test": 200, "length": {"min": 40, "median": 120.0, "p95": 480.4, "max": 2000},
    "n_channels": 3, "value_type": "float", "data_type": "time-series", "n_classes": 2,
    "class_balance": {"a": 0.5, "b": 0.5}, "multivariate": True,
}


def test_profile_fills_length_examples_type_and_channels():
    chars = characteristics_from_profile(PROFILE)
    assert chars == {"seq_len": 481, "n_examples": 800, "data_type": "time-series",
                     "multivariate": True}
    rec = recommend(**chars)
    assert rec.ranked


def test_profile_fallbacks():
    tokens = {"length": {"max": 64}, "n_sequences": 10, "value_type": "tokens",
              "data_type": "text"}
    assert characteristics_from_profile(tokens) == {
        "seq_len": 64, "n_examples": 10, "data_type": "text", "multivariate": False}
    chans = {"length": {}, "n_channels": 1, "data_type": "weird"}
    assert characteristics_from_profile(chans) == {"multivariate": False}


def test_profile_must_be_a_dict():
    with pytest.raises(TypeError):
        characteristics_from_profile(["not", "a", "profile"])
