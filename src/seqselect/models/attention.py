"""Attention: the multi-head layer and its cores (dense here; efficient cores beside it).

Symbols: B batch, L length (queries), S length (keys), D model width, H heads,
E head width (D / H).

The multi-head layer owns the projections; a *core* owns only the attention math, so the
Transformer and the sparse/efficient Transformers differ in their core alone. A core is an
``nn.Module`` with

* ``forward(q, k, v, key_mask, causal) -> (B, H, L, E)`` with ``q, k, v: (B, H, L, E)``
  and ``key_mask: (B, L) bool | None`` (True = real key, right-padded);
* streaming cores also ``init_state(B, H, E, device, dtype)`` and
  ``step(q_t, k_t, v_t, state) -> ((B, H, E), state)`` with ``q_t, k_t, v_t: (B, H, E)``.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from seqselect.errors import SeqSelectError


class DenseAttention(nn.Module):
    """Full softmax attention through ``F.scaled_dot_product_attention``.

    SDPA picks a fused kernel (FlashAttention-style on CPU and CUDA) that never stores the
    L x S score matrix, so memory is O(L) while compute stays O(L^2).
    """

    def forward(
        self, q: Tensor, k: Tensor, v: Tensor, key_mask: Tensor | None, causal: bool
    ) -> Tensor:
        if causal:
            # Right padding: a real query at i only sees keys <= i, which are all real,
            # so the causal mask alone keeps padding out and the fused path stays available.
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)
        attn_mask = None if key_mask is None else key_mask[:, None, None, :]  # (B, 1, 1, S)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)

    def init_state(self, batch: int, heads: int, head_dim: int, device, dtype):
        """An empty key/value cache ``(B, H, 0, E)`` each."""
        empty = torch.zeros(batch, heads, 0, head_dim, device=device, dtype=dtype)
        return (empty, empty.clone())

    def step(self, q_t: Tensor, k_t: Tensor, v_t: Tensor, state):
        """Append to the cache and attend over every key so far: O(t) per step."""
        k_cache = torch.cat([state[0], k_t.unsqueeze(2)], dim=2)  # (B, H, t+1, E)
        v_cache = torch.cat([state[1], v_t.unsqueeze(2)], dim=2)
        out = F.scaled_dot_product_attention(q_t.unsqueeze(2), k_cache, v_cache)  # (B, H, 1, E)
        return out.squeeze(2), (k_cache, v_cache)


def dense_masked_attention(
    q: Tensor, k: Tensor, v: Tensor, allowed: Tensor, scale: float | None = None
) -> Tensor:
    """Reference twin for every core: softmax attention with an explicit boolean mask.

    Args:
        q, k, v: ``(B, H, L, E)``.
        allowed: ``(B or 1, H or 1, L, S)`` bool, True where query i may attend to key j.
    Returns:
        ``(B, H, L, E)``. Rows with no allowed key give zeros (not NaN).
    Builds the full L x S matrix: for tests and small inputs only.
    """
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    scores = (q @ k.transpose(-1, -2)) * scale  # (B, H, L, S)
    scores = scores.masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)
    return weights @ v


class MultiHeadAttention(nn.Module):
    """``(B, L, D) -> (B, L, D)``: fused QKV projection, a core, output projection."""

    def __init__(self, d_model: int, n_heads: int, core: nn.Module, causal: bool):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.causal = causal
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.core = core
        self.out = nn.Linear(d_model, d_model)

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        B, L, D = h.shape
        qkv = self.qkv(h).view(B, L, 3, self.n_heads, self.head_dim)  # (B, L, 3, H, E)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # 3 x (B, H, L, E)
        o = self.core(q, k, v, mask, self.causal)  # (B, H, L, E)
        return self.out(o.transpose(1, 2).reshape(B, L, D))

    def init_state(self, batch: int, device, dtype):
        return self.core.init_state(batch, self.n_heads, self.head_dim, device, dtype)

    def step(self, h_t: Tensor, state):
        B, D = h_t.shape
        qkv = self.qkv(h_t).view(B, 3, self.n_heads, self.head_dim)  # (B, 3, H, E)
        q_t, k_t, v_t = qkv.unbind(1)  # 3 x (B, H, E)
        o_t, state = self.core.step(q_t, k_t, v_t, state)  # (B, H, E)
        return self.out(o_t.reshape(B, D)), state


# =========================================================================================
# Efficient cores (sparse and low-rank / kernel attention). Extra symbols: w window (keys on
# each side of a query), c query block, S keys gathered per query block, nb query blocks,
# G global tokens, R random blocks per query block, P projected length (Linformer's k),
# M random features (Performer). Every core keeps memory O(L * S), O(L * P) or O(L * M):
# nothing below ever holds an L x L tensor except ``dense_masked_attention`` (tests only).
# =========================================================================================

log = logging.getLogger(__name__)
_NOTED: set[str] = set()


def _note_once(message: str) -> None:
    """Log a backend fallback once per process (a fallback is a fact, not a failure)."""
    if message not in _NOTED:
        _NOTED.add(message)
        log.info(message)


def _valid_keys(key_mask: Tensor | None, batch: int, length: int, device) -> Tensor:
    """``(B, L)`` bool, True = real key."""
    if key_mask is None:
        return torch.ones(batch, length, dtype=torch.bool, device=device)
    return key_mask


def _dense(q: Tensor, k: Tensor, v: Tensor, key_mask: Tensor | None, causal: bool) -> Tensor:
    """Exact dense attention, the fallback when a sparse pattern would cover every pair."""
    return DenseAttention()(q, k, v, key_mask, causal)


def _gather_blocks(x: Tensor, index: Tensor) -> Tensor:
    """Gather keys per query block: ``x (B, H, L, E)``, ``index (nb, S) | (B, nb, S)`` ->
    ``(B * nb, H, S, E)``. The copy is O(L * S / c), the only key duplication we pay."""
    B, H, L, E = x.shape
    xt = x.transpose(1, 2)  # (B, L, H, E): a view, no copy
    if index.dim() == 2:
        g = xt[:, index]  # (B, nb, S, H, E)
    else:
        g = xt[torch.arange(B, device=x.device)[:, None, None], index]  # (B, nb, S, H, E)
    nb, S = g.shape[1], g.shape[2]
    return g.transpose(2, 3).reshape(B * nb, H, S, E)


def _block_attend(
    q: Tensor, k: Tensor, v: Tensor, index: Tensor, allowed: Tensor, block: int
) -> Tensor:
    """Attention of each query block to its own gathered key set (the blocked eager engine).

    Args:
        q, k, v: ``(B, H, L, E)``.
        index: ``(nb, S)`` or ``(B, nb, S)`` key positions in ``[0, L)`` per query block.
        allowed: ``(B, nb, c or 1, S)`` bool, True where the query may use that key slot.
        block: ``c``, queries per block; ``nb = ceil(L / c)``.
    Returns:
        ``(B, H, L, E)``. Time O(L * S * E), memory O(L * S): fused SDPA per block.
    """
    B, H, L, E = q.shape
    nb = allowed.shape[1]
    Lp = nb * block
    qt = F.pad(q.transpose(1, 2), (0, 0, 0, 0, 0, Lp - L))  # (B, Lp, H, E)
    qb = qt.view(B, nb, block, H, E).transpose(2, 3).reshape(B * nb, H, block, E)
    kb, vb = _gather_blocks(k, index), _gather_blocks(v, index)  # (B nb, H, S, E)
    mask = allowed.reshape(B * nb, 1, allowed.shape[2], allowed.shape[3])  # over heads
    out = F.scaled_dot_product_attention(qb, kb, vb, attn_mask=mask)  # (B nb, H, c, E)
    out = out.view(B, nb, H, block, E).permute(0, 2, 1, 3, 4).reshape(B, H, Lp, E)
    return out[:, :, :L]


def _global_rows(
    q: Tensor, k: Tensor, v: Tensor, n_global: int, key_mask: Tensor | None, out: Tensor
) -> Tensor:
    """Global queries (the first G positions) attend to every real key: O(G * L)."""
    if n_global == 0:
        return out
    mask = None if key_mask is None else key_mask[:, None, None, :]  # (B, 1, 1, L)
    rows = F.scaled_dot_product_attention(q[:, :, :n_global], k, v, attn_mask=mask)
    return torch.cat([rows, out[:, :, n_global:]], dim=2)


def window_query_block(window: int) -> int:
    """Queries per block for a window ``w``: the block sees ``c + 2w`` keys of which
    ``2w + 1`` are used, so c = w (2/3 useful, few blocks) capped at 128 so that a wide
    window keeps most of each score tile useful."""
    return int(min(max(window, 16), 128))


def sliding_window_pattern(
    length: int, window: int, n_global: int, causal: bool, device=None
) -> Tensor:
    """Reference boolean pattern ``(L, L)`` of Longformer attention (for tests only).

    Non-causal: ``|i - j| <= w``, and the first G positions attend to and are attended by
    every position. Causal: ``0 <= i - j <= w``, and the first G positions are *attention
    sinks* (attended by every later query, Xiao et al. 2023) that themselves look back only.
    """
    i = torch.arange(length, device=device)[:, None]
    j = torch.arange(length, device=device)[None, :]
    if causal:
        return ((i - j >= 0) & (i - j <= window)) | ((j < n_global) & (j <= i))
    return ((i - j).abs() <= window) | (j < n_global) | (i < n_global)


def sliding_window_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    window: int,
    *,
    n_global: int = 0,
    key_mask: Tensor | None = None,
    causal: bool = False,
    block: int | None = None,
) -> Tensor:
    """Longformer attention (Beltagy et al. 2020): a sliding window plus global tokens.

    Args:
        q, k, v: ``(B, H, L, E)``.
        window: ``w``, keys on each side of a query (causal: keys back), so the band has
            ``2w + 1`` (causal ``w + 1``) keys.
        n_global: ``G``, see :func:`sliding_window_pattern` for what global means causally.
        key_mask: ``(B, L)`` bool, True = real key (right padding); padded keys are never used.
        block: queries per block ``c`` (default :func:`window_query_block`).
    Returns:
        ``(B, H, L, E)``; time O(L * (c + 2w + G) * E), memory O(L * (c + 2w + G)).
        A window that already covers the sequence (``w >= L - 1``) is exact dense attention.
    """
    B, H, L, E = q.shape
    if window >= L - 1:
        return _dense(q, k, v, key_mask, causal)
    dev = q.device
    G = min(n_global, L)
    c = block or window_query_block(window)
    nb = -(-L // c)
    back, ahead = window, (0 if causal else window)
    S_win = c + back + ahead
    start = torch.arange(nb, device=dev) * c  # (nb,)
    win = start[:, None] - back + torch.arange(S_win, device=dev)  # (nb, S_win)
    index = torch.cat([torch.arange(G, device=dev).expand(nb, G), win], dim=1)  # (nb, S)
    qpos = start[:, None] + torch.arange(c, device=dev)  # (nb, c)
    d = qpos[:, :, None] - index[:, None, :]  # (nb, c, S): query minus key position
    is_global = (torch.arange(index.shape[1], device=dev) < G)[None, None, :]  # slot kind
    band = (d >= 0) & (d <= window) if causal else d.abs() <= window
    # Global keys come through their own slots; the window part skips them (no double count).
    pattern = torch.where(is_global, d >= 0 if causal else True, band & (index >= G)[:, None, :])
    in_range = (index >= 0) & (index < L)  # (nb, S)
    index = index.clamp(0, L - 1)
    valid = _valid_keys(key_mask, B, L, dev)
    allowed = pattern[None] & (in_range[None] & valid[:, index])[:, :, None, :]  # (B, nb, c, S)
    # Padded queries (and the tail past L) keep one key, themselves, so no row is empty and
    # nothing turns NaN; their outputs are discarded or masked downstream.
    q_pad = ~torch.cat([valid, valid.new_zeros(B, nb * c - L)], dim=1).view(B, nb, c)
    allowed = allowed | ((d == 0)[None] & q_pad[..., None])
    out = _block_attend(q, k, v, index, allowed, c)
    return out if causal else _global_rows(q, k, v, G, key_mask, out)


def bigbird_random_blocks(
    lengths: Tensor, block: int, n_blocks: int, n_random: int, seed: int
) -> Tensor:
    """BigBird's random key blocks per query block: ``(B, nb, R)`` long, -1 = none.

    Query block i draws R distinct blocks among the *real* blocks of its sequence, never its
    own window (i-1, i, i+1). The draw depends only on ``(seed, real block count)``, so a
    sequence gets the same pattern padded or alone, in training and at evaluation.
    """
    B = lengths.shape[0]
    out = torch.full((B, n_blocks, n_random), -1, dtype=torch.long)
    if n_random == 0:
        return out.to(lengths.device)
    real_blocks = (-(-lengths.cpu() // block)).clamp(min=1)  # (B,)
    for n in real_blocks.unique().tolist():
        gen = torch.Generator().manual_seed(seed * 1_000_003 + n)
        score = torch.rand(n_blocks, n, generator=gen)  # (nb, n): row i only depends on n
        i = torch.arange(n_blocks)[:, None]
        score[(i - torch.arange(n)[None, :]).abs() <= 1] = -1.0  # not the window
        top = score.topk(min(n_random, n), dim=1)
        pick = torch.where(top.values >= 0, top.indices, -1)  # (nb, <= R)
        out[real_blocks == n, :, : pick.shape[1]] = pick
    return out.to(lengths.device)


def bigbird_pattern(
    length: int, block: int, n_global: int, random_blocks: Tensor, device=None
) -> Tensor:
    """Reference boolean pattern ``(B, L, L)`` of BigBird-ITC attention (tests only)."""
    pos = torch.arange(length, device=device)
    qb, kb = (pos // block)[:, None], (pos // block)[None, :]
    window = (qb - kb).abs() <= 1  # (L, L)
    rand = random_blocks[:, pos // block]  # (B, L, R): random blocks of each query
    is_rand = (rand[:, :, :, None] == kb[None, None]).any(2)  # (B, L, L)
    glob = (pos[None, :] < n_global) | (pos[:, None] < n_global)
    return window[None] | is_rand | glob[None]


def bigbird_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    block: int,
    *,
    n_global: int = 0,
    random_blocks: Tensor | None = None,
    key_mask: Tensor | None = None,
) -> Tensor:
    """BigBird attention, ITC form (Zaheer et al. 2020): block window + global + random.

    Each query block of ``b = block`` queries attends to its own and both neighbouring key
    blocks, to ``R`` random key blocks, and to the first ``G`` (global) tokens; the global
    tokens attend to everything.

    Args:
        q, k, v: ``(B, H, L, E)``.
        random_blocks: ``(B, nb, R)`` long from :func:`bigbird_random_blocks` (-1 = none).
        key_mask: ``(B, L)`` bool, True = real key.
    Returns:
        ``(B, H, L, E)``; time O(L * (3b + Rb + G) * E), memory O(L * (3b + Rb + G)).
        With at most two blocks the window covers everything: exact dense attention.
    """
    B, H, L, E = q.shape
    nb = -(-L // block)
    if nb <= 2:
        return _dense(q, k, v, key_mask, False)
    dev = q.device
    G = min(n_global, L)
    if random_blocks is None:
        random_blocks = torch.full((B, nb, 0), -1, dtype=torch.long, device=dev)
    R = random_blocks.shape[2]
    offs = torch.arange(block, device=dev)
    blk = torch.arange(nb, device=dev)
    win = ((blk[:, None] - 1) * block + torch.arange(3 * block, device=dev)).expand(B, nb, -1)
    rnd = (random_blocks.clamp(min=0)[..., None] * block + offs).reshape(B, nb, R * block)
    rnd_ok = (random_blocks >= 0)[..., None].expand(B, nb, R, block).reshape(B, nb, R * block)
    glob = torch.arange(G, device=dev).expand(B, nb, G)
    index = torch.cat([glob, win, rnd], dim=2)  # (B, nb, S)
    slot_ok = torch.cat([torch.ones_like(glob, dtype=torch.bool), win.new_ones(win.shape, dtype=torch.bool), rnd_ok], 2)
    not_global = torch.arange(index.shape[2], device=dev) >= G  # slots past the global ones
    # Window and random slots skip global keys: those come through their own slots.
    slot_ok = slot_ok & (index >= 0) & (index < L) & ((index >= G) | ~not_global)
    index = index.clamp(0, L - 1)
    valid = _valid_keys(key_mask, B, L, dev)
    allowed = (slot_ok & valid.gather(1, index.view(B, -1)).view_as(index))[:, :, None, :]
    # Padded queries keep themselves as a key, so no row is empty (see sliding window).
    qpos = blk[:, None] * block + offs  # (nb, b)
    q_pad = ~torch.cat([valid, valid.new_zeros(B, nb * block - L)], dim=1).view(B, nb, block)
    self_slot = (qpos[None, :, :, None] == index[:, :, None, :]) & not_global
    allowed = allowed | (self_slot & q_pad[..., None])  # (B, nb, b, S)
    out = _block_attend(q, k, v, index, allowed, block)
    return _global_rows(q, k, v, G, key_mask, out)


def linformer_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    proj_k: Tensor,
    proj_v: Tensor,
    key_mask: Tensor | None = None,
) -> Tensor:
    """Linformer attention (Wang et al. 2020): keys and values projected along the length.

    Args:
        q, k, v: ``(B, H, L, E)``.
        proj_k, proj_v: ``(P, L)``, the first L columns of the model's ``(P, max_len)``
            projections (a shorter input uses a prefix, as a shorter sequence would).
        key_mask: ``(B, L)`` bool; padded keys and values are zeroed before the projection,
            so padding adds nothing to the P mixtures and a padded sequence gives the same
            result as the same sequence alone.
    Returns:
        ``(B, H, L, E)``: softmax over P projected keys; time O(L * P * E), memory O(L * P).
    """
    if key_mask is not None:
        keep = key_mask[:, None, :, None]  # (B, 1, L, 1)
        k, v = k.masked_fill(~keep, 0.0), v.masked_fill(~keep, 0.0)
    # One (P, L) x (L, B*H*E) product each; a broadcast matmul would copy the projection
    # B*H times.
    k_proj = torch.einsum("pl,bhle->bhpe", proj_k, k)  # (B, H, P, E)
    v_proj = torch.einsum("pl,bhle->bhpe", proj_v, v)
    return F.scaled_dot_product_attention(q, k_proj, v_proj)


def orthogonal_random_features(
    n_features: int, head_dim: int, generator: torch.Generator | None = None, device=None
) -> Tensor:
    """``(M, E)`` orthogonal Gaussian features (FAVOR+, Choromanski et al. 2021, Sec. 2.4).

    Rows come in blocks of E mutually orthogonal directions (QR of a Gaussian matrix), each
    row rescaled to the norm of an independent Gaussian vector, so every row is marginally
    N(0, I) and the estimator stays unbiased with lower variance than i.i.d. features.
    """
    blocks = []
    for _ in range(-(-n_features // head_dim)):
        g = torch.randn(head_dim, head_dim, generator=generator, device=device)
        qmat, _ = torch.linalg.qr(g)
        blocks.append(qmat.T)
    omega = torch.cat(blocks, dim=0)[:n_features]  # (M, E), orthonormal within a block
    norms = torch.randn(n_features, head_dim, generator=generator, device=device).norm(dim=1)
    return omega * norms[:, None]


def _favor_logits(x: Tensor, omega: Tensor) -> Tensor:
    """``w_m . x' - |x'|^2 / 2`` with ``x' = x E^(-1/4)``: ``(..., L, E) -> (..., L, M)``.

    ``exp`` of these (times M^(-1/2)) are the positive random features: their inner products
    estimate ``exp(q . k / sqrt(E))`` without bias (FAVOR+, Lemma 1). The subtraction is in
    place: these tensors are the biggest the Performer makes, so one buffer, not two.
    """
    x = x * x.shape[-1] ** -0.25
    return (x @ omega.T).sub_(0.5 * (x * x).sum(-1, keepdim=True))


def _favor_queries(q: Tensor, omega: Tensor) -> Tensor:
    """Query features ``(B, H, L, M)``, up to a per-query factor.

    A per-query factor cancels between numerator and denominator, so ``-|q'|^2 / 2`` is
    left out and the row max is subtracted for range; all in place in one buffer.
    """
    a = (q * q.shape[-1] ** -0.25) @ omega.T  # (B, H, L, M)
    return a.sub_(a.detach().amax(-1, keepdim=True)).exp_()


# Features are computed this many (B*H*rows*M) elements at a time (4 MB in float32), so no
# feature tensor spans the whole length. Small blocks stay in cache and come from malloc's
# free lists: glibc serves buffers over 32 MB with fresh mmap()s, whose page faults made
# one-block 8K-long inputs ~40% slower. With ``recompute`` each block is recomputed in the
# backward pass instead of kept (activation checkpointing): O(L*E) saved, not O(L*M).
FEATURE_BLOCK_ELEMENTS = 1 << 20
_NO_KEY_YET = -1e30  # stabiliser before any real key: finite, so exp(-inf - it) = 0


def performer_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    omega: Tensor,
    *,
    key_mask: Tensor | None = None,
    causal: bool = False,
    chunk: int = 64,
    block_elements: int = FEATURE_BLOCK_ELEMENTS,
    recompute: bool = False,
) -> Tensor:
    """Performer FAVOR+ attention (Choromanski et al. 2021) with positive random features.

    Args:
        q, k, v: ``(B, H, L, E)``.
        omega: ``(M, E)`` from :func:`orthogonal_random_features`.
        key_mask: ``(B, L)`` bool; padded keys get zero features, so they add nothing to
            the sums (nor to the stabiliser).
        causal: prefix sums instead of one global sum, computed chunk by chunk: quadratic
            inside a chunk of ``chunk`` steps, a carried ``(M, E)`` state between chunks.
        block_elements: rows are processed in blocks of at most this many ``B*H*rows*M``
            feature elements (whole chunks when causal).
        recompute: keep only each block's inputs for the backward pass and recompute its
            features there (about 25% more time, a fraction of the memory).
    Returns:
        ``(B, H, L, E)``; time O(L * M * E); memory for the backward pass O(L * M), or
        O(L * E) + O(block) with ``recompute``.

    Key features need one shared stabiliser (a per-key one would not cancel). Each block
    uses the max of its own key logits (causally: the running max); blocks are combined
    after rescaling to the common max, so no later key ever changes an earlier causal output.
    Stabilisers are constants to autograd: the result does not depend on them.
    """
    B, H, L, E = q.shape
    M = omega.shape[0]
    rows = max(1, block_elements // max(1, B * H * M))
    if causal:
        rows = max(chunk, rows // chunk * chunk)  # whole chunks per block
    v1 = torch.cat([v, v.new_ones(B, H, L, 1)], dim=-1)  # (B, H, L, E+1): sums and counts
    blocks = [(s, min(s + rows, L)) for s in range(0, L, rows)]
    run = _checkpointed if recompute and torch.is_grad_enabled() else _call
    masks = [None if key_mask is None else key_mask[:, s:e] for s, e in blocks]
    if causal:
        state = q.new_zeros(B, H, M, E + 1)  # (B, H, M, E+1) sums entering the block
        stab = q.new_full((B, H), _NO_KEY_YET)  # (B, H) their scale
        outs = []
        for (s, e), mask in zip(blocks, masks, strict=True):
            out, state, stab = run(_causal_block, q[:, :, s:e], k[:, :, s:e], v1[:, :, s:e],
                                   omega, mask, state, stab, chunk)
            outs.append(out)
    else:
        parts = [run(_key_sums, k[:, :, s:e], v1[:, :, s:e], omega, mask)
                 for (s, e), mask in zip(blocks, masks, strict=True)]
        kv = _combine_key_sums(parts)  # (B, H, M, E+1)
        outs = [run(_read_queries, q[:, :, s:e], omega, kv) for s, e in blocks]
    out = outs[0] if len(outs) == 1 else torch.cat(outs, dim=2)  # (B, H, L, E+1)
    return out[..., :E] / out[..., E:].clamp_min(torch.finfo(out.dtype).tiny)


def _call(fn, *args):
    return fn(*args)


def _checkpointed(fn, *args):
    return checkpoint(fn, *args, use_reentrant=False)


def _masked_key_logits(k: Tensor, omega: Tensor, key_mask: Tensor | None) -> Tensor:
    """Key logits ``(B, H, S, M)``; padded keys at -inf, so their features are exactly 0."""
    a_k = _favor_logits(k, omega)
    if key_mask is not None:
        a_k = a_k.masked_fill_(~key_mask[:, None, :, None], float("-inf"))
    return a_k


def _key_sums(
    k: Tensor, v1: Tensor, omega: Tensor, key_mask: Tensor | None
) -> tuple[Tensor, Tensor]:
    """One block's ``sum_s phi(k_s) v1_s^T`` ``(B, H, M, E+1)`` at its own scale ``(B, H)``."""
    a_k = _masked_key_logits(k, omega, key_mask)  # (B, H, S, M)
    stab = a_k.detach().amax(dim=(2, 3)).clamp_min(_NO_KEY_YET)  # (B, H)
    phi_k = a_k.sub_(stab[..., None, None]).exp_()  # in place: the biggest buffer here
    return phi_k.transpose(-1, -2) @ v1, stab


