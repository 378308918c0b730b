"""Longformer's sliding-window attention (``models/attention/sliding_window.py``): the eager
and FlexAttention kernels against the dense reference twin, the core's backends and step.

Only real query rows are compared: padded queries carry no meaning.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqselect.models.attention import (
    SlidingWindowAttention,
    flex_sliding_window_attention,
    flex_unavailable_reason,
    sliding_window,
    sliding_window_attention,
    sliding_window_pattern,
)

B, H, E = 2, 3, 8  # the shapes of the ``qkv`` fixture (tests/models/conftest.py)
TOL = {"atol": 1e-5, "rtol": 1e-5}


# ---- Longformer ------------------------------------------------------------------------

WINDOW_CASES = [
    # (L, window, n_global, lengths or None)
    (37, 3, 0, None),
    (37, 3, 2, None),
    (64, 5, 3, [64, 29]),
    (50, 16, 1, [50, 7]),  # block c = 16, L not a multiple
    (300, 20, 4, [300, 123]),
    (9, 2, 0, [9, 1]),
]


@pytest.mark.parametrize("causal", [False, True], ids=["bidir", "causal"])
@pytest.mark.parametrize(("L", "window", "n_global", "lengths"), WINDOW_CASES)
def test_sliding_window_equals_dense_with_band_mask(
    assert_real_rows_close,
    qkv,
    reference,
    right_padded,
    with_garbage,
    L,
    window,
    n_global,
    lengths,
    causal,
):
    q, k, v = qkv(L)
    key_mask = None if lengths is None else right_padded(lengths, L)
    pattern = sliding_window_pattern(L, window, n_global, causal)
    want = reference(q, k, v, pattern, key_mask)
    if key_mask is not None:  # padded content never changes real outputs
        k, v = with_garbage(k, key_mask), with_garbage(v, key_mask)
    got = sliding_window_attention(
        q, k, v, window, n_global=n_global, key_mask=key_mask, causal=causal
    )
    assert torch.isfinite(got).all()
    assert_real_rows_close(got, want, key_mask, **TOL)


@pytest.mark.parametrize("block", [4, 7, 32])
def test_sliding_window_any_query_block_gives_the_same_result(qkv, reference, block):
    q, k, v = qkv(45)
    want = reference(q, k, v, sliding_window_pattern(45, 6, 2, False), None)
    got = sliding_window_attention(q, k, v, 6, n_global=2, block=block)
    torch.testing.assert_close(got, want, **TOL)


@pytest.mark.parametrize("causal", [False, True])
def test_window_wider_than_the_sequence_is_exact_dense_attention(qkv, right_padded, causal):
    q, k, v = qkv(10)
    key_mask = right_padded([10, 6], 10)
    core = SlidingWindowAttention(window=50, n_global=2)
    got = core(q, k, v, None if causal else key_mask, causal)
    if causal:
        want = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    else:
        want = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask[:, None, None, :])
    torch.testing.assert_close(got, want, atol=0, rtol=0)


@pytest.mark.parametrize("n_global", [0, 2])
def test_sliding_window_step_equals_forward(qkv, n_global):
    L, w = 23, 4
    q, k, v = qkv(L)
    core = SlidingWindowAttention(window=w, n_global=n_global)
    full = core(q, k, v, None, True)
    state = core.init_state(B, H, E, "cpu", torch.float32)
    steps = []
    for t in range(L):
        o, state = core.step(q[:, :, t], k[:, :, t], v[:, :, t], state)
        steps.append(o)
    torch.testing.assert_close(torch.stack(steps, dim=2), full, **TOL)
    assert state["win_k"].shape[2] == w + 1  # the cache never grows past the window
    assert state["sink_k"].shape[2] == n_global


@pytest.mark.slow
@pytest.mark.parametrize("causal", [False, True])
def test_flex_sliding_window_equals_reference(
    assert_real_rows_close, qkv, reference, right_padded, causal
):
    q, k, v = qkv(200, batch=1)
    reason = flex_unavailable_reason(q, needs_grad=False)
    if reason is not None:
        pytest.skip(reason)
    key_mask = None if causal else right_padded([150], 200)
    want = reference(q, k, v, sliding_window_pattern(200, 20, 3, causal), key_mask)
    with torch.no_grad():
        got = flex_sliding_window_attention(
            q, k, v, 20, n_global=3, key_mask=key_mask, causal=causal
        )
    assert_real_rows_close(got, want, key_mask, atol=1e-4, rtol=1e-4)


def test_flex_backend_falls_back_to_eager_with_a_logged_note(qkv, caplog, monkeypatch):
    """On CPU with gradients FlexAttention cannot run: eager, and the reason is logged."""
    monkeypatch.setattr(sliding_window, "_NOTED", set())  # the note is logged once per process
    q, k, v = (t.requires_grad_() for t in qkv(40))
    core = SlidingWindowAttention(window=3, n_global=1, backend="flex")
    with caplog.at_level("INFO", logger="seqselect.models.attention"):
        out = core(q, k, v, None, False)
    torch.testing.assert_close(out, sliding_window_attention(q, k, v, 3, n_global=1))
    assert "FlexAttention unavailable (FlexAttention has no backward on CPU)" in caplog.text
