"""ListOps: values against an independent evaluator, lengths in range, padding, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqselect.data.listops import LISTOPS_VOCAB, decode_listops, listops
from seqselect.errors import DataError


def _eval_listops(tokens: list[str]) -> int:
    stack: list[list] = []
    for tok in tokens:
        if tok.startswith("["):
            stack.append([tok])
        elif tok == "]":
            op, *args = stack.pop()
            value = {"[MIN": min, "[MAX": max}.get(op, lambda a: None)(args)
            if op == "[MED":
                value = int(np.median(args))
            elif op == "[SM":
                value = sum(args) % 10
            if not stack:
                return value
            stack[-1].append(value)
        else:
            stack[-1].append(int(tok))
    raise AssertionError("unbalanced")


def test_listops_values_match_an_independent_evaluator_and_lengths():
    out = listops(60, length=120, min_length=20, seed=5)
    assert out["vocab_size"] == len(LISTOPS_VOCAB) == 16
    lengths = out["mask"].sum(dim=1)
    assert torch.all((lengths > 20) & (lengths < 120))
    for row in range(60):
        tokens = decode_listops(out["x"][row]).split()
        assert len(tokens) == int(lengths[row])
        assert _eval_listops(tokens) == int(out["y"][row])
    # Right-padded with 0 after the real tokens.
    assert torch.all(out["x"][~out["mask"]] == 0)


def test_listops_impossible_range_fails_clearly():
    with pytest.raises(DataError, match="min_length < length"):
        listops(3, length=10, min_length=20)
