"""Linformer attention (``models/attention/linformer.py``): projections, prefixes, max_len."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqselect.models import create_model
from seqselect.models.attention import (
    LinformerAttention,
    linformer_attention,
)

TOL = {"atol": 1e-5, "rtol": 1e-5}


# ---- Linformer -------------------------------------------------------------------------


def test_linformer_with_identity_projections_equals_dense_attention(qkv):
    L = 20
    q, k, v = qkv(L)
    eye = torch.eye(L)
    torch.testing.assert_close(
        linformer_attention(q, k, v, eye, eye), F.scaled_dot_product_attention(q, k, v), **TOL
    )


def test_linformer_core_with_k_equal_to_L_and_identity_equals_dense(qkv):
    L = 16
    core = LinformerAttention(proj_len=L, max_len=L)
    core.proj_k.copy_(torch.eye(L))
    core.proj_v.copy_(torch.eye(L))
    q, k, v = qkv(L)
    torch.testing.assert_close(
        core(q, k, v, None, False), F.scaled_dot_product_attention(q, k, v), **TOL
    )


def test_linformer_shorter_and_padded_inputs_use_the_prefix_of_the_projection(
    qkv, right_padded, with_garbage
):
    core = LinformerAttention(proj_len=6, max_len=32)
    q, k, v = qkv(20)
    key_mask = right_padded([20, 11], 20)
    padded = core(q, with_garbage(k, key_mask), with_garbage(v, key_mask), key_mask, False)
    alone = core(q[1:, :, :11], k[1:, :, :11], v[1:, :, :11], None, False)
    torch.testing.assert_close(padded[1:, :, :11], alone, **TOL)


def test_linformer_longer_than_max_len_raises_naming_max_len():
    model = create_model("linformer", d_input=2, d_output=3, d_model=16, max_len=32, proj_len=4)
    assert model.max_len == 32
    model(torch.randn(1, 32, 2))  # exactly max_len is fine
    with pytest.raises(ValueError, match="max_len=32"):
        model(torch.randn(1, 33, 2))
