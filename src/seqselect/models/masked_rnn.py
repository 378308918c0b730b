"""Run torch's fused RNN modules (``nn.LSTM``, ``nn.GRU``, ``nn.RNN``) over right-padded
batches, so that padded steps never reach a real step's output.

Symbols: B batch, L length, H hidden size per direction, D input width.

Two paths, the same numbers (tested against each other to float64 round-off):

* **packed** (:func:`packed_forward`, CUDA): ``pack_padded_sequence``; cuDNN runs packed
  batches in its fused kernel.
* **padded** (:func:`padded_forward`, CPU): the padded tensor itself. On CPU a packed
  batch leaves oneDNN's fused RNN for torch's native loop, whose backward pass grew
  with L: measured here (2 threads, B 32, H 34, 2 layers, one shorter sequence), an LSTM
  training step's backward took 0.109 s packed against 0.012 s padded at L=150, and
  47.5 s against 0.14 s at L=1,995 (``task:listops``; its bake-off overran a 1-minute
  budget by 90 s on two LSTM steps). Why padding is harmless: a forward direction is
  causal, so with real steps first the padded steps after them cannot change them; a
  reverse direction is run on each sequence reversed *within its length* (its padding
  stays at the end), layer by layer, then reversed back. Padded outputs are zeroed.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

__all__ = ["masked_rnn", "packed_forward", "padded_forward", "reverse_within_lengths"]

#: Devices whose fused RNN kernels take packed batches natively.
_PACKED_DEVICES = ("cuda",)

# torch's functional form of each module's ``mode``: (input, hx, params, has_biases,
# num_layers, dropout, train, bidirectional, batch_first) -> (output, *states)
_FUNCTIONAL = {
    "LSTM": torch.lstm,
    "GRU": torch.gru,
    "RNN_TANH": torch.rnn_tanh,
    "RNN_RELU": torch.rnn_relu,
}


def masked_rnn(rnn: nn.RNNBase, h: Tensor, lengths: Tensor) -> Tensor:
    """``rnn`` (batch_first) over ``h: (B, L, D)`` whose sequence ``b`` has ``lengths[b]``
    real steps first: ``(B, L, H * directions)``, zeros at padded steps."""
    if h.device.type in _PACKED_DEVICES:
        return packed_forward(rnn, h, lengths)
    return padded_forward(rnn, h, lengths)


def packed_forward(rnn: nn.RNNBase, h: Tensor, lengths: Tensor) -> Tensor:
    """The packed-sequence path (and the padded path's reference twin)."""
    packed = pack_padded_sequence(h, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, _ = rnn(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=h.shape[1])
    return out  # (B, L, H * directions), zeros at padded steps


def padded_forward(rnn: nn.RNNBase, h: Tensor, lengths: Tensor) -> Tensor:
    """The padded path (module docstring): one fused call when ``rnn`` is unidirectional,
    else layer by layer, each reverse direction on the sequences reversed in place."""
    steps = torch.arange(h.shape[1], device=h.device)
    real = (steps < lengths.to(h.device).unsqueeze(1)).unsqueeze(-1)  # (B, L, 1)
    if not rnn.bidirectional:
        out, _ = rnn(h)  # causal: a real step never sees the padding after it
        return out * real  # (B, L, H)
    x = h
    for layer in range(rnn.num_layers):
        if layer:
            x = nn.functional.dropout(x, rnn.dropout, training=rnn.training)
        forward = _one_layer(rnn, x, layer, "")
        flipped = reverse_within_lengths(x, lengths)
        backward = reverse_within_lengths(_one_layer(rnn, flipped, layer, "_reverse"), lengths)
        x = torch.cat([forward, backward], dim=-1)  # (B, L, 2H)
    return x * real


def reverse_within_lengths(x: Tensor, lengths: Tensor) -> Tensor:
    """``x: (B, L, ...)`` with the first ``lengths[b]`` steps of row ``b`` in reverse order
    and its padded steps where they were (its own inverse)."""
    steps = torch.arange(x.shape[1], device=x.device)  # (L,)
    n = lengths.to(x.device).unsqueeze(1)  # (B, 1)
    index = torch.where(steps < n, n - 1 - steps, steps)  # (B, L)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)


def _one_layer(rnn: nn.RNNBase, x: Tensor, layer: int, suffix: str) -> Tensor:
    """Layer ``layer``, direction ``suffix`` ("" or "_reverse") of ``rnn`` over
    ``x: (B, L, D)`` from a zero state, with the module's own weights: ``(B, L, H)``."""
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if rnn.bias else [])
    params = [getattr(rnn, f"{name}_l{layer}{suffix}") for name in names]
    zeros = x.new_zeros(1, x.shape[0], rnn.hidden_size)  # (1 layer, B, H)
    state = (zeros, zeros) if rnn.mode == "LSTM" else zeros
    out = _FUNCTIONAL[rnn.mode](x, state, params, rnn.bias, 1, 0.0, rnn.training, False, True)
    return out[0]
