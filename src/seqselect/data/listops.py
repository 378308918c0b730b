"""LRA's ListOps (Tay et al. 2021): nested MIN/MAX/MED/SM expressions over digits.

Generated as LRA's ``lra_benchmarks/data/listops.py`` does: trees drawn top-down, lengths
rejection-sampled into a range, duplicates dropped; tokens as in LRA/S4 (brackets "("
")" dropped, "]" kept).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from seqselect.data.types import pad_sequences
from seqselect.errors import DataError

__all__ = ["LISTOPS_OPERATORS", "LISTOPS_VOCAB", "decode_listops", "listops"]

LISTOPS_OPERATORS = ("[MIN", "[MAX", "[MED", "[SM")
#: Token ids: 0 padding, 1-10 digits 0-9, then the operators, then "]".
LISTOPS_VOCAB = ("<pad>", *[str(d) for d in range(10)], *LISTOPS_OPERATORS, "]")
_LISTOPS_ID = {tok: i for i, tok in enumerate(LISTOPS_VOCAB)}
_VALUE_P = 0.25  # LRA: probability that a node below max_depth is an operator


def _listops_apply(op: str, args: list[int]) -> int:
    if op == "[MIN":
        return min(args)
    if op == "[MAX":
        return max(args)
    if op == "[MED":
        return int(np.median(args))  # LRA: int() of the median, i.e. floored
    return sum(args) % 10  # [SM


class _TooLong(Exception):
    """A tree grew past the length limit: LRA would reject it, so stop building it."""


def _listops_tree(
    rnd: random.Random, depth: int, max_depth: int, max_args: int, out: list[str], limit: int
) -> int:
    """Append one subtree's tokens to ``out``; return its value (LRA ``generate_tree``).

    Raises :class:`_TooLong` once ``out`` reaches ``limit`` tokens (rejected anyway).
    """
    if len(out) >= limit:
        raise _TooLong
    r = rnd.random() if depth < max_depth else 1.0
    if r > _VALUE_P:
        value = rnd.randrange(10)
        out.append(str(value))
        return value
    op = rnd.choice(LISTOPS_OPERATORS)
    out.append(op)
    n_args = rnd.randint(2, max_args)
    args = [_listops_tree(rnd, depth + 1, max_depth, max_args, out, limit) for _ in range(n_args)]
    out.append("]")
    return _listops_apply(op, args)


def listops(
    n: int,
    length: int = 2000,
    seed: int = 0,
    min_length: int | None = None,
    max_depth: int = 10,
    max_args: int = 10,
    max_tries: int = 2_000_000,
) -> dict[str, Any]:
    """LRA ListOps (Tay et al. 2021; generator ``lra_benchmarks/data/listops.py``).

    Draws trees as LRA does and keeps distinct ones with ``min_length < tokens < length``
    (LRA: 500 < tokens < 2000). ``min_length`` defaults to ``length // 4``.
    Returns ``x: (n, L)`` long token ids (0 = padding), a mask, ``y: (n,)`` long in 0..9.
    """
    lo = length // 4 if min_length is None else min_length
    if lo >= length - 1:
        raise DataError(f"listops: need min_length < length - 1, got {lo} and {length}")
    rnd = random.Random(seed)
    seqs: list[np.ndarray] = []
    values: list[int] = []
    seen: set[tuple[str, ...]] = set()
    tries = 0
    while len(seqs) < n:
        tries += 1
        if tries > max_tries:
            raise DataError(
                f"listops: only {len(seqs)} of {n} expressions with {lo} < tokens < {length} "
                f"after {max_tries} draws; widen the range (min_length, length) or raise max_depth"
            )
        tokens: list[str] = []
        try:
            value = _listops_tree(rnd, 1, max_depth, max_args, tokens, length)
        except _TooLong:
            continue
        if not lo < len(tokens) < length:
            continue
        key = tuple(tokens)
        if key in seen:
            continue
        seen.add(key)
        seqs.append(np.array([_LISTOPS_ID[t] for t in tokens], dtype=np.int64))
        values.append(value)
    x, mask = pad_sequences(seqs, tokens=True)
    return {
        "x": x,
        "mask": mask,
        "y": torch.tensor(values, dtype=torch.long),
        "vocab_size": len(LISTOPS_VOCAB),
        "d_output": 10,
        "task": "classify",
        "model_task": "classify",
        "class_names": [str(i) for i in range(10)],
        "metadata": {"vocab": list(LISTOPS_VOCAB), "chance_accuracy": 0.1},
    }


def decode_listops(ids) -> str:
    """Tokens back to text, for docs and debugging."""
    return " ".join(LISTOPS_VOCAB[int(i)] for i in ids if int(i) != 0)
