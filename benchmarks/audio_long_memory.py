"""Raw 16 kHz audio: the advisor's memory estimate vs the measured peak training memory.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/audio_long_memory.py
    .venv/bin/python benchmarks/audio_long_memory.py --models s4,tcn --length 16000 --batch 4 \
        --json benchmarks/results/audio-long-memory.json

Issue 15: S4, S4D, Mamba and TCN must take raw 16 kHz input of 16,000+ steps (one second)
within the memory estimate the advisor and the bake-off use (``advisor/memory.py``,
``estimate_memory``) - the estimate is what moves a model to "avoid" when it would not
fit. Each cell is one training step (forward, cross-entropy, backward, AdamW) of the
whole zoo model at its default width on ``x: (B, L, 1)``, measured in a fresh process by
``seqselect.bench.measure_cell`` (peak RSS growth above the model and data, i.e. the
activations autograd keeps and the gradients). The audio models (wavenet, crnn,
conv_transformer) run too: the estimate must hold for every model an audio bake-off
may train.

The ratio measured / estimated is printed per model; "within" means the measured peak
is at most the estimate plus 25% (the calibration tolerance ``rules.json`` states).
Timings are not the point here (and the machine is shared): see benchmarks/results.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from seqselect.advisor.memory import estimate_memory
from seqselect.bench import measure_cell

MODELS = ("s4", "s4d", "mamba", "tcn", "wavenet", "crnn", "conv_transformer")
TOLERANCE = 1.25  # rules.json: estimates land within about 25% of the saved tensors
MIB = 2**20


def measure(name: str, args) -> dict:
    """One model's row: the estimate (MiB), the measured peak (MiB) and their ratio."""
    est = estimate_memory(name, args.length, args.batch)
    cell = measure_cell(name, args.length, "train", batch=args.batch, params=None,
                        repeats=1, warmup=0, device="cpu", threads=args.threads,
                        timeout_s=args.timeout, d_input=1, d_output=10, count_flops=False,
                        sample_rate=args.sample_rate)
    estimate_mb = est.bytes / MIB
    row = {
        "model": name, "length": args.length, "batch": args.batch, "status": cell.status,
        "params": cell.params, "d_model": cell.d_model, "estimate_mb": round(estimate_mb, 1),
        "estimate": est.describe(), "measured_mb": cell.peak_mb, "time_ms": cell.time_ms,
        "memory_method": cell.memory_method, "load_avg": cell.load_avg, "error": cell.error,
    }
    if cell.ok and cell.peak_mb is not None:
        row["ratio"] = round(cell.peak_mb / estimate_mb, 2)
        row["within"] = cell.peak_mb <= TOLERANCE * estimate_mb
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--length", type=int, default=16_000, help="samples (16,000 = 1 s)")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--sample-rate", type=int, default=16_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per cell")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args(argv)
    rows = []
    print(f"L={args.length} samples, batch {args.batch}, {args.threads} thread(s), "
          f"load {os.getloadavg()[0]:.2f}", flush=True)
    for name in args.models.split(","):
        row = measure(name, args)
        rows.append(row)
        measured = "-" if row["measured_mb"] is None else f"{row['measured_mb']:,.0f}"
        print(f"{name:<17} {row['status']:<7} estimate {row['estimate_mb']:>8,.0f} MiB  "
              f"measured {measured:>8} MiB  ratio {row.get('ratio', '-')}  "
              f"within: {row.get('within', '-')}", flush=True)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(
            {"command": " ".join(sys.argv), "settings": vars(args), "rows": rows}, indent=1))
    return 0 if all(r.get("within") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
