"""The blocked eager engine the sparse cores share: gather keys per query block, attend.

Symbols: B batch, H heads, L length, E head width, c queries per block, nb query blocks
(``ceil(L / c)``), S key slots gathered per query block, G global tokens.

A sparse pattern is written as, per query block, a list of S key positions (``index``)
and a boolean ``allowed (B, nb, c, S)`` over those slots; :func:`attend_blocks` then runs
one fused SDPA per block, so time is O(L * S * E) and memory O(L * S): nothing here ever
holds an L x L tensor.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def real_keys(key_mask: Tensor | None, batch: int, length: int, device) -> Tensor:
    """``(B, L)`` bool, True = real key."""
    if key_mask is None:
        return torch.ones(batch, length, dtype=torch.bool, device=device)
    return key_mask


def padded_query_blocks(real: Tensor, n_blocks: int, block: int) -> Tensor:
    """``(B, nb, c)`` bool, True where a query slot is padding or past the end of ``real``.

    The cores let such queries keep one key, themselves, so no row is empty and nothing
    turns NaN; their outputs are discarded or masked downstream.
    """
    batch, length = real.shape
    tail = real.new_zeros(batch, n_blocks * block - length)
    return ~torch.cat([real, tail], dim=1).view(batch, n_blocks, block)


def gather_key_blocks(x: Tensor, index: Tensor) -> Tensor:
    """Gather keys per query block: ``x (B, H, L, E)``, ``index (nb, S) | (B, nb, S)`` ->
    ``(B * nb, H, S, E)``. The copy is O(L * S / c), the only key duplication we pay."""
    B, H, L, E = x.shape
    x_by_step = x.transpose(1, 2)  # (B, L, H, E): a view, no copy
    if index.dim() == 2:
        gathered = x_by_step[:, index]  # (B, nb, S, H, E)
    else:
        batch_index = torch.arange(B, device=x.device)[:, None, None]
        gathered = x_by_step[batch_index, index]  # (B, nb, S, H, E)
    nb, S = gathered.shape[1], gathered.shape[2]
    return gathered.transpose(2, 3).reshape(B * nb, H, S, E)


def attend_blocks(
    q: Tensor, k: Tensor, v: Tensor, index: Tensor, allowed: Tensor, block: int
) -> Tensor:
    """Attention of each query block to its own gathered key set.

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
    padded_len = nb * block
    q_by_step = F.pad(q.transpose(1, 2), (0, 0, 0, 0, 0, padded_len - L))  # (B, nb c, H, E)
    q_blocks = q_by_step.view(B, nb, block, H, E).transpose(2, 3).reshape(B * nb, H, block, E)
    k_blocks, v_blocks = gather_key_blocks(k, index), gather_key_blocks(v, index)
    mask = allowed.reshape(B * nb, 1, allowed.shape[2], allowed.shape[3])  # over heads
    out = F.scaled_dot_product_attention(q_blocks, k_blocks, v_blocks, attn_mask=mask)
    # (B nb, H, c, E) -> (B, H, nb c, E)
    out = out.view(B, nb, H, block, E).permute(0, 2, 1, 3, 4).reshape(B, H, padded_len, E)
    return out[:, :, :L]


def attend_global_rows(
    q: Tensor, k: Tensor, v: Tensor, n_global: int, key_mask: Tensor | None, out: Tensor
) -> Tensor:
    """Global queries (the first G positions) attend to every real key: O(G * L).

    Returns ``out (B, H, L, E)`` with its first G rows replaced.
    """
    if n_global == 0:
        return out
    mask = None if key_mask is None else key_mask[:, None, None, :]  # (B, 1, 1, L)
    rows = F.scaled_dot_product_attention(q[:, :, :n_global], k, v, attn_mask=mask)
    return torch.cat([rows, out[:, :, n_global:]], dim=2)
