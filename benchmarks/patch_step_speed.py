"""The patched backbones' fast path against its plain twin (seqselect.models.patching):
one training step's forward + backward + AdamW update of cnn1d and tcn on long series,
the two paths timed alternately in one process (median of ``--repeats`` after warm-up).

The fast path fuses the input projection with the learned patches and pools from the
windows; the plain path projects every step to D channels, patches that, goes back to
every step and pools there (what the model ran before). Both use the same parameters,
so they compute the same function (``tests/models/test_patching.py``). The default shape
is ACSF1's as the bake-off's recipe builds it: batch 21, 1,460 steps, patches of 6.

    OMP_NUM_THREADS=2 PYTHONPATH=src .venv/bin/python benchmarks/patch_step_speed.py
    ... benchmarks/patch_step_speed.py --length 427 --patch 2   # OSULeaf's shape
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import time_alternating, write_rows
from seqselect.models import create_model
from seqselect.models.base import pool


def _plain_logits(model, x):
    """The twin: every step projected, patched, unpatched, normed and pooled."""
    h = model.norm(model.backbone(model.embed(x), None))  # (B, L, D)
    return model.head.linear(pool(h, None, model.head.pooling))


def _step(model, x, y, forward):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def run() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(forward(model, x), y).backward()
        optimizer.step()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=21)
    parser.add_argument("--length", type=int, default=1460)
    parser.add_argument("--patch", type=int, default=6)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    torch.manual_seed(0)
    x = torch.randn(args.batch, args.length, 1)
    y = torch.randint(0, args.classes, (args.batch,))
    widths = {"cnn1d": dict(d_model=34, n_layers=3), "tcn": dict(d_model=24, n_layers=4)}
    rows = []
    print(f"{'model':6} {'fast ms':>8} {'plain ms':>9} {'speed-up':>9}")
    for name, config in widths.items():
        model = create_model(name, d_input=1, d_output=args.classes, patch=args.patch, **config)
        fns = {
            "fast": _step(model, x, y, lambda m, inputs: m(inputs)),
            "plain": _step(model, x, y, _plain_logits),
        }
        ms = time_alternating(fns, repeats=args.repeats, warmup=5)
        rows.append({"model": name, **config, "fast_ms": ms["fast"], "plain_ms": ms["plain"]})
        print(f"{name:6} {ms['fast']:8.1f} {ms['plain']:9.1f} {ms['plain'] / ms['fast']:8.2f}x")
    write_rows(args.json, args, rows)


if __name__ == "__main__":
    main()
