"""The shared model shell (``models/base.py``): mask validation and the streaming guard."""

from __future__ import annotations

import pytest
import torch

from seqselect.models import create_model
from seqselect.models.base import SequenceModel


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
