"""The Transformer (``models/transformer.py``): its width follows the head count."""

from __future__ import annotations

from seqselect.models import create_model


def test_attention_width_is_a_multiple_of_heads():
    model = create_model("transformer", d_input=2, d_output=2, params=200_000, n_heads=8)
    assert model.config.d_model % 8 == 0
