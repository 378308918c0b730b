"""Dense attention: the multi-head layer, the dense core and the reference twin of every core.

Symbols: B batch, L length (queries), S length (keys), D model width, H heads,
E head width (D / H).

The multi-head layer owns the projections; a *core* owns only the attention math, so the
Transformer and the sparse/efficient Transformers differ in their core alone. A core is an
``nn.Module`` with

* ``forward(q, k, v, key_mask, causal) -> (B, H, L, E)`` with ``q, k, v: (B, H, L, E)``
  and ``key_mask: (B, L) bool | None`` (True = real key, right-padded);
* streaming cores also ``init_state(B, H, E, device, dtype)`` and
  ``step(q_t, k_t, v_t, state) -> ((B, H, E), state)`` with ``q_t, k_t, v_t: (B, H, E)``.

Kernel tier: :func:`dense_attention`, :func:`dense_masked_attention` (the slow twin);
layer tier: :class:`DenseAttention` (a core), :class:`MultiHeadAttention` ``(B, L, D)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def dense_attention(
    q: Tensor, k: Tensor, v: Tensor, key_mask: Tensor | None, causal: bool
) -> Tensor:
    """Full softmax attention through ``F.scaled_dot_product_attention``.

    Args:
        q, k, v: ``(B, H, L, E)``.
        key_mask: ``(B, L)`` bool, True = real key (right padding), or None.
    Returns:
        ``(B, H, L, E)``. SDPA picks a fused kernel (FlashAttention-style on CPU and CUDA)
        that never stores the L x S score matrix: memory O(L), compute O(L^2). The sparse
        cores fall back to it when their pattern would cover every pair.
    """
    if causal:
        # Right padding: a real query at i only sees keys <= i, which are all real,
        # so the causal mask alone keeps padding out and the fused path stays available.
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    attn_mask = None if key_mask is None else key_mask[:, None, None, :]  # (B, 1, 1, S)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)


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


class DenseAttention(nn.Module):
    """The Transformer's core: :func:`dense_attention`, streaming with a key/value cache."""

    def forward(
        self, q: Tensor, k: Tensor, v: Tensor, key_mask: Tensor | None, causal: bool
    ) -> Tensor:
        return dense_attention(q, k, v, key_mask, causal)

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

