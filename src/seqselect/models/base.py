"""Shared pieces of every zoo model: input embedding, masks, pooling, heads, the model shell.

Symbols: B batch, L length, C input channels, D model width, O outputs.

A zoo model is ``SequenceModel(embed -> backbone -> norm -> head)``. Only the backbone
differs between families. A backbone is an ``nn.Module`` with

* ``d_out``: the width of its features;
* ``forward(h: (B, L, D), mask: (B, L) bool | None) -> (B, L, d_out)``;
* streaming backbones also ``init_state(batch_size, device, dtype)`` and
  ``step(h_t: (B, D), state) -> ((B, d_out), state)``.

Masks are right-padded: ``mask[b, :n_b]`` is True (real steps) and the rest False. Padding
never changes the outputs at real steps nor the pooled result, whatever the padding holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from seqselect.models.patching import PatchEmbed

POOLINGS = ("last", "mean", "max")


@dataclass(frozen=True)
class ModelSpec:
    """What the model consumes and produces (shared by all families)."""

    d_output: int
    d_input: int | None = None
    vocab_size: int | None = None
    task: str = "classify"
    causal: bool = False

    def __post_init__(self) -> None:
        if (self.d_input is None) == (self.vocab_size is None):
            raise ValueError("give exactly one of d_input (real-valued) and vocab_size (tokens)")
        for name in ("d_output", "d_input", "vocab_size"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive int, got {value!r}")


def check_input(x: Tensor, mask: Tensor | None, spec: ModelSpec) -> Tensor | None:
    """Validate ``x`` and ``mask``; returns the mask (None when every step is real).

    Raises:
        ValueError: wrong rank, channel count, dtype or mask shape, naming expected vs got.
    """
    if spec.vocab_size is not None:
        if x.dim() != 2:
            raise ValueError(f"expected token input of shape (B, L), got {tuple(x.shape)}")
        if x.dtype not in (torch.long, torch.int32, torch.int64):
            raise ValueError(f"expected integer token ids, got dtype {x.dtype}")
    else:
        if x.dim() != 3:
            raise ValueError(
                f"expected input of shape (B, L, {spec.d_input}), got {tuple(x.shape)}"
            )
        if x.shape[-1] != spec.d_input:
            raise ValueError(
                f"expected {spec.d_input} input channels (B, L, {spec.d_input}), "
                f"got {x.shape[-1]} channels in {tuple(x.shape)}"
            )
    if x.shape[1] < 1:
        raise ValueError("expected at least one step (L >= 1)")
    if mask is None:
        return None
    if mask.shape != x.shape[:2]:
        raise ValueError(f"expected mask of shape {tuple(x.shape[:2])}, got {tuple(mask.shape)}")
    mask = mask.to(device=x.device, dtype=torch.bool)
    if not bool(mask[:, 0].all()):
        raise ValueError("every sequence needs at least one real step at position 0")
    if bool((mask[:, 1:] & ~mask[:, :-1]).any()):
        raise ValueError("mask must be right-padded: real steps first, then padding")
    return None if bool(mask.all()) else mask


def lengths_from_mask(mask: Tensor | None, batch: int, length: int, device) -> Tensor:
    """Real lengths ``(B,)`` long."""
    if mask is None:
        return torch.full((batch,), length, dtype=torch.long, device=device)
    return mask.sum(dim=1)


def zero_padding(h: Tensor, mask: Tensor | None) -> Tensor:
    """``h: (B, L, D)`` with padded steps set to zero (a no-op without a mask)."""
    if mask is None:
        return h
    return h.masked_fill(~mask.unsqueeze(-1), 0.0)


def pool(h: Tensor, mask: Tensor | None, how: str) -> Tensor:
    """Pool ``h: (B, L, D)`` over real steps to ``(B, D)``.

    ``last``: the last real step (causal models: the state after the whole sequence);
    ``mean``/``max``: over real steps only.
    """
    if how == "last":
        if mask is None:
            return h[:, -1]
        last = mask.sum(dim=1) - 1  # (B,)
        return h[torch.arange(h.shape[0], device=h.device), last]
    if how == "mean":
        if mask is None:
            return h.mean(dim=1)
        weights = mask.unsqueeze(-1).to(h.dtype)  # (B, L, 1)
        return (h * weights).sum(dim=1) / weights.sum(dim=1)
    if how == "max":
        if mask is None:
            return h.amax(dim=1)
        return h.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=1)
    raise ValueError(f"pooling must be one of {POOLINGS}, got {how!r}")


def pool_patches(h: Tensor, counts: Tensor, how: str) -> Tensor:
    """:func:`pool` of the steps :meth:`PatchEmbed.unpatch_last` would give, read from
    the windows: ``h (B, W, D)``, ``counts (B, W)`` real steps per window -> ``(B, D)``.
    A mean weighs each window by its real steps; real steps sit at
    the start, so the last real step is in the last window with any."""
    if how == "mean":
        return (h * counts.unsqueeze(-1)).sum(dim=1) / counts.sum(dim=1, keepdim=True)
    if how == "max":
        return h.masked_fill((counts == 0).unsqueeze(-1), float("-inf")).amax(dim=1)
    if how == "last":
        last = (counts > 0).sum(dim=1) - 1  # (B,)
        return h[torch.arange(h.shape[0], device=h.device), last]
    raise ValueError(f"pooling must be one of {POOLINGS}, got {how!r}")


class InputEmbedding(nn.Module):
    """``(B, L, C)`` real values via a linear map, or ``(B, L)`` tokens via a lookup, to
    ``(B, L, D)``."""

    def __init__(self, spec: ModelSpec, d_model: int):
        super().__init__()
        if spec.vocab_size is not None:
            self.proj: nn.Module = nn.Embedding(spec.vocab_size, d_model)
        else:
            self.proj = nn.Linear(spec.d_input, d_model)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x)


class Head(nn.Module):
    """Sequence-level (pool then linear) or per-step (linear at every step) output."""

    def __init__(self, task: str, d_features: int, d_output: int, pooling: str):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.task = task
        self.pooling = pooling
        self.linear = nn.Linear(d_features, d_output)

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        if self.task == "per_step":
            return self.linear(h)  # (B, L, O)
        return self.linear(pool(h, mask, self.pooling))  # (B, O)


class SequenceModel(nn.Module):
    """embed -> backbone -> LayerNorm -> head, with one fixed output shape per task.

    ``forward(x, mask=None)``: ``x`` is ``(B, L, C)`` float or ``(B, L)`` long; returns
    ``(B, O)`` for classify/regress and ``(B, L, O)`` for per_step.
    """

    def __init__(
        self,
        spec: ModelSpec,
        d_model: int,
        backbone: nn.Module,
        pooling: str,
        final_norm: bool = True,
    ):
        super().__init__()
        self.spec = spec
        self.embed = InputEmbedding(spec, d_model)
        self.backbone = backbone
        # Pre-norm stacks (Transformer, SSMs) need a closing LayerNorm; families without
        # one in their paper (TCN) may turn it off: it discards the features' overall
        # scale, where a magnitude target (the adding problem) lives.
        self.norm = nn.LayerNorm(backbone.d_out) if final_norm else nn.Identity()
        self.head = Head(spec.task, backbone.d_out, spec.d_output, pooling)

    @property
    def streaming(self) -> bool:
        return self.spec.causal and hasattr(self.backbone, "step")

    def forward_features(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Features ``(B, L, d_out)`` before the head (``mask`` already validated)."""
        patch = self._fused_patch()
        if patch is not None:
            return patch.unpatch_last(self._patch_features(x, mask, patch)[0], x.shape[1])
        return self.norm(self.backbone(self.embed(x), mask))

    def _fused_patch(self) -> PatchEmbed | None:
        """The backbone's patch embedding when the fast path applies (numeric inputs)."""
        patch = getattr(self.backbone, "patch", None)
        if isinstance(patch, PatchEmbed) and isinstance(self.embed.proj, nn.Linear):
            return patch
        return None

    def _patch_features(
        self, x: Tensor, mask: Tensor | None, patch: PatchEmbed
    ) -> tuple[Tensor, Tensor]:
        """A patched backbone's fast path (:mod:`~seqselect.models.patching`), equal to
        the plain one to round-off: projection and patches as one map, the stack over the
        windows, the closing norm per window (it is per position, so it commutes with
        going back to every step). Returns ``(B, W, D)`` and real steps per window."""
        windows, counts = patch.from_input(x, mask, self.embed.proj)  # (B, D, W), (B, W)
        real = None if mask is None else counts > 0  # None: every window real (no masking)
        y = self.backbone.forward_patches(windows, real).transpose(1, 2)  # (B, W, D)
        return self.norm(y), counts

    def forward_head(self, h: Tensor, mask: Tensor | None = None) -> Tensor:
        return self.head(h, mask)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        mask = check_input(x, mask, self.spec)
        if mask is not None:
            # Whatever the padding holds (NaN, inf, out-of-range ids) must not reach the
            # real steps: 0 * NaN is NaN even where an attention weight is exactly 0.
            x = x.masked_fill(~(mask if x.dim() == 2 else mask.unsqueeze(-1)), 0)
        patch = self._fused_patch()
        if patch is not None and self.spec.task != "per_step":  # pooled from the windows
            h, counts = self._patch_features(x, mask, patch)  # (B, W, D), (B, W)
            return self.head.linear(pool_patches(h, counts, self.head.pooling))
        return self.forward_head(self.forward_features(x, mask), mask)

    # ---- streaming --------------------------------------------------------------------
    def _require_streaming(self) -> None:
        if not self.spec.causal:
            raise RuntimeError("step() needs a model built with causal=True")
        if not hasattr(self.backbone, "step"):
            raise RuntimeError(f"{type(self.backbone).__name__} has no streaming step()")

    def init_state(self, batch_size: int, device=None, dtype=None) -> Any:
        """The state before the first step (zeros / empty caches)."""
        self._require_streaming()
        p = next(self.parameters())
        return self.backbone.init_state(batch_size, device or p.device, dtype or p.dtype)

    def step(self, x_t: Tensor, state: Any) -> tuple[Tensor, Any]:
        """One step: ``x_t`` is ``(B, C)`` float or ``(B,)`` long; returns ``((B, O), state)``.

        The output equals ``forward`` at that step: for per_step ``forward(x)[:, t]``; for
        classify/regress the prediction for the sequence that ends at t.
        """
        self._require_streaming()
        h_t = self.embed(x_t)  # (B, D)
        h_t, state = self.backbone.step(h_t, state)  # (B, d_out)
        return self.head.linear(self.norm(h_t)), state


