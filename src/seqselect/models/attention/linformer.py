"""Linformer's low-rank attention: keys and values projected along the length.

Symbols: B batch, H heads, L length, E head width, P projected length (the paper's k).

Kernel tier: :func:`linformer_attention`; layer tier: :class:`LinformerAttention`, which
holds the ``(P, max_len)`` projections. Memory O(L * P): never L x L.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqselect.errors import SeqSelectError


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
