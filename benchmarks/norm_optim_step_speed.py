"""Torch's fused kernels against our own formulas in one training step: BatchNorm over
every real step (``MaskedBatchNorm1d.fused``) and the Adam(W) update (``fused=True``, what
``seqselect.train.optimizer.make_optimizer`` picks on CPU and CUDA) against the masked
statistics and torch's per-tensor loop. Both twins start from the same weights and compute
the same function (``tests/models/test_norm.py``, ``tests/train/test_optimizer.py``); the
two are timed alternately in one process (median of ``--repeats`` after warm-up).

The shapes are the bake-off recipe's on OSULeaf (batch 32, 427 steps, patches of 2,
about 20,000 parameters), with ItalyPowerDemand's (24 steps) for a short series:

    OMP_NUM_THREADS=2 PYTHONPATH=src .venv/bin/python benchmarks/norm_optim_step_speed.py
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import time_alternating, write_rows
from seqselect.models import create_model
from seqselect.models.norm import MaskedBatchNorm1d
from seqselect.models.optim import param_groups
from seqselect.train.optimizer import make_optimizer

#: (model, config, length): the recipe's widths at ~20k parameters
CASES = [
    ("cnn1d", dict(d_model=35, n_layers=3, patch=2), 427),
    ("tcn", dict(d_model=24, n_layers=6, patch=2), 427),
    ("cnn1d", dict(d_model=35, n_layers=3), 24),
    ("lstm", dict(d_model=64, n_layers=1), 24),
]


def _step(model, optimizer, x, y):
    def run() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    return run


def _twins(name: str, config: dict, classes: int):
    """The model with torch's fused kernels, and a copy with our formulas and the loop."""
    torch.manual_seed(0)
    fast = create_model(name, d_input=1, d_output=classes, **config)
    slow = copy.deepcopy(fast)
    for module in slow.modules():
        if isinstance(module, MaskedBatchNorm1d):
            module.fused = False
    fast_opt = make_optimizer("adamw", fast, lr=1e-3, weight_decay=0.01)
    slow_opt = torch.optim.AdamW(param_groups(slow, 1e-3, 0.01), lr=1e-3, foreach=False)
    return (fast, fast_opt), (slow, slow_opt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--classes", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    rows = []
    print(f"{'model':6} {'length':>6} {'fused ms':>9} {'ours ms':>8} {'speed-up':>9}")
    for name, config, length in CASES:
        x = torch.randn(args.batch, length, 1)
        y = torch.randint(0, args.classes, (args.batch,))
        (fast, fast_opt), (slow, slow_opt) = _twins(name, config, args.classes)
        fns = {"fused": _step(fast, fast_opt, x, y), "ours": _step(slow, slow_opt, x, y)}
        ms = time_alternating(fns, repeats=args.repeats, warmup=5)
        rows.append({"model": name, **config, "length": length, "batch": args.batch,
                     "fused_ms": ms["fused"], "ours_ms": ms["ours"]})
        print(f"{name:6} {length:6} {ms['fused']:9.2f} {ms['ours']:8.2f} "
              f"{ms['ours'] / ms['fused']:8.2f}x")
    write_rows(args.json, args, rows)


if __name__ == "__main__":
    main()
