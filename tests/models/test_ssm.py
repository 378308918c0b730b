"""State space models (S4D, S4, Mamba): every fast path against its slow reference twin.

* S4D/S4 FFT convolutions == the unrolled recurrence (float64, 1e-6);
* the S4 Cauchy/Woodbury kernel == the kernel of the materialised discretised DPLR matrix;
* Mamba's chunked parallel scan == a sequential loop (float32 1e-5; gradients in float64);
* step == forward, causality and padding invariance beyond the registry-wide contract
  (float64, bidirectional variants, NaN padding);
* optimizer groups from parameter tags; the logged mamba_ssm fallback; no loop over L.
"""

from __future__ import annotations

import logging
import math
import sys

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from seqselect.models import create_model
from seqselect.models import mamba as mamba_mod
from seqselect.models.mamba import selective_scan, selective_scan_ref
from seqselect.models.optim import param_groups
from seqselect.models.s4 import DPLRKernel, S4Config, dplr_legs, hippo_legs
from seqselect.models.s4d import DiagonalKernel, S4DConfig, SSMLayer, fft_conv, vandermonde_kernel

F64 = {"atol": 1e-6, "rtol": 1e-6}


def _kernel(kind: str, H: int = 3, N: int = 8, directions: int = 1, **cfg):
    torch.manual_seed(0)
    if kind == "s4":
        return DPLRKernel(H, N, directions, S4Config(d_state=N, **cfg)).double()
    return DiagonalKernel(H, N, directions, S4DConfig(d_state=N, **cfg)).double()


def _wide_dt(kernel):
    """Spread dt over [e^-4, 1] so that slow and fast modes both matter in short tests."""
    with torch.no_grad():
        kernel.log_dt.copy_(torch.linspace(-4, 0, kernel.log_dt.numel(), dtype=torch.float64))
    return kernel


def _unrolled(layer: SSMLayer, u: torch.Tensor) -> torch.Tensor:
    """``(B, L, H)`` outputs of a causal SSM layer by stepping its recurrence."""
    state = layer.init_state(u.shape[0], u.device, u.dtype)
    ys = []
    for t in range(u.shape[1]):
        y, state = layer.step(u[:, t], state)
        ys.append(y)
    return torch.stack(ys, dim=1)


# ---- S4D ------------------------------------------------------------------------------------


