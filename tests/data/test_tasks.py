"""Synthetic task generators: definitions, statistics, seeding, source syntax."""

from __future__ import annotations

import math

import pytest
import torch

from seqselect.data import IGNORE_INDEX, load_dataset, parse_source
from seqselect.data.tasks import (
    TASKS,
    adding_problem,
    copy_memory,
    copy_memory_baseline,
    describe_task,
    generate_task,
    selective_copy,
    seq_digits,
)
from seqselect.errors import DataError


def test_adding_definition_and_constant_predictor_mse():
    out = adding_problem(200_000, 30, seed=1)
    x, y = out["x"], out["y"]
    assert x.shape == (200_000, 30, 2) and y.shape == (200_000, 1)
    marks = x[..., 1]
    assert torch.all(marks.sum(dim=1) == 2)  # exactly two distinct marked positions
    assert torch.allclose((x[..., 0] * marks).sum(dim=1, keepdim=True), y)
    assert float(x[..., 0].min()) >= 0 and float(x[..., 0].max()) < 1
    # Predicting 1 scores Var(U1 + U2) = 1/6 (Bai et al. 2018's 0.167 baseline).
    assert abs(float(((y - 1) ** 2).mean()) - 1 / 6) < 0.003


def test_adding_positions_are_uniform():
    marks = adding_problem(50_000, 10, seed=0)["x"][..., 1]
    freq = marks.sum(dim=0) / marks.sum()
    assert torch.allclose(freq, torch.full((10,), 0.1), atol=0.01)


def test_copy_memory_layout_and_baseline_formula():
    out = copy_memory(5, 7, seed=0)
    x, y = out["x"], out["y"]
    assert x.shape == y.shape == (5, 27)  # T + 20
    digits = x[:, :10]
    assert torch.all((digits >= 1) & (digits <= 8))
    assert torch.all(x[:, 10:16] == 0)  # T - 1 blanks
    assert torch.all(x[:, 16:] == 9)  # delimiter + 10 more
    assert torch.all(y[:, :17] == 0) and torch.equal(y[:, 17:], digits)
    assert copy_memory_baseline(1000) == pytest.approx(0.0204, abs=1e-4)  # published value
    assert copy_memory_baseline(200) == pytest.approx(10 * math.log(8) / 220)
    assert out["metadata"]["baseline_cross_entropy"] == pytest.approx(10 * math.log(8) / 27)


def test_copy_memory_baseline_is_the_memoryless_cross_entropy():
    out = copy_memory(2000, 30, seed=3)
    y = out["y"]
    logits = torch.full((*y.shape, 10), -1e9)
    logits[:, :-10, 0] = 0.0  # certain blank until the answer
    logits[:, -10:, 1:9] = 0.0  # uniform over the 8 symbols
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, 10), y.reshape(-1))
    assert float(ce) == pytest.approx(copy_memory_baseline(30), rel=1e-5)


def test_selective_copy_targets_are_the_data_tokens_in_order():
    out = selective_copy(50, 64, seed=2, n_memorize=8, vocab=16)
    x, y = out["x"], out["y"]
    assert out["vocab_size"] == 17 and x.shape == y.shape == (50, 64)
    assert torch.all(x[:, -8:] == 16)  # markers
    assert torch.all(y[:, :-8] == IGNORE_INDEX)
    for row in range(50):
        data = x[row, :-8][x[row, :-8] != 0]
        assert torch.equal(data, y[row, -8:])
    assert torch.all((y[:, -8:] >= 1) & (y[:, -8:] <= 15))


def test_digits_are_sklearn_8x8_and_permutation_is_fixed():
    plain = seq_digits()
    assert plain["x"].shape == (1797, 64, 1) and float(plain["x"].max()) <= 1.0
    a = seq_digits(permute=True, seed=1)
    b = seq_digits(permute=True, seed=2)
    assert torch.equal(a["x"], b["x"])  # the permutation depends on perm_seed only
    perm = a["metadata"]["permutation"]
    assert torch.equal(a["x"][:, :, 0], plain["x"][:, perm, 0])


