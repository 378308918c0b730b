"""Performer's FAVOR+ attention: positive orthogonal random features, causal or not.

Symbols: B batch, H heads, L length, E head width, M random features, C causal chunk
length, n chunks per block.

Kernel tier: :func:`orthogonal_random_features`, :func:`performer_attention` (blocked
feature computation, optional recompute in backward, chunked prefix sums when causal);
layer tier: :class:`PerformerAttention` (feature redraws, streaming by running sums).
Memory O(L * M), or O(L * E) with ``recompute``: never L x L.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint


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
        gaussian = torch.randn(head_dim, head_dim, generator=generator, device=device)
        orthonormal, _ = torch.linalg.qr(gaussian)
        blocks.append(orthonormal.T)
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
    logits = (q * q.shape[-1] ** -0.25) @ omega.T  # (B, H, L, M)
    return logits.sub_(logits.detach().amax(-1, keepdim=True)).exp_()


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
    for chunk_index in range(1, n):
        carried = states[-1] + kv[:, :, chunk_index - 1]
        states.append(carried * decay[:, :, chunk_index, None, None])
    entering = torch.stack(states, dim=2)  # (B, H, n, M, E+1)
    inter = phi_q @ entering  # (B, H, n, C, E+1)
    scores = (phi_q @ phi_k.transpose(-1, -2)).tril()  # (B, H, n, C, C): causal in-chunk
    out = (inter + scores @ v1).reshape(B, H, n * C, -1)[:, :, :L]
    return out, states[-1] + kv[:, :, -1], scale[..., -1]



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
