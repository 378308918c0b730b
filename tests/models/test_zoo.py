"""The contract every model of the zoo keeps (DESIGN.md "Public surface").

Parametrized over the registry, so a model registered later gets every test for free:
cards with the public fields and well-formed values that match the built model, shapes
for all tasks and both input kinds, finite gradients, causality, padding invariance,
step == forward, parameter matching, L = 1, and input validation; then the state space
families again in float64 (exact step, causality, padding) and their config checks.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
import torch

import seqselect
from seqselect.models import (
    ModelCard,
    count_parameters,
    create_model,
    list_models,
    model_card,
)

MODELS = list_models()
CAUSAL = [m for m in MODELS if model_card(m).causal]
STREAMING = [m for m in MODELS if model_card(m).streaming]
# Small and fast, and a width every family accepts (divisible by the default head counts).
SMALL = {"d_model": 16}
B, L, C, O, V = 3, 12, 3, 5, 11
F64 = {"atol": 1e-6, "rtol": 1e-6}


def build(name: str, **kwargs) -> torch.nn.Module:
    torch.manual_seed(0)
    kwargs.setdefault("d_output", O)
    if "vocab_size" not in kwargs:
        kwargs.setdefault("d_input", C)
    return create_model(name, **SMALL, **kwargs).eval()


def inputs(tokens: bool, batch: int = B, length: int = L) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    if tokens:
        return torch.randint(0, V, (batch, length), generator=g)
    return torch.randn(batch, length, C, generator=g)


def test_public_surface_lists_every_family():
    required = {"rnn", "lstm", "gru", "bilstm", "cnn1d", "transformer", "tcn", "longformer",
                "bigbird", "linformer", "performer", "s4", "s4d", "mamba"}
    assert required <= set(seqselect.list_models())


# DESIGN.md "Public surface": the fields of ModelCard that outside checks rely on, in order.
PUBLIC_CARD_FIELDS = ("name", "family", "year", "time_complexity", "memory_complexity",
                      "causal", "streaming", "max_len", "summary")
COMPLEXITY = re.compile(r"O\([^()]*L[^()]*\)")  # "O(L)", "O(L log L)", "O(L^2)", "O(L·w)"


def test_card_fields_are_the_public_ones_then_defaulted_extras():
    fields = dataclasses.fields(ModelCard)
    names = tuple(f.name for f in fields)
    assert names[: len(PUBLIC_CARD_FIELDS)] == PUBLIC_CARD_FIELDS
    for extra in fields[len(PUBLIC_CARD_FIELDS):]:  # optional metadata must not be required
        assert extra.default is not dataclasses.MISSING or (
            extra.default_factory is not dataclasses.MISSING
        ), extra.name
    assert tuple(model_card("tcn").to_dict()) == names  # JSON keys in field order


@pytest.mark.parametrize("name", MODELS)
def test_card_values_have_the_public_types_and_forms(name):
    card = model_card(name)
    assert card.name == name
    assert re.fullmatch(r"[a-z][a-z0-9-]*", card.family), card.family
    assert type(card.year) is int and 1980 <= card.year <= 2100
    assert COMPLEXITY.fullmatch(card.time_complexity), card.time_complexity
    assert COMPLEXITY.fullmatch(card.memory_complexity), card.memory_complexity
    assert type(card.causal) is bool and type(card.streaming) is bool
    assert card.causal or not card.streaming  # step() is offered by causal builds only
    assert card.max_len is None or (type(card.max_len) is int and card.max_len > 0)
    assert isinstance(card.summary, str) and card.summary.strip()
    assert name in list_models(card.family)


@pytest.mark.parametrize("name", MODELS)
def test_card_says_what_the_built_model_does(name):
    card = model_card(name)
    model = build(name, causal=card.causal)
    assert model.streaming == card.streaming
    if card.max_len is not None:
        assert model.max_len >= card.max_len


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("task", ["classify", "regress", "per_step"])
@pytest.mark.parametrize("tokens", [False, True], ids=["float", "tokens"])
def test_output_shapes(name, task, tokens):
    kind = {"vocab_size": V} if tokens else {"d_input": C}
    model = build(name, task=task, **kind)
    out = model(inputs(tokens))
    expected = (B, L, O) if task == "per_step" else (B, O)
    assert out.shape == expected
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", MODELS)
def test_every_parameter_gets_a_finite_gradient(name):
    model = build(name).train()
    model(inputs(False)).sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{name}: {pname} gets no gradient"
        assert torch.isfinite(p.grad).all(), f"{name}: {pname} has a non-finite gradient"


@pytest.mark.parametrize("name", CAUSAL)
@pytest.mark.parametrize("tokens", [False, True], ids=["float", "tokens"])
def test_causal_outputs_ignore_the_future(name, tokens):
    kind = {"vocab_size": V} if tokens else {"d_input": C}
    model = build(name, task="per_step", causal=True, **kind)
    x = inputs(tokens)
    t0 = 7
    x2 = x.clone()
    x2[:, t0:] = inputs(tokens)[:, t0:].flip(0) + (0 if tokens else 3.0)
    if tokens:
        x2[:, t0:] = (x[:, t0:] + 1) % V
    y, y2 = model(x), model(x2)
    torch.testing.assert_close(y[:, :t0], y2[:, :t0], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(y[:, t0:], y2[:, t0:]), "perturbation had no effect at all"


def _padding_case(tokens: bool):
    """A right-padded batch whose padding holds garbage, plus the true lengths."""
    lengths = [L, 5, 1]
    x = inputs(tokens)
    mask = torch.zeros(B, L, dtype=torch.bool)
    for b, n in enumerate(lengths):
        mask[b, :n] = True
    garbage = x.clone()
    if tokens:
        garbage[~mask] = V - 1
    else:
        garbage[~mask] = torch.tensor(float("nan"))
    return x, garbage, mask, lengths


# Every model non-causally, and the causal variant of every model that has one.
PADDING_CASES = [(m, False) for m in MODELS] + [(m, True) for m in CAUSAL]


@pytest.mark.parametrize(("name", "causal"), PADDING_CASES)
@pytest.mark.parametrize("task", ["classify", "per_step"])
@pytest.mark.parametrize("tokens", [False, True], ids=["float", "tokens"])
def test_padding_never_changes_real_outputs(name, causal, task, tokens):
    kind = {"vocab_size": V} if tokens else {"d_input": C}
    model = build(name, task=task, causal=causal, **kind)
    x, garbage, mask, lengths = _padding_case(tokens)
    padded = model(garbage, mask)
    assert torch.isfinite(padded).all()
    for b, n in enumerate(lengths):
        alone = model(x[b : b + 1, :n])  # the same sequence with no padding at all
        got = padded[b : b + 1, :n] if task == "per_step" else padded[b : b + 1]
        torch.testing.assert_close(got, alone, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", STREAMING)
@pytest.mark.parametrize("task", ["per_step", "classify"])
@pytest.mark.parametrize("tokens", [False, True], ids=["float", "tokens"])
def test_step_equals_forward(name, task, tokens):
    kind = {"vocab_size": V} if tokens else {"d_input": C}
    model = build(name, task=task, causal=True, **kind)
    x = inputs(tokens)
    with torch.no_grad():
        full = model(x)
        state = model.init_state(B)
        steps = []
        for t in range(L):
            y_t, state = model.step(x[:, t], state)
            steps.append(y_t)
    if task == "per_step":
        torch.testing.assert_close(torch.stack(steps, dim=1), full, atol=1e-4, rtol=1e-4)
    else:  # the sequence-level prediction after the last step
        torch.testing.assert_close(steps[-1], full, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("target", [10_000, 100_000, 1_000_000])
def test_params_matches_the_budget(name, target):
    model = create_model(name, d_input=C, d_output=O, params=target)
    got = count_parameters(model)
    assert abs(got - target) <= 0.1 * target, f"{name}: {got} params for a {target} budget"


@pytest.mark.parametrize("name", MODELS)
def test_single_step_sequences(name):
    model = build(name, task="per_step")
    assert model(inputs(False, length=1)).shape == (B, 1, O)


@pytest.mark.parametrize("name", [m for m in MODELS if "kernel_size" in model_card(m).accepts])
def test_kernel_size_one(name):
    torch.manual_seed(0)
    model = create_model(name, d_input=C, d_output=O, kernel_size=1, d_model=16).eval()
    assert model(inputs(False)).shape == (B, O)


@pytest.mark.parametrize("name", MODELS)
def test_wrong_rank_or_channels_raise_with_expected_and_got(name):
    model = build(name)
    with pytest.raises(ValueError, match=r"expected .*3.*got"):
        model(torch.randn(B, L, C + 1))
    with pytest.raises(ValueError, match=r"expected input of shape"):
        model(torch.randn(B, L))


@pytest.mark.parametrize("name", MODELS)
def test_config_and_card_travel_with_the_model(name):
    model = build(name)
    assert model.card.name == name
    assert dataclasses.is_dataclass(model.config)
    assert model.config.d_model == SMALL["d_model"]
    assert set(model.card.accepts) == {f.name for f in dataclasses.fields(model.config)}


# ---- the state space families in float64: exact step, causality and padding -------------

SSM_NAMES = ["s4d", "s4", "mamba"]


def _float64_model(name, causal, task="per_step", **kw):
    torch.manual_seed(0)
    model = create_model(name, d_input=3, d_output=4, task=task, causal=causal, d_model=8,
                         n_layers=2, **kw)
    return model.double().eval()


@pytest.mark.parametrize("name", SSM_NAMES)
@pytest.mark.parametrize("task", ["per_step", "classify"])
def test_step_equals_forward_in_float64(name, task):
    model = _float64_model(name, causal=True, task=task)
    x = torch.randn(2, 40, 3, dtype=torch.float64)
    with torch.no_grad():
        full = model(x)
        state = model.init_state(2)
        steps = []
        for t in range(x.shape[1]):
            y, state = model.step(x[:, t], state)
            steps.append(y)
    got = torch.stack(steps, 1) if task == "per_step" else steps[-1]
    torch.testing.assert_close(got, full, atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize("name", SSM_NAMES)
def test_causality_in_float64(name):
    model = _float64_model(name, causal=True)
    x = torch.randn(2, 30, 3, dtype=torch.float64)
    x2 = x.clone()
    x2[:, 20:] = torch.randn(2, 10, 3, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(model(x)[:, :20], model(x2)[:, :20], atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize(
    ("name", "causal"),
    [("s4d", False), ("s4", False), ("s4d", True), ("s4", True), ("mamba", True)],
)
def test_padding_is_invisible_in_float64(name, causal):
    """Bidirectional kernels look into the future: padded steps must read as zeros there."""
    model = _float64_model(name, causal=causal)
    lengths = [30, 17, 1]
    x = torch.randn(3, 30, 3, dtype=torch.float64)
    mask = torch.arange(30)[None, :] < torch.tensor(lengths)[:, None]
    garbage = x.masked_fill(~mask.unsqueeze(-1), float("nan"))
    with torch.no_grad():
        padded = model(garbage, mask)
        for b, n in enumerate(lengths):
            torch.testing.assert_close(padded[b, :n], model(x[b : b + 1, :n])[0], **F64)


def test_bidirectional_s4_sees_the_future():
    model = _float64_model("s4d", causal=False)
    x = torch.randn(1, 20, 3, dtype=torch.float64)
    x2 = x.clone()
    x2[:, 15:] += 1
    with torch.no_grad():
        assert not torch.allclose(model(x)[:, :10], model(x2)[:, :10])


@pytest.mark.parametrize(
    ("name", "bad"),
    [("s4d", {"d_state": 7}), ("s4d", {"init": "legs"}), ("s4", {"init": "lin"}),
     ("s4", {"dt_min": 0.5, "dt_max": 0.1}), ("mamba", {"expand": 0})],
)
def test_bad_config_raises(name, bad):
    with pytest.raises(ValueError):
        create_model(name, d_input=2, d_output=2, **bad)


def test_ssm_overrides_are_accepted():
    m = create_model("mamba", d_input=2, d_output=2, d_state=8, expand=3, d_conv=2, dt_rank=5,
                     n_layers=1, d_model=12)
    mixer = m.backbone.blocks[0].mixer
    assert (mixer.E, mixer.N, mixer.R, mixer.W) == (36, 8, 5, 2)
    m = create_model("s4d", d_input=2, d_output=2, d_state=16, init="inv", n_layers=3, d_model=12)
    assert len(m.backbone.blocks) == 3 and m.backbone.blocks[0].ssm.kernel.A_imag.shape == (12, 8)
