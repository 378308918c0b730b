"""Multi-query associative recall (Zoology's MQAR): the generator's defining properties."""

from __future__ import annotations

import pytest
import torch

from seqselect.data import IGNORE_INDEX, load_dataset
from seqselect.data.recall import mqar, mqar_vocab_size
from seqselect.data.tasks import TASKS, describe_task
from seqselect.errors import DataError

P, Q, K, V, L = 6, 4, 10, 7, 40


def _sample(seed: int = 0, n: int = 200) -> dict:
    return mqar(n, L, seed=seed, n_pairs=P, n_queries=Q, n_keys=K, n_values=V)


def test_each_query_target_is_the_value_bound_to_its_key():
    out = _sample()
    x, y = out["x"], out["y"]
    assert x.shape == y.shape == (200, L)
    for row_x, row_y in zip(x.tolist(), y.tolist(), strict=True):
        keys, values = row_x[0 : 2 * P : 2], row_x[1 : 2 * P : 2]
        bound = dict(zip(keys, values, strict=True))
        assert len(bound) == P  # distinct keys
        assert all(1 <= k <= K for k in keys)
        assert all(K + 1 <= v <= K + V for v in values)
        scored = [t for t, target in enumerate(row_y) if target != IGNORE_INDEX]
        assert len(scored) == Q and min(scored) >= 2 * P
        asked = [row_x[t] for t in scored]
        assert len(set(asked)) == Q and set(asked) <= set(keys)  # distinct bound keys
        assert [row_y[t] for t in scored] == [bound[k] for k in asked]


def test_unscored_positions_are_ignored_and_noise_fills_the_rest():
    out = _sample(seed=3)
    x, y = out["x"], out["y"]
    scored = y != IGNORE_INDEX
    assert torch.all(scored.sum(dim=1) == Q)
    assert not scored[:, : 2 * P].any()  # the context is never scored
    tail = x[:, 2 * P :]
    assert torch.all((tail == 0) == ~scored[:, 2 * P :])  # noise exactly off the queries
    assert out["vocab_size"] == out["d_output"] == mqar_vocab_size(K, V) == 1 + K + V
    assert out["metadata"]["chance_accuracy"] == pytest.approx(1 / V)


def test_seeded_and_query_positions_spread_over_the_tail():
    a, b, c = _sample(seed=5), _sample(seed=5), _sample(seed=6)
    assert torch.equal(a["x"], b["x"]) and torch.equal(a["y"], b["y"])
    assert not torch.equal(a["x"], c["x"])
    many = mqar(4000, L, seed=1, n_pairs=P, n_queries=Q, n_keys=K, n_values=V)
    hits = (many["y"] != IGNORE_INDEX).float().sum(dim=0)[2 * P :]
    expected = 4000 * Q / (L - 2 * P)  # uniform over the tail
    assert torch.allclose(hits, torch.full_like(hits, expected), rtol=0.2)


@pytest.mark.parametrize("kwargs", [
    {"n_pairs": 4, "n_queries": 5},  # more queries than bound keys
    {"n_pairs": 12, "n_keys": 8},  # not enough distinct keys
    {"n_pairs": 10, "n_queries": 10, "length": 25},  # no room for the queries
    {"n_values": 1},
])
def test_impossible_settings_name_the_parameter(kwargs):
    params = {"length": 64, "n_pairs": 4, "n_queries": 4, "n_keys": 16, "n_values": 8,
              **kwargs}
    with pytest.raises(DataError, match="mqar"):
        mqar(3, **params)


def test_listed_and_loadable_as_a_task():
    spec = TASKS["mqar"]
    row = describe_task(spec)
    d = spec.defaults
    assert row["task"] == "per-step" and row["length"] == d["length"]
    assert row["classes"] == 1 + d["n_keys"] + d["n_values"]
    splits = load_dataset("task:mqar?n=60&length=48&n_pairs=4&n_queries=3&n_keys=8&n_values=8")
    y = splits.train.y
    assert torch.all((y != IGNORE_INDEX).sum(dim=1) == 3)
