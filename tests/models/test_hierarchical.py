"""The hierarchical model: chunks encoded alone, aggregated across chunks, padding-free.

The registry-wide contract (shapes, gradients, padding, params=) is in test_zoo.py; here
the chunking itself, against a slow twin that encodes each chunk in its own call."""

from __future__ import annotations

import pytest
import torch

from seqselect.models import create_model
from seqselect.models.base import pool


def _model(chunk_size=4, task="classify", **kw):
    torch.manual_seed(0)
    return create_model("hierarchical", vocab_size=20, d_output=3, task=task, d_model=8,
                        chunk_size=chunk_size, **kw).double().eval()


def _slow_twin(model, x):
    """One sequence ``x (L,)``, chunk by chunk: encoder per chunk, max-pool, GRU, add."""
    back = model.backbone
    h = model.embed(x[None])  # (1, L, D)
    s = back.chunk_size
    chunks = [h[:, i : i + s] for i in range(0, h.shape[1], s)]
    local = [back.encoder(c, None) for c in chunks]  # each (1, S_i, D)
    vectors = torch.stack([t.amax(dim=1)[0] for t in local])[None]  # (1, K, D)
    context, _ = back.across(vectors)  # (1, K, D)
    feats = torch.cat([t + context[:, k : k + 1] for k, t in enumerate(local)], dim=1)
    return model.head.linear(pool(model.norm(feats), None, "mean"))


@pytest.mark.parametrize("length", [1, 4, 9, 13])
def test_forward_equals_chunk_by_chunk_twin(length):
    model = _model()
    x = torch.randint(1, 20, (2, length), generator=torch.Generator().manual_seed(length))
    with torch.no_grad():
        fast = model(x)
        slow = torch.cat([_slow_twin(model, row) for row in x])
    torch.testing.assert_close(fast, slow, atol=1e-10, rtol=1e-10)


def test_padding_across_several_chunks_is_invisible():
    model = _model(task="per_step")
    x = torch.randint(1, 20, (3, 15), generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(3, 15, dtype=torch.bool)
    for b, n in enumerate((15, 9, 4)):
        mask[b, :n] = True
    garbage = x.masked_fill(~mask, 19)
    with torch.no_grad():
        padded = model(garbage, mask)
        for b, n in enumerate((15, 9, 4)):
            torch.testing.assert_close(padded[b, :n], model(x[b : b + 1, :n])[0])


def test_information_crosses_chunks():
    """A token in the first chunk changes the outputs in the last chunk (16 steps apart;
    the chunk encoder alone sees 3): the GRU over chunk vectors carries it."""
    model = _model(task="per_step", n_layers=1, kernel_size=3)
    x = torch.randint(1, 20, (1, 16), generator=torch.Generator().manual_seed(1))
    y = x.clone()
    y[0, 0] = (x[0, 0] % 19) + 1
    with torch.no_grad():
        a, b = model(x), model(y)
    assert not torch.allclose(a[0, -4:], b[0, -4:])


def test_bad_config_raises():
    with pytest.raises(ValueError, match="chunk_size"):
        _model(chunk_size=0)
    with pytest.raises(ValueError, match="even"):
        create_model("hierarchical", d_input=2, d_output=2, d_model=7)
