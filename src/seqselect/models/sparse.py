"""Sparse and efficient Transformers: Longformer, BigBird, Linformer, Performer.

Symbols: B batch, L length, D model width, H heads, E head width (D / H), w window,
b block, G global tokens, R random blocks, P projected length, M random features.

Each model is the pre-norm Transformer of ``transformer.py`` with a different attention
core from ``attention/`` (only the core differs), so a comparison between them and the
dense ``transformer`` at equal width and depth isolates the attention pattern. Each core
has a dense reference twin in the tests (``dense_masked_attention`` with the equivalent
boolean pattern), and none of them ever holds an L x L tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

from seqselect.models.attention import (
    BACKENDS,
    BigBirdAttention,
    LinformerAttention,
    PerformerAttention,
    SlidingWindowAttention,
)
from seqselect.models.base import ModelSpec, SequenceModel
from seqselect.models.registry import ModelCard, register_model
from seqselect.models.transformer import TransformerConfig, heads_multiple, transformer_model


@dataclass
class LongformerConfig(TransformerConfig):
    window: int = 128  # keys on each side of a query (causal: keys back); 2w + 1 in the band
    n_global: int = 1  # first G positions attend to / are attended by all (Longformer's CLS);
    # causally they become attention sinks that every later query sees (Xiao et al. 2023)
    backend: str = "auto"  # eager (blocked SDPA), flex (FlexAttention), auto (flex on CUDA)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.window < 0 or self.n_global < 0:
            raise ValueError(
                f"window and n_global must be >= 0, got {self.window}, {self.n_global}"
            )
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")


@register_model(
    ModelCard(
        name="longformer",
        family="sparse-transformer",
        year=2020,
        time_complexity="O(L·w)",
        memory_complexity="O(L·w)",
        causal=True,
        streaming=True,
        max_len=None,
        summary="Sliding-window attention (w keys each side) plus global tokens; blocked "
        "SDPA or FlexAttention; causal mode streams with a rolling window cache.",
        paper="Beltagy, Peters & Cohan 2020, Longformer: The Long-Document Transformer",
    ),
    LongformerConfig,
    width_multiple=heads_multiple,
)
def longformer(spec: ModelSpec, cfg: LongformerConfig) -> SequenceModel:
    return transformer_model(
        spec, cfg, lambda: SlidingWindowAttention(cfg.window, cfg.n_global, cfg.backend)
    )


@dataclass
class BigBirdConfig(TransformerConfig):
    window: int = 64  # block size b: queries attend to their own and both neighbouring blocks
    n_global: int = 64  # first G tokens are global (ITC: existing tokens made global)
    n_random: int = 3  # random key blocks per query block (the paper's base setting)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.window < 1 or self.n_global < 0 or self.n_random < 0:
            raise ValueError("bigbird needs window (block size) >= 1, n_global >= 0, n_random >= 0")


@register_model(
    ModelCard(
        name="bigbird",
        family="sparse-transformer",
        year=2020,
        time_complexity="O(L·b)",
        memory_complexity="O(L·b)",
        causal=False,
        streaming=False,
        max_len=None,
        summary="Block-sparse attention, ITC form: 3-block window + random blocks + global "
        "tokens; a universal approximator at linear cost.",
        paper="Zaheer et al. 2020, Big Bird: Transformers for Longer Sequences",
    ),
    BigBirdConfig,
    width_multiple=heads_multiple,
)
def bigbird(spec: ModelSpec, cfg: BigBirdConfig) -> SequenceModel:
    return transformer_model(
        spec, cfg, lambda: BigBirdAttention(cfg.window, cfg.n_global, cfg.n_random)
    )


@dataclass
class LinformerConfig(TransformerConfig):
    proj_len: int = 256  # k: keys and values are projected to P = k mixtures along L
    max_len: int = 4096  # the projections are (P, max_len): longer inputs raise ValueError
    share_kv: bool = False  # one projection for keys and values (the paper's "key-value sharing")
    learn_proj: bool = False  # learned projections cost P * max_len params each, whatever the
    # width, which makes small parameter budgets impossible; fixed JL projections cost none

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.proj_len < 1 or self.max_len < 1:
            raise ValueError(
                f"proj_len and max_len must be >= 1, got {self.proj_len}, {self.max_len}"
            )


@register_model(
    ModelCard(
        name="linformer",
        family="sparse-transformer",
        year=2020,
        time_complexity="O(L·k)",
        memory_complexity="O(L·k)",
        causal=False,
        streaming=False,
        max_len=LinformerConfig.max_len,
        summary="Low-rank attention: keys and values projected along the length to k rows; "
        "fixed maximum length (max_len override), non-causal.",
        paper="Wang et al. 2020, Linformer: Self-Attention with Linear Complexity",
    ),
    LinformerConfig,
    width_multiple=heads_multiple,
)
def linformer(spec: ModelSpec, cfg: LinformerConfig) -> SequenceModel:
    model = transformer_model(
        spec, cfg,
        lambda: LinformerAttention(cfg.proj_len, cfg.max_len, cfg.share_kv, cfg.learn_proj),
    )
    model.max_len = cfg.max_len  # the card has the default; this is the instance's
    return model


@dataclass
class PerformerConfig(TransformerConfig):
    n_features: int = 256  # M positive orthogonal random features per head (the paper's M)
    redraw_interval: int = 1000  # training forward calls between feature redraws (0 = never)
    recompute: bool = False  # recompute features in backward: O(L*E) memory, ~25% more time

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_features < 1 or self.redraw_interval < 0:
            raise ValueError("performer needs n_features >= 1 and redraw_interval >= 0")


@register_model(
    ModelCard(
        name="performer",
        family="sparse-transformer",
        year=2021,
        time_complexity="O(L·m)",
        memory_complexity="O(L·m)",
        causal=True,
        streaming=True,
        max_len=None,
        summary="Kernel attention with positive orthogonal random features (FAVOR+); "
        "causal through chunked prefix sums, streams with running sums.",
        paper="Choromanski et al. 2021, Rethinking Attention with Performers",
    ),
    PerformerConfig,
    width_multiple=heads_multiple,
)
def performer(spec: ModelSpec, cfg: PerformerConfig) -> SequenceModel:
    head_dim = cfg.d_model // cfg.n_heads
    return transformer_model(
        spec, cfg, lambda: PerformerAttention(cfg.n_features, head_dim, cfg.redraw_interval,
                                              recompute=cfg.recompute)
    )
