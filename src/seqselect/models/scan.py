"""Shared by the gated linear recurrences (Mamba-2, minGRU/minLSTM, xLSTM, GLA): log-space
scan helpers and the block stack.

Symbols: B batch, L length, T steps per chunk, ``...`` any leading dimensions.

* :func:`segsum` — the segment sums ``sum_{j < k <= i} a_k`` of log-decays, ``-inf`` above
  the diagonal, so that ``exp(segsum(a))`` is the lower-triangular decay matrix of a scalar
  linear recurrence (Dao & Gu 2024, "Transformers are SSMs", the SSD listing).
* :func:`log_linear_scan` — ``h_t = a_t h_{t-1} + b_t`` for positive ``a, b`` given as
  logs, parallel over the length by Heinsen's log-cumsum-exp (Heinsen 2023, "Efficient
  Parallelization of a Ubiquitous Sequential Computation"), in chunks that carry the state.
* :func:`reverse_linear_scan` — ``G_t = g_t + a_{t+1} G_{t+1}`` for signed ``g``, the
  backward pass of that recurrence (hand-written backwards call it; no autograd inside).
* :class:`BlockStack` — the backbone of blocks that each stream: ``forward(h, mask)``,
  ``init_state`` and ``step`` per block, stacked.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

from seqselect.models.base import step_layers

__all__ = ["BlockStack", "in_float32", "log_linear_scan", "reverse_linear_scan", "segsum"]

# Steps per chunk of the log-space scan: inside a chunk the cumulative log-decay is
# subtracted and added back, so its size bounds the float32 cancellation error.
LOG_SCAN_CHUNK = 256


def in_float32(fn, *tensors: Tensor, **kwargs):
    """``fn(*tensors, **kwargs)`` with autocast off and the tensors at least float32.

    Cumulative log-decays and their exponentials lose most of their digits in bfloat16
    (8 bits of mantissa), so the kernels run in float32 under bf16 autocast as well;
    the callers cast the result back.
    """
    dtype = torch.promote_types(tensors[0].dtype, torch.float32)
    with torch.autocast(device_type=tensors[0].device.type, enabled=False):
        return fn(*(t.to(dtype) for t in tensors), **kwargs)


def segsum(a: Tensor) -> Tensor:
    """``a: (..., T)`` -> ``(..., T, T)`` with ``out[..., i, j] = sum_{k=j+1..i} a[..., k]``
    for ``i >= j`` and ``-inf`` for ``i < j``.

    Summed by masking then cumsum (not as a difference of cumulative sums), so that no
    large cumulative value is subtracted from another: exact for long chunks too.
    """
    T = a.shape[-1]
    keep_strict = torch.ones(T, T, dtype=torch.bool, device=a.device).tril(-1)
    rows = a.unsqueeze(-1).expand(*a.shape, T)  # (..., T, T): rows[..., i, j] = a_i
    sums = rows.masked_fill(~keep_strict, 0.0).cumsum(dim=-2)
    keep = torch.ones(T, T, dtype=torch.bool, device=a.device).tril()
    return sums.masked_fill(~keep, float("-inf"))


def _log_scan_chunk(log_a: Tensor, log_b: Tensor, log_h0: Tensor | None) -> Tensor:
    """One chunk of :func:`log_linear_scan` (``(B, T, ...)`` along dim 1)."""
    a_star = log_a.cumsum(dim=1)  # (B, T, ...): log prod_{k<=t} a_k
    log_h = a_star + torch.logcumsumexp(log_b - a_star, dim=1)
    if log_h0 is not None:  # the carried state, decayed by every a_k of the chunk
        log_h = torch.logaddexp(log_h, a_star + log_h0.unsqueeze(1))
    return log_h


def log_linear_scan(
    log_a: Tensor, log_b: Tensor, log_h0: Tensor | None = None, chunk: int = LOG_SCAN_CHUNK
) -> Tensor:
    """``log h`` for ``h_t = a_t h_{t-1} + b_t`` (``h_{-1} = h0``, or 0), ``a, b > 0``.

    Args:
        log_a, log_b: ``(B, L, ...)`` logs of the decays and of the inputs.
        log_h0: ``(B, ...)`` log of the initial state, or None for a zero state.
        chunk: steps per parallel chunk (the state is carried between chunks, a loop of
            ``L / chunk`` iterations).
    Returns:
        ``log h: (B, L, ...)``.
    """
    L = log_a.shape[1]
    outs = []
    for start in range(0, L, chunk):
        part = _log_scan_chunk(log_a[:, start : start + chunk], log_b[:, start : start + chunk],
                               log_h0)
        log_h0 = part[:, -1]
        outs.append(part)
    return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)


def _reverse_logcumsumexp(x: Tensor, dim: int) -> Tensor:
    """``out[j] = log sum_{t >= j} exp(x[t])`` along ``dim``."""
    return torch.logcumsumexp(x.flip(dim), dim).flip(dim)


def _reverse_scan_chunk(log_a: Tensor, g: Tensor) -> Tensor:
    """``G_j = g_j + a_{j+1} G_{j+1}`` inside one chunk (``(B, T, ...)`` along dim 1), from
    ``G_T = 0``: in log space with the signs of ``g`` split (``G = P - N``, ``P, N >= 0``).

    ``G_j = sum_{t >= j} g_t exp(c_t - c_j)`` with ``c`` the chunk's cumulative log-decay.
    """
    c = log_a.cumsum(dim=1)  # (B, T, ...)
    log_abs = g.abs().log() + c
    neg_inf = torch.tensor(float("-inf"), dtype=g.dtype, device=g.device)
    signed = torch.stack([torch.where(g > 0, log_abs, neg_inf),
                          torch.where(g < 0, log_abs, neg_inf)])  # (2, B, T, ...)
    pos_neg = torch.exp(_reverse_logcumsumexp(signed, dim=2) - c)  # (2, B, T, ...)
    return pos_neg[0] - pos_neg[1]


def reverse_linear_scan(log_a: Tensor, g: Tensor, chunk: int = LOG_SCAN_CHUNK) -> Tensor:
    """``G_t = g_t + a_{t+1} G_{t+1}`` (``G_L = 0``): the backward pass of the recurrence
    ``h_t = a_t h_{t-1} + b_t``, whose gradients are ``dL/d log b_t = b_t G_t`` and
    ``dL/d log a_t = a_t h_{t-1} G_t`` for ``g = dL/dh``. ``g`` may have either sign.

    Args:
        log_a: ``(B, L, ...)`` log-decays. g: ``(B, L, ...)``.
        chunk: steps per chunk; the carry ``a_s G_s`` enters the previous chunk's last ``g``.
    Returns:
        ``G: (B, L, ...)``.
    """
    L = log_a.shape[1]
    parts = []
    carry = None
    for start in reversed(range(0, L, chunk)):
        g_part = g[:, start : start + chunk]
        if carry is not None:
            g_part = g_part.clone()
            g_part[:, -1] += carry
        G = _reverse_scan_chunk(log_a[:, start : start + chunk], g_part)
        carry = torch.exp(log_a[:, start]) * G[:, 0]
        parts.append(G)
    return parts[0] if len(parts) == 1 else torch.cat(parts[::-1], dim=1)


class BlockStack(nn.Module):
    """Causal blocks in sequence: ``(B, L, D) -> (B, L, D)``.

    Each block has ``forward(h, mask)``, ``init_state(batch, device, dtype)`` and
    ``step(h_t, state)``. Right padding comes after every real step, so causal blocks
    need the mask only where it makes the final state exact (Mamba-2's dt = 0).
    """

    def __init__(self, blocks: Iterable[nn.Module], d_out: int):
        super().__init__()
        self.d_out = d_out
        self.blocks = nn.ModuleList(blocks)

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        for block in self.blocks:
            h = block(h, mask)
        return h

    def init_state(self, batch_size: int, device, dtype) -> list:
        return [b.init_state(batch_size, device, dtype) for b in self.blocks]

    def step(self, h_t: Tensor, state: list) -> tuple[Tensor, list]:
        """``h_t: (B, D)`` -> ``((B, D), state)``."""
        return step_layers(self.blocks, h_t, state)
