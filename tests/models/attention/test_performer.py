"""Performer FAVOR+ attention (``models/attention/performer.py``): error vs features, blocks,
recompute, chunks, step and redraws."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqselect.models.attention import (
    PerformerAttention,
    orthogonal_random_features,
    performer_attention,
)

B, H, E = 2, 3, 8  # the shapes of the ``qkv`` fixture (tests/models/conftest.py)
TOL = {"atol": 1e-5, "rtol": 1e-5}


# ---- Performer -------------------------------------------------------------------------


def _performer_error(qkv, n_features: int, causal: bool, seeds: int = 6) -> float:
    errs = []
    for seed in range(seeds):
        q, k, v = (0.5 * t for t in qkv(48, seed=seed))
        torch.manual_seed(100 + seed)
        omega = orthogonal_random_features(n_features, E)
        got = performer_attention(q, k, v, omega, causal=causal, chunk=16)
        want = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        errs.append((got - want).pow(2).mean().sqrt())
    return float(torch.stack(errs).mean())


@pytest.mark.parametrize("causal", [False, True], ids=["bidir", "causal"])
def test_performer_error_shrinks_as_features_grow(qkv, causal):
    errors = [_performer_error(qkv, m, causal) for m in (8, 64, 512, 4096)]
    assert errors[0] > errors[1] > errors[2] > errors[3], errors
    assert errors[3] < 0.25 * errors[0], errors


def test_orthogonal_features_are_orthogonal_within_a_block():
    torch.manual_seed(0)
    omega = orthogonal_random_features(2 * E + 3, E)
    assert omega.shape == (2 * E + 3, E)
    block = omega[:E] / omega[:E].norm(dim=1, keepdim=True)
    torch.testing.assert_close(block @ block.T, torch.eye(E), atol=1e-5, rtol=0)


def test_performer_causal_chunked_equals_one_chunk_and_padding_is_ignored(
    qkv, right_padded, with_garbage
):
    torch.manual_seed(0)
    omega = orthogonal_random_features(32, E)
    q, k, v = qkv(37)
    one = performer_attention(q, k, v, omega, causal=True, chunk=64)
    for chunk in (1, 5, 16):
        torch.testing.assert_close(
            performer_attention(q, k, v, omega, causal=True, chunk=chunk), one, **TOL
        )
    key_mask = right_padded([37, 20], 37)
    for causal in (False, True):
        padded = performer_attention(
            q,
            with_garbage(k, key_mask, 50.0),
            with_garbage(v, key_mask),
            omega,
            key_mask=key_mask,
            causal=causal,
            chunk=8,
        )
        alone = performer_attention(
            q[1:, :, :20], k[1:, :, :20], v[1:, :, :20], omega, causal=causal, chunk=8
        )
        torch.testing.assert_close(padded[1:, :, :20], alone, **TOL)


@pytest.mark.parametrize("causal", [False, True], ids=["bidir", "causal"])
def test_performer_blocks_and_recompute_equal_one_block_values_and_gradients(
    qkv, right_padded, causal
):
    """Blocked features (each block's own stabiliser, rescaled when combined) and recomputed
    features give the one-block result and the same gradients (float64, with padding)."""
    torch.manual_seed(0)
    M = 16
    omega = orthogonal_random_features(M, E).double()
    key_mask = right_padded([45, 23], 45)
    q, k, v = (t.double().requires_grad_() for t in qkv(45, seed=3))
    grad_out = torch.randn(B, H, 45, E, dtype=torch.float64)

    def run(**kw):
        out = performer_attention(q, k, v, omega, key_mask=key_mask, causal=causal, chunk=4, **kw)
        return out, torch.autograd.grad((out * grad_out).sum(), (q, k, v))

    want, want_grads = run(block_elements=1 << 30)
    # 1 row, 8 rows (several causal chunks), 16 rows (a block wholly padded in batch 1)
    for rows in (1, 8, 16):
        for recompute in (False, True):
            got, grads = run(block_elements=B * H * M * rows, recompute=recompute)
            torch.testing.assert_close(got, want, atol=1e-12, rtol=1e-10)
            for g, w in zip(grads, want_grads, strict=True):
                torch.testing.assert_close(g, w, atol=1e-12, rtol=1e-10)


def test_performer_recompute_keeps_no_feature_tensor_for_backward(qkv):
    """With ``recompute`` the tensors kept for the backward pass are O(L*E): nothing of
    the (B, H, L, M) feature size survives the forward pass."""
    torch.manual_seed(0)
    M, L = 64, 256
    omega = orthogonal_random_features(M, E)
    q, k, v = (t.requires_grad_() for t in qkv(L))

    def largest_saved(recompute: bool) -> int:
        sizes = []
        with torch.autograd.graph.saved_tensors_hooks(
            lambda t: sizes.append(t.numel()) or t, lambda t: t
        ):
            performer_attention(q, k, v, omega, block_elements=B * H * M * 32, recompute=recompute)
        return max(sizes)

    assert largest_saved(recompute=False) >= B * H * 32 * M  # a whole feature block
    assert largest_saved(recompute=True) <= B * H * L * (E + 1)  # inputs and outputs only


def test_performer_step_equals_forward(qkv):
    core = PerformerAttention(n_features=32, head_dim=E, chunk=4)
    q, k, v = qkv(19)
    full = core(q, k, v, None, True)
    state = core.init_state(B, H, E, "cpu", torch.float32)
    steps = []
    for t in range(19):
        o, state = core.step(q[:, :, t], k[:, :, t], v[:, :, t], state)
        steps.append(o)
    torch.testing.assert_close(torch.stack(steps, dim=2), full, **TOL)


def test_performer_redraws_features_only_in_training(qkv):
    core = PerformerAttention(n_features=16, head_dim=E, redraw_interval=2)
    q, k, v = qkv(8)
    first = core.omega.clone()
    core.eval()
    for _ in range(5):
        core(q, k, v, None, False)
    assert torch.equal(core.omega, first)
    core.train()
    core(q, k, v, None, False)
    core(q, k, v, None, False)
    assert torch.equal(core.omega, first)
    core(q, k, v, None, False)  # third training call: redrawn
    assert not torch.equal(core.omega, first)
