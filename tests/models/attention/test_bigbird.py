"""BigBird attention (``models/attention/bigbird.py``) against its dense reference twin."""

from __future__ import annotations

import pytest
import torch

from seqselect.models.attention import (
    BigBirdAttention,
    bigbird_attention,
    bigbird_pattern,
    bigbird_random_blocks,
)

B = 2  # the batch of the ``qkv`` fixture (tests/models/conftest.py)
TOL = {"atol": 1e-5, "rtol": 1e-5}


# ---- BigBird ---------------------------------------------------------------------------

BIGBIRD_CASES = [
    # (L, block, n_global, n_random, lengths or None)
    (40, 4, 0, 0, None),
    (40, 4, 2, 2, None),
    (41, 5, 3, 1, [41, 17]),
    (96, 8, 8, 3, [96, 30]),
    (12, 4, 1, 2, [12, 3]),
    (8, 4, 1, 2, [8, 5]),  # two blocks: dense
]


@pytest.mark.parametrize(("L", "block", "n_global", "n_random", "lengths"), BIGBIRD_CASES)
def test_bigbird_equals_dense_with_block_mask(
    assert_real_rows_close,
    qkv,
    reference,
    right_padded,
    with_garbage,
    L,
    block,
    n_global,
    n_random,
    lengths,
):
    q, k, v = qkv(L)
    key_mask = right_padded(lengths, L) if lengths else None
    real = key_mask.sum(1) if key_mask is not None else torch.full((B,), L)
    nb = -(-L // block)
    rand = bigbird_random_blocks(real, block, nb, n_random, seed=3)
    want = reference(q, k, v, bigbird_pattern(L, block, n_global, rand), key_mask)
    if key_mask is not None:
        k, v = with_garbage(k, key_mask), with_garbage(v, key_mask)
    got = bigbird_attention(
        q, k, v, block, n_global=n_global, random_blocks=rand, key_mask=key_mask
    )
    assert torch.isfinite(got).all()
    assert_real_rows_close(got, want, key_mask, **TOL)


def test_bigbird_random_blocks_are_distinct_outside_the_window_and_real():
    rand = bigbird_random_blocks(torch.tensor([80, 33]), 4, 20, 3, seed=0)
    for b, real_blocks in enumerate([20, 9]):
        for i in range(20):
            picks = [int(r) for r in rand[b, i] if r >= 0]
            assert len(set(picks)) == len(picks)
            assert all(abs(p - i) > 1 and p < real_blocks for p in picks)
        assert (rand[b, :real_blocks] >= 0).all()  # enough candidates: all R drawn
    # The draw depends on the real length only: same pattern padded or alone.
    alone = bigbird_random_blocks(torch.tensor([33]), 4, 9, 3, seed=0)
    assert torch.equal(alone[0], rand[1, :9])


def test_bigbird_core_is_deterministic_and_refuses_causal(qkv):
    core = BigBirdAttention(block=4, n_global=1, n_random=2)
    q, k, v = qkv(48)
    torch.testing.assert_close(
        core(q, k, v, None, False), core(q, k, v, None, False), atol=0, rtol=0
    )
    with pytest.raises(ValueError, match="non-causal"):
        core(q, k, v, None, True)
