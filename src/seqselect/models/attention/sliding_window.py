"""Longformer's sliding-window attention: one predicate, an eager and a FlexAttention kernel.

Symbols: B batch, H heads, L length, E head width, w window (keys on each side of a
query; causal: keys back), G global tokens, c queries per block, nb query blocks, S key
slots per query block.

:func:`window_allows` says which (query, key) pairs the pattern allows; the dense
reference pattern, the eager kernel and FlexAttention's ``mask_mod`` all ask it, so the
three cannot drift apart. Kernel tier: :func:`sliding_window_attention` (blocked SDPA,
runs anywhere, with backward) and :func:`flex_sliding_window_attention` (FlexAttention,
compiled); layer tier: :class:`SlidingWindowAttention`, the core that picks between them
at run time with a logged fallback. Memory is O(L * (c + 2w + G)): never L x L.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqselect.models.attention.blocked import (
    attend_blocks,
    attend_global_rows,
    padded_query_blocks,
    real_keys,
)
from seqselect.models.attention.dense import dense_attention

log = logging.getLogger(__name__)
_NOTED: set[str] = set()

BACKENDS = ("auto", "eager", "flex")
FLEX_BLOCK = 128  # FlexAttention's tile; the block mask lists tiles, never L x L entries
_flex_compiled = None  # torch.compile(flex_attention), compiled on first use


def _note_once(message: str) -> None:
    """Log a backend fallback once per process (a fallback is a fact, not a failure)."""
    if message not in _NOTED:
        _NOTED.add(message)
        log.info(message)


def window_allows(
    query: Tensor, key: Tensor, window: int, n_global: int, causal: bool
) -> Tensor:
    """Whether query position ``query`` may attend to key position ``key`` (broadcasting).

    Non-causal: ``|i - j| <= w``, and the first G positions attend to and are attended by
    every position. Causal: ``0 <= i - j <= w``, and the first G positions are *attention
    sinks* (attended by every later query, Xiao et al. 2023) that themselves look back only.
    """
    offset = query - key  # query minus key position
    if causal:
        return ((offset >= 0) & (offset <= window)) | ((key < n_global) & (offset >= 0))
    return (offset.abs() <= window) | (key < n_global) | (query < n_global)


def sliding_window_pattern(
    length: int, window: int, n_global: int, causal: bool, device=None
) -> Tensor:
    """Reference boolean pattern ``(L, L)`` of Longformer attention (for tests only)."""
    queries = torch.arange(length, device=device)[:, None]
    keys = torch.arange(length, device=device)[None, :]
    return window_allows(queries, keys, window, n_global, causal)


def window_query_block(window: int) -> int:
    """Queries per block for a window ``w``: the block sees ``c + 2w`` keys of which
    ``2w + 1`` are used, so c = w (2/3 useful, few blocks) capped at 128 so that a wide
    window keeps most of each score tile useful."""
    return int(min(max(window, 16), 128))


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
        return dense_attention(q, k, v, key_mask, causal)
    device = q.device
    G = min(n_global, L)
    c = block or window_query_block(window)
    nb = -(-L // c)
    back, ahead = window, (0 if causal else window)
    start = torch.arange(nb, device=device) * c  # (nb,)
    band = start[:, None] - back + torch.arange(c + back + ahead, device=device)  # (nb, c+2w)
    index = torch.cat([torch.arange(G, device=device).expand(nb, G), band], dim=1)  # (nb, S)
    query_pos = (start[:, None] + torch.arange(c, device=device))[:, :, None]  # (nb, c, 1)
    global_slot = torch.arange(index.shape[1], device=device) < G  # (S,)
    # Global keys come through their own slots; the band's slots skip them (no double
    # count). Non-causal global query rows are recomputed whole by attend_global_rows.
    own_slot = (global_slot | (index >= G))[:, None, :]  # (nb, 1, S)
    pattern = window_allows(query_pos, index[:, None, :], window, G, causal) & own_slot
    self_key = query_pos == index[:, None, :]  # (nb, c, S), before the clamp below
    in_range = (index >= 0) & (index < L)  # (nb, S)
    index = index.clamp(0, L - 1)
    real = real_keys(key_mask, B, L, device)
    allowed = pattern[None] & (in_range[None] & real[:, index])[:, :, None, :]  # (B, nb, c, S)
    allowed = allowed | (self_key[None] & padded_query_blocks(real, nb, c)[..., None])
    out = attend_blocks(q, k, v, index, allowed, c)
    return out if causal else attend_global_rows(q, k, v, G, key_mask, out)


# ---- FlexAttention backend (optional, chosen at run time) -------------------------------


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


def _compiled_flex_attention(q: Tensor, k: Tensor, v: Tensor, block_mask) -> Tensor:
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
    device = q.device
    n_tiles = -(-L // FLEX_BLOCK)
    tiles = torch.arange(n_tiles, device=device)
    first, last = tiles * FLEX_BLOCK, tiles * FLEX_BLOCK + FLEX_BLOCK - 1  # positions per tile
    first_k, last_k = first[None, :], last[None, :]
    first_q, last_q = first[:, None], last[:, None]
    # A tile pair is needed when some (i, j) in it is allowed (window_allows over ranges).
    if causal:
        needed = (first_k <= last_q) & (last_k >= first_q - window)
        needed |= (first_k < G) & (first_k <= last_q)
    else:
        needed = (first_k <= last_q + window) & (last_k >= first_q - window)
        needed |= (first_k < G) | (first_q < G)
    counts = needed.sum(-1).to(torch.int32)  # (n_tiles,)
    order = torch.argsort((~needed).to(torch.int8), dim=-1, stable=True).to(torch.int32)

    def mask_mod(batch, head, query, key):
        allowed = window_allows(query, key, window, G, causal)
        return allowed if key_mask is None else allowed & key_mask[batch, key]

    block_mask = BlockMask.from_kv_blocks(
        counts[None, None].expand(B, 1, -1).contiguous(),
        order[None, None].expand(B, 1, -1, -1).contiguous(),
        BLOCK_SIZE=FLEX_BLOCK,
        mask_mod=mask_mod,
        seq_lengths=(L, L),
    )
    return _compiled_flex_attention(q, k, v, block_mask)


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
        """Rolling caches ``(B, H, *, E)``: the first G keys (sinks) and the last ``w + 1``."""
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