def _combine_key_sums(parts: list[tuple[Tensor, Tensor]]) -> Tensor:
    """Sum the blocks' key sums after rescaling each to the largest stabiliser."""
    if len(parts) == 1:
        return parts[0][0]
    top = torch.stack([stab for _, stab in parts]).amax(dim=0)  # (B, H)
    return sum(kv * torch.exp(stab - top)[..., None, None] for kv, stab in parts)


def _read_queries(q: Tensor, omega: Tensor, kv: Tensor) -> Tensor:
    """Numerators and denominators ``(B, H, L, E+1)`` for a block of queries."""
    return _favor_queries(q, omega) @ kv


def _causal_block(
    q: Tensor,
    k: Tensor,
    v1: Tensor,
    omega: Tensor,
    key_mask: Tensor | None,
    state: Tensor,
    stab: Tensor,
    chunk: int,
) -> tuple[Tensor, Tensor, Tensor]:
    """Causal FAVOR+ over one block by chunked prefix sums, carrying the running sums.

    Args:
        q, k: ``(B, H, L, E)``; v1: ``(B, H, L, E+1)`` (values and a column of ones).
        state: ``(B, H, M, E+1)`` sums of everything before the block, at scale ``stab (B, H)``.
    Returns:
        numerators and denominators ``(B, H, L, E+1)``, and the state and scale after the block.
    """
    B, H, L, _ = q.shape
    M = omega.shape[0]
    C = min(chunk, L)
    n = -(-L // C)
    pad = n * C - L
    phi_q = F.pad(_favor_queries(q, omega), (0, 0, 0, pad)).view(B, H, n, C, M)
    a_k = F.pad(_masked_key_logits(k, omega, key_mask), (0, 0, 0, pad), value=float("-inf"))
    a_k = a_k.view(B, H, n, C, M)
    v1 = F.pad(v1, (0, 0, 0, pad)).view(B, H, n, C, -1)
    # Scale per chunk: the running max of key logits up to the chunk's end (B, H, n).
    chunk_max = torch.cat([stab[..., None], a_k.detach().amax(dim=(3, 4))], dim=2)
    scale = chunk_max.cummax(dim=2).values.clamp_min(_NO_KEY_YET)  # (B, H, n+1)
    phi_k = a_k.sub_(scale[..., 1:, None, None]).exp_()  # (B, H, n, C, M), in place
    kv = phi_k.transpose(-1, -2) @ v1  # (B, H, n, M, E+1): each chunk's own sum
    # State entering chunk c at chunk c's scale: S_c = e^(s_{c-1}-s_c) (S_{c-1} + kv_{c-1}).
    decay = torch.exp(scale[..., :-1] - scale[..., 1:])  # (B, H, n), <= 1
    states = [state * decay[:, :, 0, None, None]]
    for c in range(1, n):
        states.append((states[-1] + kv[:, :, c - 1]) * decay[:, :, c, None, None])
    entering = torch.stack(states, dim=2)  # (B, H, n, M, E+1)
    inter = phi_q @ entering  # (B, H, n, C, E+1)
    scores = (phi_q @ phi_k.transpose(-1, -2)).tril()  # (B, H, n, C, C): causal in-chunk
    out = (inter + scores @ v1).reshape(B, H, n * C, -1)[:, :, :L]
    return out, states[-1] + kv[:, :, -1], scale[..., -1]


# ---- FlexAttention backend (optional, chosen at run time) -------------------------------

FLEX_BLOCK = 128  # FlexAttention's tile; the block mask lists tiles, never L x L entries
_flex_compiled = None


def flex_unavailable_reason(q: Tensor, needs_grad: bool) -> str | None:
    """Why FlexAttention cannot run this call (None when it can).

    FlexAttention compiles its kernel: Triton on CUDA; on CPU an Inductor C++ kernel that
    needs a C++ compiler and (torch 2.13) has no backward.
    """
    try:
        from torch.nn.attention import flex_attention as _flex  # noqa: F401
    except ImportError as err:
        return f"torch.nn.attention.flex_attention is not importable ({err})"
    if q.device.type == "cpu":
        if needs_grad:
            return "FlexAttention has no backward on CPU"
        from torch._inductor import cpp_builder

        try:
            compiler = cpp_builder.get_cpp_compiler()
        except (RuntimeError, OSError) as err:  # no compiler on PATH
            return f"no C++ compiler for torch.compile on CPU ({err})"
        if not compiler:
            return "no C++ compiler for torch.compile on CPU"
    elif q.device.type != "cuda":
        return f"FlexAttention is not supported on {q.device.type}"
    return None


def _flex_attention(q: Tensor, k: Tensor, v: Tensor, block_mask) -> Tensor:
    global _flex_compiled
    from torch.nn.attention.flex_attention import flex_attention

    if _flex_compiled is None:
        _flex_compiled = torch.compile(flex_attention, dynamic=False)
    return _flex_compiled(q, k, v, block_mask=block_mask)


def flex_sliding_window_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    window: int,
    *,
    n_global: int = 0,
    key_mask: Tensor | None = None,
    causal: bool = False,
) -> Tensor:
    """:func:`sliding_window_attention` through FlexAttention with a tile-level block mask.

    The block mask is built from tile ranges (O((L / 128)^2) booleans), not by evaluating
    the mask at L x L points; ``mask_mod`` then masks exactly inside the partial tiles.
    """
    from torch.nn.attention.flex_attention import BlockMask

    B, H, L, E = q.shape
    G = min(n_global, L)
    dev = q.device
    n_tiles = -(-L // FLEX_BLOCK)
    qt = torch.arange(n_tiles, device=dev)
    lo_q, hi_q = qt * FLEX_BLOCK, qt * FLEX_BLOCK + FLEX_BLOCK - 1  # first/last query of a tile
    lo_k, hi_k = lo_q[None, :], hi_q[None, :]
    lo_q, hi_q = lo_q[:, None], hi_q[:, None]
    # A tile pair is needed when some (i, j) in it is allowed.
    if causal:
        needed = (lo_k <= hi_q) & (hi_k >= lo_q - window)
        needed |= (lo_k < G) & (lo_k <= hi_q)
    else:
        needed = (lo_k <= hi_q + window) & (hi_k >= lo_q - window)
        needed |= (lo_k < G) | (lo_q < G)
    counts = needed.sum(-1).to(torch.int32)  # (nq,)
    order = torch.argsort((~needed).to(torch.int8), dim=-1, stable=True).to(torch.int32)
    valid = key_mask

    def mask_mod(b, h, qi, kv):
        diff = qi - kv
        if causal:
            ok = ((diff >= 0) & (diff <= window)) | ((kv < G) & (diff >= 0))
        else:
            ok = (diff.abs() <= window) | (kv < G) | (qi < G)
        if valid is not None:
            ok = ok & valid[b, kv]
        return ok

    block_mask = BlockMask.from_kv_blocks(
        counts[None, None].expand(B, 1, -1).contiguous(),
        order[None, None].expand(B, 1, -1, -1).contiguous(),
        BLOCK_SIZE=FLEX_BLOCK,
        mask_mod=mask_mod,
        seq_lengths=(L, L),
    )
    return _flex_attention(q, k, v, block_mask)


# ---- core modules (what MultiHeadAttention holds) ----------------------------------------

BACKENDS = ("auto", "eager", "flex")


class SlidingWindowAttention(nn.Module):
    """Longformer core: :func:`sliding_window_attention`, causal or not, streaming.

    Backends: ``eager`` (blocked SDPA, runs anywhere, with backward), ``flex`` (FlexAttention,
    compiled), ``auto`` (flex on CUDA, eager elsewhere: on CPU, torch 2.13, flex has no
    backward, compiles each shape for ~15 s, and its forward ran 1.8x slower than eager at
    L=8192, D=64, one thread). A requested flex that cannot run falls back to eager with a
    logged note.
    """

    def __init__(self, window: int, n_global: int = 0, backend: str = "auto"):
        super().__init__()
        if window < 0 or n_global < 0:
            raise ValueError(f"window and n_global must be >= 0, got {window}, {n_global}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.window = window
        self.n_global = n_global
        self.backend = backend

    def _use_flex(self, q: Tensor) -> bool:
        if self.backend == "eager" or (self.backend == "auto" and q.device.type != "cuda"):
            return False
        needs_grad = torch.is_grad_enabled() and q.requires_grad
        reason = flex_unavailable_reason(q, needs_grad)
        if reason is not None:
            _note_once(f"sliding window: FlexAttention unavailable ({reason}); using eager")
            return False
        return True

    def forward(
        self, q: Tensor, k: Tensor, v: Tensor, key_mask: Tensor | None, causal: bool
    ) -> Tensor:
        L = q.shape[2]
        if self.window < L - 1 and self._use_flex(q):
            return flex_sliding_window_attention(
                q, k, v, self.window, n_global=self.n_global, key_mask=key_mask, causal=causal
            )
        return sliding_window_attention(
            q, k, v, self.window, n_global=self.n_global, key_mask=key_mask, causal=causal
        )

    def init_state(self, batch: int, heads: int, head_dim: int, device, dtype):
        """Rolling caches: the first G keys (sinks) and the last ``w + 1`` keys, ``(B, H, *, E)``."""
        empty = torch.zeros(batch, heads, 0, head_dim, device=device, dtype=dtype)
        return {"t": 0, "sink_k": empty, "sink_v": empty, "win_k": empty, "win_v": empty}

    def step(self, q_t: Tensor, k_t: Tensor, v_t: Tensor, state):
        """Causal step at position t: keys ``t-w..t`` plus sinks ``j < min(G, t-w)``; O(w + G)."""
        t, w = state["t"], self.window
        k_new, v_new = k_t.unsqueeze(2), v_t.unsqueeze(2)  # (B, H, 1, E)
        win_k = torch.cat([state["win_k"], k_new], dim=2)[:, :, -(w + 1) :]
        win_v = torch.cat([state["win_v"], v_new], dim=2)[:, :, -(w + 1) :]
        sink_k, sink_v = state["sink_k"], state["sink_v"]
        if t < self.n_global:
            sink_k = torch.cat([sink_k, k_new], dim=2)
            sink_v = torch.cat([sink_v, v_new], dim=2)
        n_sink = max(0, min(self.n_global, t - w))  # sinks not already in the window
        keys = torch.cat([sink_k[:, :, :n_sink], win_k], dim=2)
        values = torch.cat([sink_v[:, :, :n_sink], win_v], dim=2)
        out = F.scaled_dot_product_attention(q_t.unsqueeze(2), keys, values).squeeze(2)
        new = {"t": t + 1, "sink_k": sink_k, "sink_v": sink_v, "win_k": win_k, "win_v": win_v}
        return out, new


class BigBirdAttention(nn.Module):
    """BigBird-ITC core: :func:`bigbird_attention` (non-causal only).

    The random blocks are a deterministic function of a per-layer seed (a buffer, saved
    with the weights) and the sequence's real block count, so evaluation is deterministic
    and padding never changes the pattern.
    """

    def __init__(self, block: int, n_global: int = 0, n_random: int = 0):
        super().__init__()
        if block < 1 or n_global < 0 or n_random < 0:
            raise ValueError(
                f"need window (block) >= 1, n_global >= 0, n_random >= 0; got "
                f"{block}, {n_global}, {n_random}"
            )
        self.block, self.n_global, self.n_random = block, n_global, n_random
        seed = int(torch.randint(0, 2**31 - 1, (), device="cpu"))  # from the global RNG
        self.register_buffer("seed", torch.tensor(seed, dtype=torch.long))

    def forward(
        self, q: Tensor, k: Tensor, v: Tensor, key_mask: Tensor | None, causal: bool
    ) -> Tensor:
        if causal:
            raise ValueError("BigBird attention is non-causal (random blocks look ahead)")
        B, _, L, _ = q.shape
        nb = -(-L // self.block)
        lengths = (key_mask.sum(1) if key_mask is not None
                   else torch.full((B,), L, dtype=torch.long))
        rand = bigbird_random_blocks(lengths, self.block, nb, self.n_random, int(self.seed))
        return bigbird_attention(
            q, k, v, self.block, n_global=self.n_global,
            random_blocks=rand.to(q.device), key_mask=key_mask,
        )


class LinformerAttention(nn.Module):
    """Linformer core: :func:`linformer_attention` with ``(P, max_len)`` projections.

    ``learn_proj=False`` keeps the projections fixed (buffers, saved with the weights):
    random Gaussian N(0, 1/P) matrices, the Johnson-Lindenstrauss projections of the
    paper's Theorem 1. Learned ones (``True``, as in the paper's experiments) cost
    ``P * max_len`` parameters per matrix regardless of width.
    """

    def __init__(self, proj_len: int, max_len: int, share_kv: bool = False,
                 learn_proj: bool = False):
        super().__init__()
        if proj_len < 1 or max_len < 1:
            raise ValueError(f"proj_len and max_len must be >= 1, got {proj_len}, {max_len}")
        self.proj_len, self.max_len, self.share_kv = proj_len, max_len, share_kv
        shape = (proj_len, max_len)
        mats = [torch.randn(shape) * proj_len**-0.5 for _ in range(1 if share_kv else 2)]
        for name, mat in zip(("proj_k", "proj_v"), mats, strict=False):
            if learn_proj:
                self.register_parameter(name, nn.Parameter(mat))
            else:
                self.register_buffer(name, mat)

    def forward(
        self, q: Tensor, k: Tensor, v: Tensor, key_mask: Tensor | None, causal: bool
    ) -> Tensor:
        if causal:
            raise ValueError("Linformer attention is non-causal (it mixes the whole length)")
        L = q.shape[2]
        if self.max_len < L:
            raise SeqSelectError(
                f"linformer takes at most max_len={self.max_len} steps, got an input of "
                f"length {L}; build it with max_len >= {L}"
            )
        proj_k = self.proj_k[:, :L]
        proj_v = proj_k if self.share_kv else self.proj_v[:, :L]
        return linformer_attention(q, k, v, proj_k, proj_v, key_mask)


class PerformerAttention(nn.Module):
    """Performer core: :func:`performer_attention`, causal or not, streaming.

    ``redraw_interval``: in training, draw fresh features every that many forward calls
    (0 = never), as the paper does to avoid over-fitting one set of features.
    ``recompute``: trade time for memory in training (see :func:`performer_attention`).
    """

    def __init__(self, n_features: int, head_dim: int, redraw_interval: int = 0,
                 chunk: int = 64, recompute: bool = False):
        super().__init__()
        if n_features < 1:
            raise ValueError(f"n_features must be >= 1, got {n_features}")
        self.n_features, self.head_dim = n_features, head_dim
        self.redraw_interval, self.chunk = redraw_interval, chunk
        self.recompute = recompute
        self.calls = 0
        self.register_buffer("omega", torch.empty(n_features, head_dim))
        self.redraw_features()

    @torch.no_grad()
    def redraw_features(self) -> None:
        """Replace the features with a fresh orthogonal draw from the global RNG."""
        if self.omega.is_meta:  # shape-only builds (parameter counting)
            return
        new = orthogonal_random_features(self.n_features, self.head_dim)
        self.omega.copy_(new.to(self.omega.device, self.omega.dtype))

    def forward(
        self, q: Tensor, k: Tensor, v: Tensor, key_mask: Tensor | None, causal: bool
    ) -> Tensor:
        if self.training and self.redraw_interval > 0:
            if self.calls > 0 and self.calls % self.redraw_interval == 0:
                self.redraw_features()
            self.calls += 1
        return performer_attention(
            q, k, v, self.omega.to(q.dtype), key_mask=key_mask, causal=causal,
            chunk=self.chunk, recompute=self.recompute,
        )

    def init_state(self, batch: int, heads: int, head_dim: int, device, dtype):
        """Running sums ``(B, H, M, E+1)`` and their stabiliser ``(B, H)``."""
        return {
            "sums": torch.zeros(batch, heads, self.n_features, head_dim + 1, device=device,
                                dtype=dtype),
            "stab": torch.full((batch, heads), float("-inf"), device=device, dtype=dtype),
        }

    def step(self, q_t: Tensor, k_t: Tensor, v_t: Tensor, state):
        """One causal step in O(M * E): rescale the sums if the stabiliser grows, add, read."""
        omega = self.omega.to(q_t.dtype)
        a_k = _favor_logits(k_t.unsqueeze(2), omega).squeeze(2)  # (B, H, M)
        stab = torch.maximum(state["stab"], a_k.amax(-1))  # (B, H)
        v1 = torch.cat([v_t, v_t.new_ones(*v_t.shape[:-1], 1)], dim=-1)  # (B, H, E+1)
        phi_k = torch.exp(a_k - stab[..., None])  # (B, H, M)
        sums = state["sums"] * torch.exp(state["stab"] - stab)[..., None, None]
        sums = sums + phi_k[..., :, None] * v1[..., None, :]  # (B, H, M, E+1)
        phi_q = _favor_queries(q_t.unsqueeze(2), omega).squeeze(2)  # (B, H, M)
        out = torch.einsum("bhm,bhme->bhe", phi_q, sums)
        E = v_t.shape[-1]
        out = out[..., :E] / out[..., E:].clamp_min(torch.finfo(out.dtype).tiny)
        return out, {"sums": sums, "stab": stab}
