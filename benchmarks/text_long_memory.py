"""Long documents: the bake-off's memory estimate for token inputs vs the measured peak.

For each long-sequence model (longformer, bigbird, s4, s4d, mamba) at 4K, 8K and 16K
tokens, one training step (forward, backward, AdamW step) on a batch of token ids runs
in its own Python process; the peak is that process's peak-RSS growth above the
baseline taken after the model and the batch exist (``seqselect.bench.memory``, with the
exact allocator so RSS follows live memory). The estimate is
``seqselect.advisor.estimate_memory(model, L, B, vocab_size=V)``, made before anything is
allocated, at the model's default config. The measured growth also holds the weight
gradients and Adam state of the whole model (the estimate counts the embedding's only)
and the step's transient workspace, so a ratio near 1 (well under 2) is what "the
estimate holds" means here.

Run (one thread, as the benchmarks must on the shared machine)::

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/text_long_memory.py \\
        --out benchmarks/results/text-long-memory-2cpu.json

Prints a table (estimate, measured, ratio) and writes JSON + a Markdown table beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

MODELS = ("longformer", "bigbird", "s4", "s4d", "mamba")
LENGTHS = (4096, 8192, 16384)
VOCAB = 8000
BATCH = 1


def cell(model: str, length: int, vocab: int, batch: int) -> dict:
    """One training step of ``model`` on ``(batch, length)`` token ids, in this process."""
    import torch

    from seqselect.bench import memory
    from seqselect.models import count_parameters, create_model

    torch.manual_seed(0)
    net = create_model(model, vocab_size=vocab, d_output=2).train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    x = torch.randint(0, vocab, (batch, length))  # (B, L) token ids
    y = torch.randint(0, 2, (batch,))
    exact = memory.exact_allocator()
    memory.reset_peak_rss()
    base = memory.peak_rss_mb()
    start = time.perf_counter()
    loss = torch.nn.functional.cross_entropy(net(x), y)
    loss.backward()
    opt.step()
    seconds = time.perf_counter() - start
    peak = memory.peak_rss_mb() - base
    return {"peak_mib": peak, "step_s": seconds, "params": count_parameters(net),
            "exact_allocator": exact, "d_model": int(net.config.d_model)}


def run_child(model: str, length: int, vocab: int, batch: int, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--cell", model, str(length), str(vocab), str(batch)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env=dict(os.environ), check=False)
    except subprocess.TimeoutExpired:
        return {"status": "timeout"}
    if done.returncode != 0:
        return {"status": "error", "error": done.stderr.strip().splitlines()[-1:]}
    return {"status": "ok", **json.loads(done.stdout.strip().splitlines()[-1])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cell", nargs=4, metavar=("MODEL", "L", "V", "B"))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--lengths", default=",".join(map(str, LENGTHS)))
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.cell:
        model, length, vocab, batch = args.cell
        print(json.dumps(cell(model, int(length), int(vocab), int(batch))))
        return 0
    from seqselect.advisor import estimate_memory
    from seqselect.system import describe_environment

    rows = []
    print(f"{'model':<11}{'L':>7}{'estimate MB':>13}{'measured MB':>13}{'ratio':>7}{'step s':>8}")
    for model in args.models.split(","):
        for length in (int(v) for v in args.lengths.split(",")):
            est = estimate_memory(model, length, BATCH, vocab_size=VOCAB)
            got = run_child(model, length, VOCAB, BATCH, args.timeout)
            row = {"model": model, "length": length, "batch": BATCH, "vocab": VOCAB,
                   "estimate_mb": est.bytes / 1e6, **got}
            if got["status"] == "ok":
                row["measured_mb"] = got["peak_mib"] * 1024 * 1024 / 1e6
                row["ratio_measured_to_estimate"] = row["measured_mb"] / row["estimate_mb"]
                print(f"{model:<11}{length:>7}{row['estimate_mb']:>13.1f}"
                      f"{row['measured_mb']:>13.1f}{row['ratio_measured_to_estimate']:>7.2f}"
                      f"{got['step_s']:>8.2f}", flush=True)
            else:
                print(f"{model:<11}{length:>7}{row['estimate_mb']:>13.1f}  {got['status']}",
                      flush=True)
            rows.append(row)
    if args.out:
        doc = {"benchmark": "text_long_memory", "environment": describe_environment(),
               "threads": os.environ.get("OMP_NUM_THREADS"),
               "load_average": os.getloadavg(), "rows": rows}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
        lines = ["| model | L | estimate MB | measured MB | measured / estimate | step s |",
                 "|---|---:|---:|---:|---:|---:|"]
        for r in rows:
            if r["status"] == "ok":
                lines.append(f"| {r['model']} | {r['length']} | {r['estimate_mb']:.1f} | "
                             f"{r['measured_mb']:.1f} | {r['ratio_measured_to_estimate']:.2f} | "
                             f"{r['step_s']:.2f} |")
            else:
                lines.append(f"| {r['model']} | {r['length']} | {r['estimate_mb']:.1f} | "
                             f"{r['status']} | - | - |")
        args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
