"""Helpers the model tests share, offered as fixtures (under ``--import-mode=importlib``
test modules cannot import each other). Each fixture returns a plain function.

Shapes: ``qkv`` gives ``q, k, v: (B, H, L, E)`` with B, H, E = 2, 3, 8 (attention tests);
``ssm_kernel`` gives an S4/S4D kernel of H channels and state size N (SSM tests).
"""

from __future__ import annotations

import pytest
import torch

from seqselect.models.attention import dense_masked_attention
from seqselect.models.s4 import DPLRKernel, S4Config
from seqselect.models.s4d import DiagonalKernel, S4DConfig

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


def make_ssm_kernel(kind: str, H: int = 3, N: int = 8, directions: int = 1, **cfg):
    """A seeded float64 S4 (``kind="s4"``) or S4D convolution kernel, H channels, state N."""
    torch.manual_seed(0)
    if kind == "s4":
        return DPLRKernel(H, N, directions, S4Config(d_state=N, **cfg)).double()
    return DiagonalKernel(H, N, directions, S4DConfig(d_state=N, **cfg)).double()


def spread_dt(kernel):
    """Spread dt over [e^-4, 1] so that slow and fast modes both matter in short tests."""
    with torch.no_grad():
        kernel.log_dt.copy_(torch.linspace(-4, 0, kernel.log_dt.numel(), dtype=torch.float64))
    return kernel


@pytest.fixture
def ssm_kernel():
    return make_ssm_kernel


@pytest.fixture
def wide_dt():
    return spread_dt
