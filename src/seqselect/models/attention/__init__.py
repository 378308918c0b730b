"""Attention: the multi-head layer and its cores, dense and efficient (one file per core).

Symbols: B batch, L length (queries), S length (keys), D model width, H heads,
E head width (D / H).

The multi-head layer owns the projections; a *core* owns only the attention math, so the
Transformer and the sparse/efficient Transformers differ in their core alone (the core
interface is described in ``dense.py``). Files:

* ``dense.py``: :class:`MultiHeadAttention`, the dense core and
  :func:`dense_masked_attention`, the slow reference twin of every core;
* ``blocked.py``: the blocked gather/attend engine the sparse cores share;
* ``sliding_window.py``: Longformer (eager and FlexAttention, one ``window_allows``);
* ``bigbird.py``, ``linformer.py``, ``performer.py``: the other efficient cores.

No efficient core ever holds an L x L tensor; only ``dense_masked_attention`` does (tests).
"""

from seqselect.models.attention.bigbird import (
    BigBirdAttention,
    bigbird_attention,
    bigbird_pattern,
    bigbird_random_blocks,
)
from seqselect.models.attention.dense import (
    DenseAttention,
    MultiHeadAttention,
    dense_attention,
    dense_masked_attention,
)
from seqselect.models.attention.linformer import LinformerAttention, linformer_attention
from seqselect.models.attention.performer import (
    FEATURE_BLOCK_ELEMENTS,
    PerformerAttention,
    orthogonal_random_features,
    performer_attention,
)
from seqselect.models.attention.sliding_window import (
    BACKENDS,
    FLEX_BLOCK,
    SlidingWindowAttention,
    flex_sliding_window_attention,
    flex_unavailable_reason,
    sliding_window_attention,
    sliding_window_pattern,
    window_allows,
    window_query_block,
)

__all__ = [
    "BACKENDS",
    "FEATURE_BLOCK_ELEMENTS",
    "FLEX_BLOCK",
    "BigBirdAttention",
    "DenseAttention",
    "LinformerAttention",
    "MultiHeadAttention",
    "PerformerAttention",
    "SlidingWindowAttention",
    "bigbird_attention",
    "bigbird_pattern",
    "bigbird_random_blocks",
    "dense_attention",
    "dense_masked_attention",
    "flex_sliding_window_attention",
    "flex_unavailable_reason",
    "linformer_attention",
    "orthogonal_random_features",
    "performer_attention",
    "sliding_window_attention",
    "sliding_window_pattern",
    "window_allows",
    "window_query_block",
]
