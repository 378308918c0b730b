"""FLOPs with ``torch.utils.flop_counter``, plus formulas for the ops it does not know.

``FlopCounterMode`` counts matmuls, convolutions and the CUDA attention kernels. On CPU two
hot paths fall through and would silently count zero:

* ``aten._scaled_dot_product_flash_attention_for_cpu`` (and its backward): the fused CPU
  attention behind ``F.scaled_dot_product_attention``. Same cost as the CUDA kernels, so
  the counter's own ``sdpa_flop_count`` formulas are reused.
* ``aten.mkldnn_rnn_layer`` (and its backward): the oneDNN LSTM layer. Each step multiplies
  the input by ``w_ih: (G*H, I)`` and the hidden state by ``w_hh: (G*H, H)``, so one layer
  over ``B x L`` steps costs ``2 * B * L * (|w_ih| + |w_hh|)``; the backward pass about
  twice that (gradients of inputs and of weights), the usual 2:1 rule.
* ``aten._cudnn_rnn`` (and its backward): the cuDNN RNN on CUDA, same formula summed over
  the 2-D weight matrices of every layer and direction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

aten = torch.ops.aten


def _raw(fn: Callable) -> Callable:
    # FlopCounterMode passes real tensors (not shapes) to formulas marked this way.
    fn._get_raw = True
    return fn


@_raw
def _cpu_sdpa(query, key, value, *args: Any, out_val=None, **kwargs: Any) -> int:
    return sdpa_flop_count(query.shape, key.shape, value.shape)


@_raw
def _cpu_sdpa_backward(grad_out, query, key, value, *args: Any, out_val=None, **kwargs: Any) -> int:
    return sdpa_backward_flop_count(grad_out.shape, query.shape, key.shape, value.shape)


@_raw
def _rnn_layer(inp, w_ih, w_hh, *args: Any, out_val=None, **kwargs: Any) -> int:
    steps = inp.numel() // inp.shape[-1]  # B x L
    return 2 * steps * (w_ih.numel() + w_hh.numel())


@_raw
def _rnn_layer_backward(inp, w_ih, w_hh, *args: Any, out_val=None, **kwargs: Any) -> int:
    return 2 * _rnn_layer(inp, w_ih, w_hh)


@_raw
def _cudnn_rnn(inp, weights, *args: Any, out_val=None, **kwargs: Any) -> int:
    steps = inp.numel() // inp.shape[-1]
    return 2 * steps * sum(w.numel() for w in weights if w.dim() == 2)


@_raw
def _cudnn_rnn_backward(inp, weights, *args: Any, out_val=None, **kwargs: Any) -> int:
    return 2 * _cudnn_rnn(inp, weights)


def _custom_mapping() -> dict:
    mapping = {}
    for name, fn in (
        ("_scaled_dot_product_flash_attention_for_cpu", _cpu_sdpa),
        ("_scaled_dot_product_flash_attention_for_cpu_backward", _cpu_sdpa_backward),
        ("mkldnn_rnn_layer", _rnn_layer),
        ("mkldnn_rnn_layer_backward", _rnn_layer_backward),
        ("_cudnn_rnn", _cudnn_rnn),
        ("_cudnn_rnn_backward", _cudnn_rnn_backward),
    ):
        op = getattr(aten, name, None)  # absent on some builds: then it is simply not counted
        if op is not None:
            mapping[op] = fn
    return mapping


def count_flops(fn: Callable[[], Any]) -> int:
    """Total FLOPs of everything ``fn()`` runs (a multiply-add counts 2)."""
    with FlopCounterMode(display=False, custom_mapping=_custom_mapping()) as counter:
        fn()
    return int(counter.get_total_flops())
