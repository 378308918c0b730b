"""Mamba (``models/mamba.py``): the chunked parallel scan against a sequential loop (float32
1e-5; gradients in float64), no Python loop over L, and the logged mamba_ssm fallback."""

from __future__ import annotations

import logging
import sys

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from seqselect.models import mamba as mamba_mod
from seqselect.models.mamba import selective_scan, selective_scan_ref

F64 = {"atol": 1e-6, "rtol": 1e-6}


# ---- Mamba --------------------------------------------------------------------------------------


def _scan_args(L, E=6, N=4, batch=2, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, L, E, generator=g, dtype=dtype)
    delta = F.softplus(torch.randn(batch, L, E, generator=g, dtype=dtype) - 1)
    A = -torch.rand(E, N, generator=g, dtype=dtype) * 4 - 0.05
    B = torch.randn(batch, L, N, generator=g, dtype=dtype)
    C = torch.randn(batch, L, N, generator=g, dtype=dtype)
    D = torch.randn(E, generator=g, dtype=dtype)
    return [x, delta, A, B, C, D]


@pytest.mark.parametrize(
    ("L", "chunk"),
    [(1, None), (15, None), (16, None), (17, 5), (300, None), (300, 64), (1000, 100)],
)
def test_parallel_scan_equals_the_sequential_loop(L, chunk):
    args = _scan_args(L)
    torch.testing.assert_close(
        selective_scan(*args, chunk=chunk), selective_scan_ref(*args), atol=1e-5, rtol=1e-5
    )


@pytest.mark.parametrize(("L", "chunk"), [(1, None), (33, 7), (300, None), (257, 64)])
def test_parallel_scan_gradients_equal_the_sequential_loop(L, chunk):
    args = [a.requires_grad_() for a in _scan_args(L, dtype=torch.float64)]
    y = selective_scan(*args, chunk=chunk)
    gy = torch.randn_like(y)
    got = torch.autograd.grad(y, args, gy)
    want = torch.autograd.grad(selective_scan_ref(*args), args, gy)
    for name, a, b in zip(["x", "delta", "A", "B", "C", "D"], got, want, strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10, msg=f"gradient of {name}")


def test_parallel_scan_in_batch_groups(monkeypatch):
    """A small element budget splits the batch into groups and the length into chunks."""
    monkeypatch.setattr(mamba_mod, "_CHUNK_ELEMENTS", 1000)
    args = [a.requires_grad_() for a in _scan_args(300, batch=3, dtype=torch.float64)]
    y = selective_scan(*args)
    torch.testing.assert_close(y, selective_scan_ref(*args), atol=1e-10, rtol=1e-10)
    got = torch.autograd.grad(y.sum(), args)
    want = torch.autograd.grad(selective_scan_ref(*args).sum(), args)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


def test_parallel_scan_passes_gradcheck():
    args = [a.requires_grad_() for a in _scan_args(21, E=3, N=2, dtype=torch.float64)]
    assert torch.autograd.gradcheck(lambda *a: selective_scan(*a, chunk=8), args)


class _CountOps(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.n = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.n += 1
        return func(*args, **(kwargs or {}))


def test_parallel_scan_has_no_python_loop_over_the_length():
    counts = {}
    for L in (512, 8192):
        args = [a.requires_grad_() for a in _scan_args(L, E=2, N=2, batch=1)]
        with _CountOps() as mode:
            selective_scan(*args).sum().backward()
        counts[L] = mode.n
    # 16x the length: one more level of the blocked scan, not 16x the operations.
    assert counts[8192] < 1.5 * counts[512], counts


def test_mamba_ssm_fallback_is_logged_once(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "mamba_ssm", None)  # makes the import fail
    monkeypatch.setattr(mamba_mod, "_KERNEL_STATE", None)
    with caplog.at_level(logging.WARNING, logger="seqselect.models.mamba"):
        assert mamba_mod._mamba_ssm_scan() is None
        assert mamba_mod._mamba_ssm_scan() is None
    assert sum("falls back" in r.getMessage() for r in caplog.records) == 1
