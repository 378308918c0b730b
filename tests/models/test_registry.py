"""The registry itself: duplicates, unknown names and overrides, params matching, TCN field."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn

from seqselect.models import ModelCard, create_model, list_models, register_model
from seqselect.models.base import SequenceModel
from seqselect.models.tcn import receptive_field


def test_duplicate_name_raises():
    @dataclass
    class Cfg:
        d_model: int = 4

    card = ModelCard(
        name="lstm", family="rnn", year=1997, time_complexity="O(L)",
        memory_complexity="O(L)", causal=True, streaming=True, max_len=None, summary="dup",
    )
    assert "lstm" in list_models()  # the zoo is loaded, so "lstm" is taken
    with pytest.raises(ValueError, match="already registered"):
        register_model(card, Cfg)(lambda spec, cfg: nn.Identity())


def test_unknown_name_suggests_close_names():
    with pytest.raises(KeyError, match="Did you mean.*lstm"):
        create_model("lstmm", d_input=1, d_output=2)


def test_unknown_override_lists_accepted_ones():
    with pytest.raises(TypeError, match=r"does not take override\(s\) window.*accepts: d_model"):
        create_model("lstm", d_input=1, d_output=2, window=3)


def test_params_and_d_model_together_raise():
    with pytest.raises(ValueError, match="either params= or d_model="):
        create_model("tcn", d_input=1, d_output=2, params=10_000, d_model=8)


def test_non_causal_model_refuses_causal():
    with pytest.raises(ValueError, match="cannot run causally"):
        create_model("bilstm", d_input=1, d_output=2, causal=True)


def test_exactly_one_input_kind():
    with pytest.raises(ValueError, match="exactly one of d_input"):
        create_model("tcn", d_output=2)
    with pytest.raises(ValueError, match="exactly one of d_input"):
        create_model("tcn", d_input=2, vocab_size=5, d_output=2)


def test_bad_task_raises():
    with pytest.raises(ValueError, match="task must be one of"):
        create_model("tcn", d_input=1, d_output=2, task="segment")


def test_attention_width_is_a_multiple_of_heads():
    model = create_model("transformer", d_input=2, d_output=2, params=200_000, n_heads=8)
    assert model.config.d_model % 8 == 0


def test_tcn_receptive_field_formula_and_reach():
    # 1 + 2 (K - 1) (2^N - 1): Bai et al.'s two convolutions per level.
    assert receptive_field(kernel_size=3, n_levels=4) == 61
    model = create_model("tcn", d_input=1, d_output=1, task="per_step", causal=True,
                         kernel_size=3, n_layers=4, d_model=8).eval()
    assert model.receptive_field == 61
    x = torch.zeros(1, 100, 1)
    x2 = x.clone()
    x2[0, 0] = 1.0  # an impulse at t = 0 reaches t = 60 and no further
    diff = (model(x2) - model(x)).abs()[0, :, 0]
    assert diff[60] > 0
    assert torch.all(diff[61:] == 0)


def test_mask_must_be_right_padded():
    model = create_model("tcn", d_input=1, d_output=2)
    mask = torch.tensor([[True, False, True]])
    with pytest.raises(ValueError, match="right-padded"):
        model(torch.randn(1, 3, 1), mask)


def test_step_needs_a_causal_model():
    model = create_model("transformer", d_input=1, d_output=2)
    assert isinstance(model, SequenceModel)
    with pytest.raises(RuntimeError, match="causal=True"):
        model.init_state(1)


def test_gated_tcn_streams_like_it_runs():
    torch.manual_seed(0)
    model = create_model("tcn", d_input=2, d_output=3, task="per_step", causal=True,
                         gated=True, d_model=8, kernel_size=2).eval()
    x = torch.randn(2, 20, 2)
    with torch.no_grad():
        full = model(x)
        state = model.init_state(2)
        steps = []
        for t in range(20):
            y, state = model.step(x[:, t], state)
            steps.append(y)
    torch.testing.assert_close(torch.stack(steps, 1), full, atol=1e-5, rtol=1e-5)


def test_tcn_weight_norm_equals_torchs():
    from torch.nn.utils.parametrizations import weight_norm as torch_weight_norm

    from seqselect.models.tcn import weight_norm

    torch.manual_seed(0)
    ours, theirs = nn.Conv1d(4, 6, 3), nn.Conv1d(4, 6, 3)
    theirs.load_state_dict(ours.state_dict())
    weight_norm(ours)
    torch_weight_norm(theirs)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    x = torch.randn(2, 4, 10)
    ours(x).square().sum().backward()
    theirs(x).square().sum().backward()
    torch.testing.assert_close(ours(x), theirs(x))
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, msg=name)
