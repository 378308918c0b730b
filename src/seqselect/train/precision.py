"""Which floating-point precision a run trains in: bfloat16 autocast or float32.

``train(precision="auto")`` picks bfloat16 autocast only where it was measured faster at
no cost in accuracy: on a CPU with native bfloat16 (AVX-512 BF16 or AMX), for models
built on ``nn.LSTM`` (torch runs it through oneDNN's fused RNN, which has a bf16 path;
``nn.GRU`` and ``nn.RNN`` take torch's native CPU path, where bf16 only adds casts).
Measured on an AMD EPYC with AVX-512 BF16, one thread, batch 16, training step forward +
backward (see the recipe issue's closing note):

==========  ======================  ======================  =====================
family      L=150, ~20k / 200k p.   L=500, ~20k / 200k p.   accuracy (bf16 - fp32)
==========  ======================  ======================  =====================
lstm        2.45x / 2.33x           1.89x / 1.49x           JapaneseVowels +0.0
gru         0.74x (~20k p.)         0.92x (~20k p.)         -
tcn         0.92x / 1.50x           1.39x / 1.64x           GunPoint +1.3
cnn1d       0.94x / 1.29x           1.02x / 1.35x           (FCN stack) ArrowHead -1.7
transformer 0.62x / 1.00x           1.16x / 1.31x           JapaneseVowels +0.3
==========  ======================  ======================  =====================

Convolutions and attention at the recipe's widths (about 20k parameters) gain nothing
or lose at short lengths, so "auto" keeps them in float32; ``precision="bf16"`` forces
autocast for any model. Autocast covers the training forward pass only; the loss,
the optimizer state, the weights and every evaluation stay in float32.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["PRECISIONS", "bf16_supported", "resolve_precision"]

#: The values ``train(precision=...)`` accepts.
PRECISIONS: tuple[str, ...] = ("auto", "bf16", "fp32")
# Modules whose CPU kernels run bf16 natively and measured 1.5-2.5x faster under autocast
# (1.15x when 15 processes shared the 2 cores).
_BF16_FAST = (nn.LSTM,)


def bf16_supported(device: torch.device) -> bool:
    """Whether ``device`` runs bfloat16 natively (CPU: AVX-512 BF16 or AMX)."""
    if device.type == "cpu":
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return False


def resolve_precision(precision: str, model: nn.Module, device: torch.device) -> str:
    """``"bf16"`` or ``"fp32"`` for ``precision`` (``auto``: see the module docstring).

    Raises:
        ValueError: a value not in :data:`PRECISIONS`.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    fast = device.type == "cpu" and any(isinstance(m, _BF16_FAST) for m in model.modules())
    return "bf16" if fast and bf16_supported(device) else "fp32"