def test_same_seed_same_data_and_different_seed_differs():
    a = load_dataset("task:adding?length=20&n=50", seed=3)
    b = load_dataset("task:adding?length=20&n=50", seed=3)
    c = load_dataset("task:adding?length=20&n=50", seed=4)
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.test.y, b.test.y)
    assert not torch.equal(a.train.x, c.train.x)


@pytest.mark.parametrize(
    ("source", "model_task", "d_output"),
    [
        ("task:adding?length=16&n=40", "regress", 1),
        ("task:copy_memory?length=5&n=40", "per_step", 10),
        ("task:selective-copy?length=40&n=40&n_memorize=4", "per_step", 17),
        ("task:listops?length=60&min_length=10&n=40", "classify", 10),
        ("task:seq_digits?n=100", "classify", 10),
        ("task:pseq_digits?n=100", "classify", 10),
    ],
)
def test_every_task_loads_through_load_dataset(source, model_task, d_output):
    s = load_dataset(source)
    assert s.model_task == model_task and s.d_output == d_output
    assert len(s.train) + len(s.val) + len(s.test) in (40, 100)
    assert (s.d_input is None) != (s.vocab_size is None)
    assert s.metadata["params"]["seed"] == 0


def test_task_source_errors():
    with pytest.raises(DataError, match="Did you mean task:adding"):
        load_dataset("task:addng")
    with pytest.raises(DataError, match="takes no parameter 'lenght'"):
        load_dataset("task:adding?lenght=5")
    with pytest.raises(DataError, match="not a valid number"):
        load_dataset("task:adding?length=abc")
    with pytest.raises(DataError, match="regress dataset"):
        load_dataset("task:adding?n=30&length=5", task="classify")


def test_parse_source():
    assert parse_source("task:adding?length=600") == ("task", "adding", {"length": "600"})
    assert parse_source("UCR:GunPoint") == ("ucr", "GunPoint", {})
    assert parse_source("uea:BasicMotions") == ("ucr", "BasicMotions", {})
    assert parse_source("forecast:Airline?horizon=12&window=36") == (
        "forecast", "Airline", {"horizon": "12", "window": "36"})
    assert parse_source("data/x.csv") == ("file", "data/x.csv", {})
    assert parse_source("x.csv?horizon=3") == ("file", "x.csv", {"horizon": "3"})


# What `seqselect datasets --json` listed for the tasks before their facts moved onto
# TaskSpec (name -> task, length, channels, classes, n_train, n_test).
LISTED_BEFORE = {
    "adding": ("regress", 200, 2, None, 1300, 400),
    "copy_memory": ("per-step", 220, None, 10, 1300, 400),
    "selective_copy": ("per-step", 256, None, 17, 1300, 400),
    "listops": ("classify", 2000, None, 10, 650, 200),
    "seq_digits": ("classify", 64, 1, 10, 1168, 359),
    "pseq_digits": ("classify", 64, 1, 10, 1168, 359),
}


@pytest.mark.parametrize("name", list(LISTED_BEFORE))
def test_task_spec_facts_give_the_listing_of_before(name):
    row = describe_task(TASKS[name])
    keys = ("task", "length", "channels", "classes", "n_train", "n_test")
    assert tuple(row[k] for k in keys) == LISTED_BEFORE[name]
    assert row["name"] == f"task:{name}" and row["kind"] == "synthetic"


@pytest.mark.parametrize("name", list(LISTED_BEFORE))
def test_task_spec_facts_match_what_the_generator_returns(name):
    spec = TASKS[name]
    params = {"n": 24, "length": 64} if "length" in spec.defaults else {}
    if name == "listops":
        params = {"n": 4, "length": 60, "min_length": 10, "max_depth": 4}
    _, used, result = generate_task(name, {k: str(v) for k, v in params.items()})
    assert result["task"] == spec.task
    assert result["model_task"] == spec.model_task
    assert result.get("d_input") == spec.channels
    assert result["d_output"] == (spec.classes_at(used) or 1)
    if name != "listops":  # ListOps pads to the longest expression drawn
        assert result["x"].shape[1] == spec.length_at(used)
