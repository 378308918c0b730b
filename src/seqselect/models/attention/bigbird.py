"""BigBird's block-sparse attention, ITC form: block window + random blocks + global tokens.

Symbols: B batch, H heads, L length, E head width, b block size (queries per block and
keys per key block), nb blocks (``ceil(L / b)``), R random key blocks per query block,
G global tokens, S key slots per query block (``G + 3b + Rb``).

Kernel tier: :func:`bigbird_random_blocks` (the random pattern), :func:`bigbird_attention`
(on the blocked engine of ``blocked.py``) and :func:`bigbird_pattern` (the dense reference
pattern, tests only); layer tier: :class:`BigBirdAttention`. Memory O(L * S): never L x L.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seqselect.models.attention.blocked import (
    attend_blocks,
    attend_global_rows,
    padded_query_blocks,
    real_keys,
)
from seqselect.models.attention.dense import dense_attention
from seqselect.models.base import lengths_from_mask


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
    for n_real in real_blocks.unique().tolist():
        gen = torch.Generator().manual_seed(seed * 1_000_003 + n_real)
        score = torch.rand(n_blocks, n_real, generator=gen)  # (nb, n_real): depends on n_real
        query_block = torch.arange(n_blocks)[:, None]
        score[(query_block - torch.arange(n_real)[None, :]).abs() <= 1] = -1.0  # not the window
        top = score.topk(min(n_random, n_real), dim=1)
        pick = torch.where(top.values >= 0, top.indices, -1)  # (nb, <= R)
        out[real_blocks == n_real, :, : pick.shape[1]] = pick
    return out.to(lengths.device)


def bigbird_pattern(
    length: int, block: int, n_global: int, random_blocks: Tensor, device=None
) -> Tensor:
    """Reference boolean pattern ``(B, L, L)`` of BigBird-ITC attention (tests only)."""
    pos = torch.arange(length, device=device)
    query_block, key_block = (pos // block)[:, None], (pos // block)[None, :]
    window = (query_block - key_block).abs() <= 1  # (L, L)
    rand = random_blocks[:, pos // block]  # (B, L, R): random blocks of each query
    is_rand = (rand[:, :, :, None] == key_block[None, None]).any(2)  # (B, L, L)
    is_global = (pos[None, :] < n_global) | (pos[:, None] < n_global)
    return window[None] | is_rand | is_global[None]


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
        return dense_attention(q, k, v, key_mask, False)
    device = q.device
    G = min(n_global, L)
    if random_blocks is None:
        random_blocks = torch.full((B, nb, 0), -1, dtype=torch.long, device=device)
    R = random_blocks.shape[2]
    offsets = torch.arange(block, device=device)  # (b,)
    blocks = torch.arange(nb, device=device)  # (nb,)
    window = (blocks[:, None] - 1) * block + torch.arange(3 * block, device=device)  # (nb, 3b)
    window = window.expand(B, nb, -1)  # (B, nb, 3b)
    rand = (random_blocks.clamp(min=0)[..., None] * block + offsets).reshape(B, nb, R * block)
    rand_ok = (random_blocks >= 0)[..., None].expand(B, nb, R, block).reshape(B, nb, R * block)
    global_keys = torch.arange(G, device=device).expand(B, nb, G)
    index = torch.cat([global_keys, window, rand], dim=2)  # (B, nb, S)
    always = torch.ones(B, nb, G + 3 * block, dtype=torch.bool, device=device)
    slot_ok = torch.cat([always, rand_ok], 2)  # (B, nb, S)
    not_global = torch.arange(index.shape[2], device=device) >= G  # slots past the global ones
    # Window and random slots skip global keys: those come through their own slots.
    slot_ok = slot_ok & (index >= 0) & (index < L) & ((index >= G) | ~not_global)
    index = index.clamp(0, L - 1)
    real = real_keys(key_mask, B, L, device)
    allowed = (slot_ok & real.gather(1, index.view(B, -1)).view_as(index))[:, :, None, :]
    # Padded queries keep themselves as a key, so no row is empty (see blocked.py).
    query_pos = blocks[:, None] * block + offsets  # (nb, b)
    self_slot = (query_pos[None, :, :, None] == index[:, :, None, :]) & not_global
    allowed = allowed | (self_slot & padded_query_blocks(real, nb, block)[..., None])
    out = attend_blocks(q, k, v, index, allowed, block)  # (B, H, L, E)
    return attend_global_rows(q, k, v, G, key_mask, out)


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
        lengths = lengths_from_mask(key_mask, B, L, q.device)  # (B,)
        rand = bigbird_random_blocks(lengths, self.block, nb, self.n_random, int(self.seed))
        return bigbird_attention(
            q, k, v, self.block, n_global=self.n_global,
            random_blocks=rand.to(q.device), key_mask=key_mask,
        )
