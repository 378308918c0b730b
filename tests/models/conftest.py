"""Helpers the attention tests share, offered as fixtures (under ``--import-mode=importlib``
test modules cannot import each other). Each fixture returns a plain function.

Shapes: ``qkv`` gives ``q, k, v: (B, H, L, E)`` with B, H, E = 2, 3, 8.
"""

from __future__ import annotations

import pytest
import torch

from seqselect.models.attention import dense_masked_attention

B, H, E = 2, 3, 8


def make_qkv(length: int, seed: int = 0, batch: int = B) -> list[torch.Tensor]:
    """Three seeded standard-normal tensors ``(batch, H, length, E)``."""
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, H, length, E, generator=generator) for _ in range(3)]


def make_right_padded(lengths: list[int], length: int) -> torch.Tensor:
    """``(len(lengths), length)`` bool: the first ``lengths[b]`` steps of row b are real."""
    mask = torch.zeros(len(lengths), length, dtype=torch.bool)
    for row, n_real in enumerate(lengths):
        mask[row, :n_real] = True
    return mask


def masked_reference(q, k, v, pattern, key_mask):
    """Dense attention restricted to ``pattern`` ((L, L) or (B, L, L)) and real keys."""
    allowed = pattern if pattern.dim() == 4 else pattern.view(-1, 1, *pattern.shape[-2:])
    if key_mask is not None:
        allowed = allowed & key_mask[:, None, None, :]
    return dense_masked_attention(q, k, v, allowed)


def check_real_rows_close(got, want, key_mask, **tol) -> None:
    """``assert_close`` on the real query rows only (padded queries carry no meaning)."""
    if key_mask is None:
        torch.testing.assert_close(got, want, **tol)
        return
    for row in range(got.shape[0]):
        n_real = int(key_mask[row].sum())
        torch.testing.assert_close(got[row, :, :n_real], want[row, :, :n_real], **tol)


def fill_padding(x, key_mask, value=1e4):
    """Padded positions filled with large garbage (what deep layers may hold there)."""
    return x.masked_fill(~key_mask[:, None, :, None], value)


@pytest.fixture
def qkv():
    return make_qkv


@pytest.fixture
def right_padded():
    return make_right_padded


@pytest.fixture
def reference():
    return masked_reference


@pytest.fixture
def assert_real_rows_close():
    return check_real_rows_close


@pytest.fixture
def with_garbage():
    return fill_padding
