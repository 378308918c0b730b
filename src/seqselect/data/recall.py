"""Multi-query associative recall (MQAR; Arora et al. 2023, "Zoology", arXiv:2312.04927).

Symbols: N examples, L length, P key-value pairs, Q queries (Q <= P), K key symbols,
V value symbols.

A sequence opens with P key-value pairs ``k1 v1 k2 v2 ... kP vP`` (distinct keys), then
L - 2P steps of noise (token 0) in which Q of the keys appear again, at random distinct
positions. At each query position the target is the value bound to that key earlier in
the sequence; every other position is unscored (``IGNORE_INDEX``). Zoology's point: the
answer depends on content seen hundreds of steps back, and several queries share one
context, so a model must keep all P bindings, not one (gated convolutions and fixed-size
recurrent states fall behind attention as P grows at a fixed state size).

Token ids: 0 noise, 1..K keys, K+1..K+V values (vocabulary K + V + 1). Zoology uses a
vocabulary of 8,192 and lengths 64-512 on GPU; the defaults here are a CPU size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from seqselect.data.types import IGNORE_INDEX
from seqselect.errors import DataError

__all__ = ["mqar", "mqar_vocab_size"]


def mqar_vocab_size(n_keys: int, n_values: int) -> int:
    """Tokens MQAR uses: noise, keys and values (also its number of classes)."""
    return 1 + n_keys + n_values


def _check(length: int, n_pairs: int, n_queries: int, n_keys: int, n_values: int) -> None:
    if n_pairs < 1 or n_queries < 1:
        raise DataError(f"mqar: n_pairs and n_queries must be >= 1, got {n_pairs}, {n_queries}")
    if n_queries > n_pairs:
        raise DataError(f"mqar: n_queries={n_queries} must be <= n_pairs={n_pairs} "
                        "(each query asks for a distinct bound key)")
    if n_keys < n_pairs:
        raise DataError(f"mqar: n_keys={n_keys} must be >= n_pairs={n_pairs} (distinct keys)")
    if n_values < 2:
        raise DataError(f"mqar: n_values must be >= 2, got {n_values}")
    if length - 2 * n_pairs < n_queries:
        raise DataError(f"mqar: length={length} leaves {length - 2 * n_pairs} positions after "
                        f"{n_pairs} pairs for {n_queries} queries; use length >= "
                        f"{2 * n_pairs + n_queries}")


def mqar(
    n: int, length: int, seed: int = 0, n_pairs: int = 16, n_queries: int = 16,
    n_keys: int = 64, n_values: int = 64,
) -> dict[str, Any]:
    """Zoology's multi-query associative recall.

    Returns ``x: (n, length)`` long token ids and per-step ``y: (n, length)`` long: the
    bound value at the Q query positions, ``IGNORE_INDEX`` elsewhere.
    """
    _check(length, n_pairs, n_queries, n_keys, n_values)
    rng = np.random.default_rng(seed)
    rows = np.arange(n)[:, None]
    # P distinct keys per row (1..K) and a value for each (K+1..K+V, repeats allowed).
    keys = np.argsort(rng.random((n, n_keys)), axis=1)[:, :n_pairs] + 1  # (n, P)
    values = rng.integers(0, n_values, size=(n, n_pairs)) + n_keys + 1  # (n, P)
    x = np.zeros((n, length), dtype=np.int64)
    x[:, 0 : 2 * n_pairs : 2] = keys
    x[:, 1 : 2 * n_pairs : 2] = values
    # Q of the pairs are queried, at Q distinct positions after the context.
    asked = np.argsort(rng.random((n, n_pairs)), axis=1)[:, :n_queries]  # (n, Q)
    tail = length - 2 * n_pairs
    where = np.argsort(rng.random((n, tail)), axis=1)[:, :n_queries] + 2 * n_pairs  # (n, Q)
    x[rows, where] = keys[rows, asked]
    y = np.full((n, length), IGNORE_INDEX, dtype=np.int64)
    y[rows, where] = values[rows, asked]
    vocab = mqar_vocab_size(n_keys, n_values)
    return {
        "x": torch.from_numpy(x),
        "mask": torch.ones(n, length, dtype=torch.bool),
        "y": torch.from_numpy(y),
        "vocab_size": vocab,
        "d_output": vocab,
        "task": "classify",
        "model_task": "per_step",
        "class_names": [str(i) for i in range(vocab)],
        "metadata": {
            "chance_accuracy": 1.0 / n_values,
            "scored_positions": f"{n_queries} query positions after {n_pairs} key-value pairs",
        },
    }