@pytest.mark.parametrize("L", [1, 2, 7, 16, 50])
def test_vandermonde_kernel_equals_the_materialised_sum(L):
    g = torch.Generator().manual_seed(0)
    dtA = torch.complex(-torch.rand(3, 5, generator=g, dtype=torch.float64), torch.randn(3, 5, generator=g, dtype=torch.float64))
    W = torch.randn(2, 3, 5, generator=g, dtype=torch.complex128)
    powers = torch.exp(dtA.unsqueeze(-1) * torch.arange(L, dtype=torch.float64))  # (3, 5, L)
    want = 2 * torch.einsum("khm,hml->khl", W, powers).real
    torch.testing.assert_close(vandermonde_kernel(dtA, W, L), want, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize(("kind", "init"), [("s4d", "lin"), ("s4d", "inv"), ("s4", "legs")])
@pytest.mark.parametrize("L", [1, 9, 64])
def test_fft_convolution_equals_the_unrolled_recurrence(kind, init, L):
    layer = SSMLayer(_wide_dt(_kernel(kind, init=init)), 3, causal=True).double()
    u = torch.randn(2, L, 3, dtype=torch.float64)
    torch.testing.assert_close(layer(u, None), _unrolled(layer, u), **F64)


@pytest.mark.parametrize("kind", ["s4d", "s4"])
def test_bidirectional_convolution_equals_the_direct_sum(kind):
    L = 11
    kernel = _wide_dt(_kernel(kind, directions=2))
    k = kernel(L)  # (2, H, L)
    u = torch.randn(2, 3, L, dtype=torch.float64)
    want = torch.zeros_like(u)
    for t in range(L):
        for j in range(L):
            if j <= t:
                want[..., t] += k[0, :, j] * u[..., t - j]
            if j >= 1 and t + j < L:
                want[..., t] += k[1, :, j - 1] * u[..., t + j]
    torch.testing.assert_close(fft_conv(u, k), want, atol=1e-10, rtol=1e-10)


def test_s4d_initialisations_and_dt_range():
    lin = _kernel("s4d", N=8, init="lin")
    inv = _kernel("s4d", N=8, init="inv")
    n = torch.arange(4, dtype=torch.float64)
    torch.testing.assert_close(lin.A_imag[0], math.pi * n)
    torch.testing.assert_close(inv.A_imag[0], 8 / math.pi * (8 / (2 * n + 1) - 1))
    torch.testing.assert_close(-torch.exp(lin.log_A_real), torch.full((3, 4), -0.5, dtype=torch.float64))
    dt = torch.exp(_kernel("s4d", H=200, dt_min=0.01, dt_max=0.2).log_dt)
    assert dt.min() >= 0.01 - 1e-9 and dt.max() <= 0.2 + 1e-9


# ---- S4 -----------------------------------------------------------------------------------------


def test_dplr_form_is_hippo_legs():
    """The real-basis DPLR matrix is orthogonally similar to HiPPO-LegS (eigenvalues -1..-N)."""
    N = 8
    A, B, _ = hippo_legs(N)
    Lambda, P, Bt = dplr_legs(N)
    R = torch.cat([torch.cat([torch.diag(Lambda.real), -torch.diag(Lambda.imag)], 1),
                   torch.cat([torch.diag(Lambda.imag), torch.diag(Lambda.real)], 1)], 0)
    q = torch.cat([P.real, P.imag])
    A_r = R - 2 * q[:, None] * q[None, :]
    eig = torch.sort(torch.linalg.eigvals(A_r).real).values
    torch.testing.assert_close(eig, -torch.arange(N, 0, -1, dtype=torch.float64), atol=1e-6, rtol=0)
    # Same input map up to a basis change x = 2 Re(V z), which is sqrt(2) times an
    # isometry from the real coordinates [Re z; Im z]: B^T A^k B is invariant up to 2.
    B_r = torch.cat([Bt.real, Bt.imag])
    for k in range(3):
        want = B @ torch.linalg.matrix_power(A, k) @ B
        got = 2 * B_r @ torch.linalg.matrix_power(A_r, k) @ B_r
        torch.testing.assert_close(got, want, atol=1e-8, rtol=1e-8)


def _materialised_dplr_kernel(kernel: DPLRKernel, L: int) -> torch.Tensor:
    """``C A_bar^l B_bar`` from the dense complex N x N DPLR matrix (both conjugate halves)."""
    Lambda, P, B, C, dt = kernel._params()
    full = lambda z: torch.cat([z, z.conj()], dim=-1)  # noqa: E731
    Lf, Pf, Bf, Cf = full(Lambda), full(P), full(B), full(C)
    A = torch.diag_embed(Lf) - Pf.unsqueeze(-1) * Pf.conj().unsqueeze(-2)  # (H, N, N)
    eye = torch.eye(A.shape[-1], dtype=A.dtype)
    half = (dt / 2)[:, None, None] * A
    A_bar = torch.linalg.solve(eye - half, eye + half)
    x = torch.linalg.solve(eye - half, (dt[:, None] * Bf).unsqueeze(-1)).squeeze(-1)  # B_bar
    ks = []
    for _ in range(L):
        ks.append(torch.einsum("khn,hn->kh", Cf, x).real)
        x = torch.einsum("hnm,hm->hn", A_bar, x)
    return torch.stack(ks, dim=-1)  # (K, H, L)


@pytest.mark.parametrize("L", [1, 2, 7, 16, 33, 128])
@pytest.mark.parametrize("directions", [1, 2])
def test_s4_cauchy_kernel_equals_the_materialised_dplr_matrix(L, directions):
    kernel = _wide_dt(_kernel("s4", directions=directions))
    with torch.no_grad():  # move away from the initialisation so every term matters
        kernel.P.add_(0.1 * torch.randn_like(kernel.P))
        kernel.w_imag.add_(torch.randn_like(kernel.w_imag))
    torch.testing.assert_close(kernel(L), _materialised_dplr_kernel(kernel, L), **F64)


def test_s4_cauchy_kernel_in_frequency_chunks(monkeypatch):
    """Long kernels go through checkpointed frequency chunks: same values, same gradients."""
    from seqselect.models import s4 as s4_mod

    L = 40
    kernel = _wide_dt(_kernel("s4"))
    k_whole = kernel(L)
    g_whole = torch.autograd.grad(k_whole.square().sum(), kernel.w_imag)[0]
    monkeypatch.setattr(s4_mod, "_CAUCHY_CHUNK", 4)
    k_chunks = kernel(L)
    g_chunks = torch.autograd.grad(k_chunks.square().sum(), kernel.w_imag)[0]
    torch.testing.assert_close(k_chunks, k_whole, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(g_chunks, g_whole, atol=1e-10, rtol=1e-10)


def test_s4_kernels_of_different_lengths_are_prefixes():
    """C is the true output matrix, so the model is one function of the input at any length."""
    kernel = _wide_dt(_kernel("s4"))
    torch.testing.assert_close(kernel(100)[..., :37], kernel(37), **F64)


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


@pytest.mark.parametrize(("L", "chunk"), [(1, None), (15, None), (16, None), (17, 5), (300, None), (300, 64), (1000, 100)])
def test_parallel_scan_equals_the_sequential_loop(L, chunk):
    args = _scan_args(L)
    torch.testing.assert_close(selective_scan(*args, chunk=chunk), selective_scan_ref(*args), atol=1e-5, rtol=1e-5)


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


# ---- whole models ---------------------------------------------------------------------------------

NAMES = ["s4d", "s4", "mamba"]


def _model(name, causal, task="per_step", **kw):
    torch.manual_seed(0)
    return create_model(name, d_input=3, d_output=4, task=task, causal=causal, d_model=8, n_layers=2, **kw).double().eval()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("task", ["per_step", "classify"])
def test_step_equals_forward_in_float64(name, task):
    model = _model(name, causal=True, task=task)
    x = torch.randn(2, 40, 3, dtype=torch.float64)
    with torch.no_grad():
        full = model(x)
        state = model.init_state(2)
        steps = []
        for t in range(x.shape[1]):
            y, state = model.step(x[:, t], state)
            steps.append(y)
    got = torch.stack(steps, 1) if task == "per_step" else steps[-1]
    torch.testing.assert_close(got, full, atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_causality_in_float64(name):
    model = _model(name, causal=True)
    x = torch.randn(2, 30, 3, dtype=torch.float64)
    x2 = x.clone()
    x2[:, 20:] = torch.randn(2, 10, 3, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(model(x)[:, :20], model(x2)[:, :20], atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize(("name", "causal"), [("s4d", False), ("s4", False), ("s4d", True), ("s4", True), ("mamba", True)])
def test_padding_is_invisible_in_float64(name, causal):
    """Bidirectional kernels look into the future: padded steps must read as zeros there."""
    model = _model(name, causal=causal)
    lengths = [30, 17, 1]
    x = torch.randn(3, 30, 3, dtype=torch.float64)
    mask = torch.arange(30)[None, :] < torch.tensor(lengths)[:, None]
    garbage = x.masked_fill(~mask.unsqueeze(-1), float("nan"))
    with torch.no_grad():
        padded = model(garbage, mask)
        for b, n in enumerate(lengths):
            torch.testing.assert_close(padded[b, :n], model(x[b : b + 1, :n])[0], **F64)


def test_bidirectional_s4_sees_the_future():
    model = _model("s4d", causal=False)
    x = torch.randn(1, 20, 3, dtype=torch.float64)
    x2 = x.clone()
    x2[:, 15:] += 1
    with torch.no_grad():
        assert not torch.allclose(model(x)[:, :10], model(x2)[:, :10])


@pytest.mark.parametrize(("name", "bad"), [("s4d", {"d_state": 7}), ("s4d", {"init": "legs"}), ("s4", {"init": "lin"}),
                                           ("s4", {"dt_min": 0.5, "dt_max": 0.1}), ("mamba", {"expand": 0})])
def test_bad_config_raises(name, bad):
    with pytest.raises(ValueError):
        create_model(name, d_input=2, d_output=2, **bad)


def test_ssm_overrides_are_accepted():
    m = create_model("mamba", d_input=2, d_output=2, d_state=8, expand=3, d_conv=2, dt_rank=5, n_layers=1, d_model=12)
    mixer = m.backbone.blocks[0].mixer
    assert (mixer.E, mixer.N, mixer.R, mixer.W) == (36, 8, 5, 2)
    m = create_model("s4d", d_input=2, d_output=2, d_state=16, init="inv", n_layers=3, d_model=12)
    assert len(m.backbone.blocks) == 3 and m.backbone.blocks[0].ssm.kernel.A_imag.shape == (12, 8)


# ---- optimizer groups -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_param_groups_follow_the_tags(name):
    model = create_model(name, d_input=3, d_output=2, d_model=8, n_layers=2)
    groups = param_groups(model, lr=0.01, weight_decay=0.1)
    ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())  # each exactly once
    assert (groups[0]["lr"], groups[0]["weight_decay"]) == (0.01, 0.1)
    by_param = {id(p): (g["lr"], g["weight_decay"]) for g in groups for p in g["params"]}
    for pname, p in model.named_parameters():
        leaf = pname.rsplit(".", 1)[-1]
        if name == "mamba" and leaf in ("A_log", "D") and "mixer" in pname:
            assert by_param[id(p)] == (0.01, 0.0), pname
        elif name != "mamba" and leaf in ("log_dt", "log_A_real", "A_imag", "log_w_real", "w_imag", "P", "B"):
            assert by_param[id(p)] == (0.001, 0.0), pname  # min(0.001, lr), no decay
        else:
            assert by_param[id(p)] == (0.01, 0.1), pname
    # A base learning rate below the ceiling is never raised.
    assert max(g["lr"] for g in param_groups(model, lr=1e-4, weight_decay=0.0)) == 1e-4
    torch.optim.AdamW(groups)  # torch accepts them