def step_layers(layers: nn.ModuleList, h_t: Tensor, states: list) -> tuple[Tensor, list]:
    """One streaming step through a stack: ``h_t (B, D)`` through every layer's ``step``,
    each with its own state; returns the output and the new states, in layer order."""
    new_states = []
    for layer, state in zip(layers, states, strict=True):
        h_t, state = layer.step(h_t, state)
        new_states.append(state)
    return h_t, new_states


def sinusoidal_positions(length: int, d_model: int, offset: int = 0, device=None) -> Tensor:
    """Fixed sinusoidal positions ``(L, D)`` (Vaswani et al. 2017); no maximum length."""
    pos = torch.arange(offset, offset + length, device=device, dtype=torch.float32)[:, None]
    half = (d_model + 1) // 2
    freq = torch.exp(
        torch.arange(half, device=device, dtype=torch.float32) * (-math.log(10000.0) / half)
    )
    angles = pos * freq  # (L, half)
    return torch.cat([angles.sin(), angles.cos()], dim=-1)[:, :d_model]


def rate_fields(sample_rate: int) -> dict[str, int]:
    """A spectrogram config's fields for audio at ``sample_rate`` Hz: the rate itself and
    the STFT window and hop kept at 25 ms and 10 ms (400 and 160 samples at 16 kHz), so a
    model trained on 8 kHz audio sees the same time spans as one trained on 16 kHz."""
    if sample_rate < 1:
        raise ValueError(f"sample_rate must be >= 1 Hz, got {sample_rate}")
    return {"sample_rate": sample_rate, "n_fft": max(2, round(0.025 * sample_rate)),
            "hop": max(1, round(0.010 * sample_rate))}
