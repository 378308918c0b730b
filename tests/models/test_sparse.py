"""Sparse and efficient attention: every fast core against its dense reference twin.

References are ``dense_masked_attention`` with the equivalent boolean pattern (float32,
small L). Only real query rows are compared: padded queries carry no meaning.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from seqselect.models import create_model, model_card
from seqselect.models.attention import sliding_window
from seqselect.models.attention import (
    BigBirdAttention,
    LinformerAttention,
    PerformerAttention,
    SlidingWindowAttention,
    bigbird_attention,
    bigbird_pattern,
    bigbird_random_blocks,
    dense_masked_attention,
    flex_sliding_window_attention,
    flex_unavailable_reason,
    linformer_attention,
    orthogonal_random_features,
    performer_attention,
    sliding_window_attention,
    sliding_window_pattern,
)

B, H, E = 2, 3, 8
TOL = {"atol": 1e-5, "rtol": 1e-5}


def qkv(length: int, seed: int = 0, batch: int = B):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, H, length, E, generator=g) for _ in range(3)]


def right_padded(lengths: list[int], length: int) -> torch.Tensor:
    mask = torch.zeros(len(lengths), length, dtype=torch.bool)
    for b, n in enumerate(lengths):
        mask[b, :n] = True
    return mask


def reference(q, k, v, pattern, key_mask):
    """Dense attention restricted to ``pattern`` ((L, L) or (B, L, L)) and real keys."""
    allowed = pattern if pattern.dim() == 4 else pattern.view(-1, 1, *pattern.shape[-2:])
    if key_mask is not None:
        allowed = allowed & key_mask[:, None, None, :]
    return dense_masked_attention(q, k, v, allowed)


def assert_real_rows_close(got, want, key_mask, **tol):
    if key_mask is None:
        torch.testing.assert_close(got, want, **tol)
        return
    for b in range(got.shape[0]):
        n = int(key_mask[b].sum())
        torch.testing.assert_close(got[b, :, :n], want[b, :, :n], **tol)


def with_garbage(x, key_mask, value=1e4):
    """Padded positions filled with large garbage (what deep layers may hold there)."""
    return x.masked_fill(~key_mask[:, None, :, None], value)


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
def test_sliding_window_equals_dense_with_band_mask(L, window, n_global, lengths, causal):
    q, k, v = qkv(L)
    key_mask = None if lengths is None else right_padded(lengths, L)
    pattern = sliding_window_pattern(L, window, n_global, causal)
    want = reference(q, k, v, pattern, key_mask)
    if key_mask is not None:  # padded content never changes real outputs
        k, v = with_garbage(k, key_mask), with_garbage(v, key_mask)
    got = sliding_window_attention(q, k, v, window, n_global=n_global, key_mask=key_mask,
                                   causal=causal)
    assert torch.isfinite(got).all()
    assert_real_rows_close(got, want, key_mask, **TOL)


@pytest.mark.parametrize("block", [4, 7, 32])
def test_sliding_window_any_query_block_gives_the_same_result(block):
    q, k, v = qkv(45)
    want = reference(q, k, v, sliding_window_pattern(45, 6, 2, False), None)
    got = sliding_window_attention(q, k, v, 6, n_global=2, block=block)
    torch.testing.assert_close(got, want, **TOL)


@pytest.mark.parametrize("causal", [False, True])
def test_window_wider_than_the_sequence_is_exact_dense_attention(causal):
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
def test_sliding_window_step_equals_forward(n_global):
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
def test_flex_sliding_window_equals_reference(causal):
    q, k, v = qkv(200, batch=1)
    reason = flex_unavailable_reason(q, needs_grad=False)
    if reason is not None:
        pytest.skip(reason)
    key_mask = None if causal else right_padded([150], 200)
    want = reference(q, k, v, sliding_window_pattern(200, 20, 3, causal), key_mask)
    with torch.no_grad():
        got = flex_sliding_window_attention(q, k, v, 20, n_global=3, key_mask=key_mask,
                                            causal=causal)
    assert_real_rows_close(got, want, key_mask, atol=1e-4, rtol=1e-4)


def test_flex_backend_falls_back_to_eager_with_a_logged_note(caplog, monkeypatch):
    """On CPU with gradients FlexAttention cannot run: eager, and the reason is logged."""
    monkeypatch.setattr(sliding_window, "_NOTED", set())  # the note is logged once per process
    q, k, v = (t.requires_grad_() for t in qkv(40))
    core = SlidingWindowAttention(window=3, n_global=1, backend="flex")
    with caplog.at_level("INFO", logger="seqselect.models.attention"):
        out = core(q, k, v, None, False)
    torch.testing.assert_close(out, sliding_window_attention(q, k, v, 3, n_global=1))
    assert "FlexAttention unavailable (FlexAttention has no backward on CPU)" in caplog.text


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
def test_bigbird_equals_dense_with_block_mask(L, block, n_global, n_random, lengths):
    q, k, v = qkv(L)
    key_mask = right_padded(lengths, L) if lengths else None
    real = key_mask.sum(1) if key_mask is not None else torch.full((B,), L)
    nb = -(-L // block)
    rand = bigbird_random_blocks(real, block, nb, n_random, seed=3)
    want = reference(q, k, v, bigbird_pattern(L, block, n_global, rand), key_mask)
    if key_mask is not None:
        k, v = with_garbage(k, key_mask), with_garbage(v, key_mask)
    got = bigbird_attention(q, k, v, block, n_global=n_global, random_blocks=rand,
                            key_mask=key_mask)
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


def test_bigbird_core_is_deterministic_and_refuses_causal():
    core = BigBirdAttention(block=4, n_global=1, n_random=2)
    q, k, v = qkv(48)
    torch.testing.assert_close(core(q, k, v, None, False), core(q, k, v, None, False),
                               atol=0, rtol=0)
    with pytest.raises(ValueError, match="non-causal"):
        core(q, k, v, None, True)


# ---- Linformer -------------------------------------------------------------------------

def test_linformer_with_identity_projections_equals_dense_attention():
    L = 20
    q, k, v = qkv(L)
    eye = torch.eye(L)
    torch.testing.assert_close(linformer_attention(q, k, v, eye, eye),
                               F.scaled_dot_product_attention(q, k, v), **TOL)


def test_linformer_core_with_k_equal_to_L_and_identity_equals_dense():
    L = 16
    core = LinformerAttention(proj_len=L, max_len=L)
    core.proj_k.copy_(torch.eye(L))
    core.proj_v.copy_(torch.eye(L))
    q, k, v = qkv(L)
    torch.testing.assert_close(core(q, k, v, None, False),
                               F.scaled_dot_product_attention(q, k, v), **TOL)


def test_linformer_shorter_and_padded_inputs_use_the_prefix_of_the_projection():
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


# ---- Performer -------------------------------------------------------------------------

def _performer_error(n_features: int, causal: bool, seeds: int = 6) -> float:
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
def test_performer_error_shrinks_as_features_grow(causal):
    errors = [_performer_error(m, causal) for m in (8, 64, 512, 4096)]
    assert errors[0] > errors[1] > errors[2] > errors[3], errors
    assert errors[3] < 0.25 * errors[0], errors


def test_orthogonal_features_are_orthogonal_within_a_block():
    torch.manual_seed(0)
    omega = orthogonal_random_features(2 * E + 3, E)
    assert omega.shape == (2 * E + 3, E)
    block = omega[:E] / omega[:E].norm(dim=1, keepdim=True)
    torch.testing.assert_close(block @ block.T, torch.eye(E), atol=1e-5, rtol=0)


def test_performer_causal_chunked_equals_one_chunk_and_padding_is_ignored():
    torch.manual_seed(0)
    omega = orthogonal_random_features(32, E)
    q, k, v = qkv(37)
    one = performer_attention(q, k, v, omega, causal=True, chunk=64)
    for chunk in (1, 5, 16):
        torch.testing.assert_close(performer_attention(q, k, v, omega, causal=True, chunk=chunk),
                                   one, **TOL)
    key_mask = right_padded([37, 20], 37)
    for causal in (False, True):
        padded = performer_attention(q, with_garbage(k, key_mask, 50.0),
                                     with_garbage(v, key_mask), omega, key_mask=key_mask,
                                     causal=causal, chunk=8)
        alone = performer_attention(q[1:, :, :20], k[1:, :, :20], v[1:, :, :20], omega,
                                    causal=causal, chunk=8)
        torch.testing.assert_close(padded[1:, :, :20], alone, **TOL)


@pytest.mark.parametrize("causal", [False, True], ids=["bidir", "causal"])
def test_performer_blocks_and_recompute_equal_one_block_values_and_gradients(causal):
    """Blocked features (each block's own stabiliser, rescaled when combined) and recomputed
    features give the one-block result and the same gradients (float64, with padding)."""
    torch.manual_seed(0)
    M = 16
    omega = orthogonal_random_features(M, E).double()
    key_mask = right_padded([45, 23], 45)
    q, k, v = (t.double().requires_grad_() for t in qkv(45, seed=3))
    grad_out = torch.randn(B, H, 45, E, dtype=torch.float64)

    def run(**kw):
        out = performer_attention(q, k, v, omega, key_mask=key_mask, causal=causal, chunk=4,
                                  **kw)
        return out, torch.autograd.grad((out * grad_out).sum(), (q, k, v))

    want, want_grads = run(block_elements=1 << 30)
    # 1 row, 8 rows (several causal chunks), 16 rows (a block wholly padded in batch 1)
    for rows in (1, 8, 16):
        for recompute in (False, True):
            got, grads = run(block_elements=B * H * M * rows, recompute=recompute)
            torch.testing.assert_close(got, want, atol=1e-12, rtol=1e-10)
            for g, w in zip(grads, want_grads, strict=True):
                torch.testing.assert_close(g, w, atol=1e-12, rtol=1e-10)


def test_performer_recompute_keeps_no_feature_tensor_for_backward():
    """With ``recompute`` the tensors kept for the backward pass are O(L*E): nothing of
    the (B, H, L, M) feature size survives the forward pass."""
    torch.manual_seed(0)
    M, L = 64, 256
    omega = orthogonal_random_features(M, E)
    q, k, v = (t.requires_grad_() for t in qkv(L))

    def largest_saved(recompute: bool) -> int:
        sizes = []
        with torch.autograd.graph.saved_tensors_hooks(lambda t: sizes.append(t.numel()) or t,
                                                      lambda t: t):
            performer_attention(q, k, v, omega, block_elements=B * H * M * 32,
                                recompute=recompute)
        return max(sizes)

    assert largest_saved(recompute=False) >= B * H * 32 * M  # a whole feature block
    assert largest_saved(recompute=True) <= B * H * L * (E + 1)  # inputs and outputs only


def test_performer_step_equals_forward():
    core = PerformerAttention(n_features=32, head_dim=E, chunk=4)
    q, k, v = qkv(19)
    full = core(q, k, v, None, True)
    state = core.init_state(B, H, E, "cpu", torch.float32)
    steps = []
    for t in range(19):
        o, state = core.step(q[:, :, t], k[:, :, t], v[:, :, t], state)
        steps.append(o)
    torch.testing.assert_close(torch.stack(steps, dim=2), full, **TOL)


def test_performer_redraws_features_only_in_training():
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


# ---- causality, by gradients -------------------------------------------------------------

CAUSAL_CORES = {
    "longformer": lambda: SlidingWindowAttention(window=3, n_global=2),
    "performer": lambda: PerformerAttention(n_features=16, head_dim=E, chunk=4),
}


@pytest.mark.parametrize("name", list(CAUSAL_CORES))
def test_causal_cores_are_causal(name):
    core = CAUSAL_CORES[name]()
    q, k, v = (t.requires_grad_() for t in qkv(21))
    t0 = 9
    core(q, k, v, None, True)[:, :, t0].sum().backward()
    for x in (q, k, v):
        assert (x.grad[:, :, t0 + 1 :] == 0).all()
        assert x.grad[:, :, : t0 + 1].abs().sum() > 0


# ---- never an L x L tensor ---------------------------------------------------------------

class _LargestTensor(TorchDispatchMode):
    """Records the largest tensor any op produces (forward and backward)."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else [out]:
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out


SUBQUADRATIC = {
    "longformer": dict(window=16, n_global=2),
    "longformer-causal": dict(window=16, n_global=2),
    "bigbird": dict(window=16, n_global=16, n_random=2),
    "linformer": dict(proj_len=64, max_len=2048),
    "performer": dict(n_features=64),
    "performer-causal": dict(n_features=64),
}


@pytest.mark.parametrize("name", list(SUBQUADRATIC))
def test_no_tensor_grows_quadratically(name):
    L = 2048
    causal = name.endswith("-causal")
    torch.manual_seed(0)
    model = create_model(name.removesuffix("-causal"), d_input=2, d_output=1, d_model=16,
                         n_heads=2, n_layers=1, task="per_step", causal=causal,
                         **SUBQUADRATIC[name])
    x = torch.randn(1, L, 2)
    mask = right_padded([L - 100], L)
    with _LargestTensor() as spy:
        model(x, None if causal else mask).sum().backward()
    # Quadratic would be L^2 = 4.2M per head; linear in L here is L * (a few hundred).
    assert spy.largest <= 2 * 2 * L * 100, f"{name}: a tensor of {spy.largest} elements"


# ---- the models: contract with small sparse settings (the sparse paths, not the fallbacks) --

SMALL_SPARSE = {
    "longformer": dict(window=2, n_global=1),
    "bigbird": dict(window=2, n_global=1, n_random=1),
    "linformer": dict(proj_len=4, max_len=32),
    "performer": dict(n_features=32),
}
BS, LS, CS = 3, 12, 3


def _build(name, **kw):
    torch.manual_seed(0)
    return create_model(name, d_input=CS, d_output=4, d_model=16,
                        **SMALL_SPARSE[name], **kw).eval()


@pytest.mark.parametrize(
    ("name", "causal"),
    [(n, False) for n in SMALL_SPARSE] + [(n, True) for n in SMALL_SPARSE if model_card(n).causal],
)
def test_padding_never_changes_real_outputs_on_the_sparse_paths(name, causal):
    model = _build(name, task="per_step", causal=causal)
    x = torch.randn(BS, LS, CS)
    lengths = [LS, 7, 1]
    mask = right_padded(lengths, LS)
    garbage = x.masked_fill(~mask[..., None], float("nan"))
    padded = model(garbage, mask)
    assert torch.isfinite(padded).all()
    for b, n in enumerate(lengths):
        torch.testing.assert_close(padded[b : b + 1, :n], model(x[b : b + 1, :n]),
                                   atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", ["longformer", "performer"])
def test_causal_models_stream_on_the_sparse_paths(name):
    model = _build(name, task="per_step", causal=True)
    x = torch.randn(BS, LS, CS)
    with torch.no_grad():
        full = model(x)
        state = model.init_state(BS)
        steps = []
        for t in range(LS):
            y, state = model.step(x[:, t], state)
            steps.append(y)
    torch.testing.assert_close(torch.stack(steps, dim=1), full, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", list(SMALL_SPARSE))
def test_gradients_are_finite_with_padding(name):
    model = _build(name).train()
    x = torch.randn(BS, LS, CS)
    mask = right_padded([LS, 5, 1], LS)
    model(x, mask).sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname


def test_cards_say_which_run_causally_and_stream():
    assert model_card("longformer").causal and model_card("longformer").streaming
    assert model_card("performer").causal and model_card("performer").streaming
    assert not model_card("bigbird").causal and not model_card("linformer").causal
    assert model_card("linformer").max_len == 4096
    for name in SMALL_SPARSE:
        assert "L^2" not in model_card(name).memory_complexity
    with pytest.raises(ValueError, match="causally"):
        create_model("bigbird", d_input=1, d_output=1, causal=True)


def test_unknown_override_raises():
    with pytest.raises(TypeError, match="does not take"):
        create_model("performer", d_input=1, d_output=1, window=4)
