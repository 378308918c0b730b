"""The sparse and efficient Transformers of ``models/sparse.py``: cores that must be causal
are, no tensor grows as L x L, and the model contract on the sparse paths (not the dense
fallbacks)."""

from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from seqselect.models import create_model, model_card
from seqselect.models.attention import (
    PerformerAttention,
    SlidingWindowAttention,
)

E = 8  # the head width of the ``qkv`` fixture (tests/models/conftest.py)


# ---- causality, by gradients -------------------------------------------------------------

CAUSAL_CORES = {
    "longformer": lambda: SlidingWindowAttention(window=3, n_global=2),
    "performer": lambda: PerformerAttention(n_features=16, head_dim=E, chunk=4),
}


@pytest.mark.parametrize("name", list(CAUSAL_CORES))
def test_causal_cores_are_causal(qkv, name):
    core = CAUSAL_CORES[name]()
    q, k, v = (t.requires_grad_() for t in qkv(21))
    t0 = 9
    core(q, k, v, None, True)[:, :, t0].sum().backward()
    for x in (q, k, v):
        assert (x.grad[:, :, t0 + 1 :] == 0).all()
        assert x.grad[:, :, : t0 + 1].abs().sum() > 0


# ---- never an L x L tensor ---------------------------------------------------------------


class _LargestTensor(TorchDispatchMode):
    """Records the largest tensor any op produces (forward and backward)."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else [out]:
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out


SUBQUADRATIC = {
    "longformer": dict(window=16, n_global=2),
    "longformer-causal": dict(window=16, n_global=2),
    "bigbird": dict(window=16, n_global=16, n_random=2),
    "linformer": dict(proj_len=64, max_len=2048),
    "performer": dict(n_features=64),
    "performer-causal": dict(n_features=64),
}


@pytest.mark.parametrize("name", list(SUBQUADRATIC))
def test_no_tensor_grows_quadratically(right_padded, name):
    L = 2048
    causal = name.endswith("-causal")
    torch.manual_seed(0)
    model = create_model(
        name.removesuffix("-causal"),
        d_input=2,
        d_output=1,
        d_model=16,
        n_heads=2,
        n_layers=1,
        task="per_step",
        causal=causal,
        **SUBQUADRATIC[name],
    )
    x = torch.randn(1, L, 2)
    mask = right_padded([L - 100], L)
    with _LargestTensor() as spy:
        model(x, None if causal else mask).sum().backward()
    # Quadratic would be L^2 = 4.2M per head; linear in L here is L * (a few hundred).
    assert spy.largest <= 2 * 2 * L * 100, f"{name}: a tensor of {spy.largest} elements"


# ---- the models: contract with small sparse settings (the sparse paths, not the fallbacks) --

SMALL_SPARSE = {
    "longformer": dict(window=2, n_global=1),
    "bigbird": dict(window=2, n_global=1, n_random=1),
    "linformer": dict(proj_len=4, max_len=32),
    "performer": dict(n_features=32),
}
BS, LS, CS = 3, 12, 3


def _build(name, **kw):
    torch.manual_seed(0)
    return create_model(name, d_input=CS, d_output=4, d_model=16, **SMALL_SPARSE[name], **kw).eval()


@pytest.mark.parametrize(
    ("name", "causal"),
    [(n, False) for n in SMALL_SPARSE] + [(n, True) for n in SMALL_SPARSE if model_card(n).causal],
)
def test_padding_never_changes_real_outputs_on_the_sparse_paths(right_padded, name, causal):
    model = _build(name, task="per_step", causal=causal)
    x = torch.randn(BS, LS, CS)
    lengths = [LS, 7, 1]
    mask = right_padded(lengths, LS)
    garbage = x.masked_fill(~mask[..., None], float("nan"))
    padded = model(garbage, mask)
    assert torch.isfinite(padded).all()
    for b, n in enumerate(lengths):
        torch.testing.assert_close(
            padded[b : b + 1, :n], model(x[b : b + 1, :n]), atol=1e-4, rtol=1e-4
        )


@pytest.mark.parametrize("name", ["longformer", "performer"])
def test_causal_models_stream_on_the_sparse_paths(name):
    model = _build(name, task="per_step", causal=True)
    x = torch.randn(BS, LS, CS)
    with torch.no_grad():
        full = model(x)
        state = model.init_state(BS)
        steps = []
        for t in range(LS):
            y, state = model.step(x[:, t], state)
            steps.append(y)
    torch.testing.assert_close(torch.stack(steps, dim=1), full, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", list(SMALL_SPARSE))
def test_gradients_are_finite_with_padding(right_padded, name):
    model = _build(name).train()
    x = torch.randn(BS, LS, CS)
    mask = right_padded([LS, 5, 1], LS)
    model(x, mask).sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname


def test_cards_say_which_run_causally_and_stream():
    assert model_card("longformer").causal and model_card("longformer").streaming
    assert model_card("performer").causal and model_card("performer").streaming
    assert not model_card("bigbird").causal and not model_card("linformer").causal
    assert model_card("linformer").max_len == 4096
    for name in SMALL_SPARSE:
        assert "L^2" not in model_card(name).memory_complexity
    with pytest.raises(ValueError, match="causally"):
        create_model("bigbird", d_input=1, d_output=1, causal=True)


def test_unknown_override_raises():
    with pytest.raises(TypeError, match="does not take"):
        create_model("performer", d_input=1, d_output=1, window=4)
