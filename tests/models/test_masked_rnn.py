"""The padded RNN path (CPU) against its twin, the packed path: the same outputs and the
same gradients to float64 round-off, zeros at padding, for every cell, one or two
directions, one or more layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqselect.models import create_model
from seqselect.models.masked_rnn import packed_forward, padded_forward, reverse_within_lengths

LENGTHS = torch.tensor([7, 3, 1, 7, 5])


def _module(kind: str, bidirectional: bool, layers: int, bias: bool = True) -> nn.RNNBase:
    torch.manual_seed(0)
    cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind]
    return cls(4, 6, num_layers=layers, batch_first=True, bidirectional=bidirectional,
               bias=bias).double()


def _grads(rnn: nn.RNNBase, h: torch.Tensor, forward) -> tuple[torch.Tensor, list]:
    rnn.zero_grad()
    h = h.clone().requires_grad_(True)
    out = forward(rnn, h, LENGTHS)
    # a weighted sum: every output step and channel reaches the gradient differently
    (out * torch.linspace(-1, 2, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
    return out.detach(), [h.grad, *[p.grad.clone() for p in rnn.parameters()]]


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("layers", [1, 3])
def test_padded_path_matches_packed_twin(kind, bidirectional, layers):
    rnn = _module(kind, bidirectional, layers)
    h = torch.randn(len(LENGTHS), 7, 4, dtype=torch.float64)
    out, grads = _grads(rnn, h, padded_forward)
    ref, ref_grads = _grads(rnn, h, packed_forward)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-12)
    for got, want in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-11)
    padding = torch.arange(7) >= LENGTHS.unsqueeze(1)
    assert out[padding].abs().max() == 0


def test_padded_path_ignores_what_the_padding_holds():
    rnn = _module("lstm", True, 2)
    h = torch.randn(len(LENGTHS), 7, 4, dtype=torch.float64)
    noisy = h.clone()
    noisy[torch.arange(7) >= LENGTHS.unsqueeze(1)] = 1e3
    torch.testing.assert_close(padded_forward(rnn, noisy, LENGTHS),
                               padded_forward(rnn, h, LENGTHS), rtol=0, atol=0)


def test_padded_path_without_biases():
    rnn = _module("gru", True, 2, bias=False)
    h = torch.randn(len(LENGTHS), 7, 4, dtype=torch.float64)
    torch.testing.assert_close(padded_forward(rnn, h, LENGTHS), packed_forward(rnn, h, LENGTHS))


def test_padded_path_in_float32_uses_the_fused_kernel_and_agrees():
    """float32 on CPU runs oneDNN's fused LSTM (the packed twin: torch's native loop)."""
    torch.manual_seed(1)
    rnn = nn.LSTM(4, 6, num_layers=2, batch_first=True, bidirectional=True)
    h = torch.randn(len(LENGTHS), 7, 4)
    torch.testing.assert_close(padded_forward(rnn, h, LENGTHS), packed_forward(rnn, h, LENGTHS),
                               rtol=1e-5, atol=1e-6)


def test_reverse_within_lengths_is_its_own_inverse_and_keeps_padding():
    x = torch.arange(5 * 7, dtype=torch.float64).view(5, 7, 1)
    flipped = reverse_within_lengths(x, LENGTHS)
    assert flipped[1, :, 0].tolist() == [9.0, 8.0, 7.0, 10.0, 11.0, 12.0, 13.0]
    torch.testing.assert_close(reverse_within_lengths(flipped, LENGTHS), x, rtol=0, atol=0)


@pytest.mark.parametrize("name", ["lstm", "bilstm", "gru", "hierarchical"])
def test_models_with_masks_match_each_sequence_alone(name):
    """Padding invariance end to end: a padded batch's outputs are each sequence's own."""
    torch.manual_seed(0)
    model = create_model(name, d_input=2, d_output=3, task="classify", d_model=8).double().eval()
    x = torch.randn(3, 40, 2, dtype=torch.float64)
    lengths = [40, 17, 5]
    mask = torch.arange(40) < torch.tensor(lengths).unsqueeze(1)
    batch = model(x, mask=mask)
    for i, n in enumerate(lengths):
        torch.testing.assert_close(batch[i], model(x[i:i + 1, :n])[0], rtol=1e-10, atol=1e-12)
