"""Packed against padded RNN batches on this CPU (seqselect.models.masked_rnn): one
training step's forward + backward of a 2-layer LSTM / GRU (one or two directions) over a
right-padded batch, timed alternately (median of ``--repeats`` after warm-up).

The padded path is what the zoo's recurrent models run on CPU; the packed path is what
they ran before (and still run on CUDA). Half the batch is shorter than L (lengths drawn
from [L/4, L]), as in a ragged dataset.

    OMP_NUM_THREADS=2 PYTHONPATH=src .venv/bin/python benchmarks/rnn_padding.py
    ... benchmarks/rnn_padding.py --json benchmarks/results/rnn-padding-2cpu.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import time_alternating
from seqselect.models.masked_rnn import packed_forward, padded_forward


def _step(rnn: nn.RNNBase, h: torch.Tensor, lengths: torch.Tensor, path):
    def run() -> None:
        rnn.zero_grad(set_to_none=True)
        path(rnn, h, lengths).sum().backward()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[150, 500, 2000])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--width", type=int, default=34)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    print(f"{'cell':<6} {'dirs':>4} {'L':>5} {'packed ms':>10} {'padded ms':>10} {'speed-up':>8}")
    for cell in (nn.LSTM, nn.GRU):
        for bidirectional in (False, True):
            for length in args.lengths:
                torch.manual_seed(0)
                rnn = cell(args.width, args.width, num_layers=2, batch_first=True,
                           bidirectional=bidirectional)
                h = torch.randn(args.batch, length, args.width)
                lengths = torch.randint(length // 4, length + 1, (args.batch,))
                lengths[: args.batch // 2] = length
                ms = time_alternating(
                    {"packed": _step(rnn, h, lengths, packed_forward),
                     "padded": _step(rnn, h, lengths, padded_forward)},
                    repeats=args.repeats, warmup=1,
                )
                row = {"cell": cell.__name__, "bidirectional": bidirectional, "length": length,
                       "batch": args.batch, "width": args.width, "threads": args.threads,
                       "packed_ms": round(ms["packed"], 2), "padded_ms": round(ms["padded"], 2)}
                rows.append(row)
                print(f"{row['cell']:<6} {2 if bidirectional else 1:>4} {length:>5} "
                      f"{row['packed_ms']:>10.1f} {row['padded_ms']:>10.1f} "
                      f"{row['packed_ms'] / row['padded_ms']:>7.1f}x", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
