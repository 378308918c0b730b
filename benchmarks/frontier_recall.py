"""Recall tasks across the zoo: selective copying and multi-query associative recall (MQAR),
2 layers at matched parameters and equal steps.

    .venv/bin/python benchmarks/frontier_recall.py --threads 1                # CPU size
    .venv/bin/python benchmarks/frontier_recall.py --tasks mqar --models mamba2,gla \\
        --length 512 --steps 2000 --batch 64 --params 200000                   # larger

Tasks are the generators behind ``task:selective_copy`` (Gu & Dao 2023, Table 1) and
``task:mqar`` (Arora et al. 2023, "Zoology"), drawn fresh every step from a seed (no
example is seen twice), so accuracy is generalisation, not memorisation. Every model is
built by ``create_model(..., params=P, n_layers=2, causal=True)`` (the width is searched to
match P), trained with AdamW and a one-cycle schedule for the same number of steps and
batch, loss = cross-entropy at the scored positions only (the others are IGNORE_INDEX).
Accuracy is per scored token on held-out batches from another seed; chance is
1/(vocab-1) for selective copying and 1/n_values for MQAR.

At a CPU size (short length, a few hundred steps) these numbers say which models start to
learn the task within a small budget, not where each converges: the papers train for
tens of thousands of steps on GPU (Mamba: 99.8% selective copying at L = 4096; Zoology:
attention solves MQAR, gated convolutions need a state that grows with the pairs).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from seqselect.data.recall import mqar
from seqselect.data.tasks import selective_copy
from seqselect.data.types import IGNORE_INDEX
from seqselect.models import count_parameters, create_model
from seqselect.models.optim import param_groups

MODELS = ("mamba", "mamba2", "s4d", "mingru", "xlstm", "gla", "transformer", "lstm")
TASKS = ("selective_copy", "mqar")


def make_batch(task: str, args: argparse.Namespace, seed: int) -> dict:
    """One batch of ``args.batch`` examples: ``x (B, L)``, ``y (B, L)`` with IGNORE_INDEX."""
    if task == "selective_copy":
        return selective_copy(args.batch, args.length, seed=seed, n_memorize=args.n_memorize,
                              vocab=args.vocab)
    return mqar(args.batch, args.length, seed=seed, n_pairs=args.n_pairs,
                n_queries=args.n_pairs, n_keys=args.n_keys, n_values=args.n_values)


def train_one(task: str, name: str, args: argparse.Namespace) -> dict:
    torch.manual_seed(args.seed)
    probe = make_batch(task, args, seed=0)
    vocab = probe["vocab_size"]
    model = create_model(name, vocab_size=vocab, d_output=vocab, task="per_step", causal=True,
                         params=args.params, n_layers=args.n_layers, dropout=0.0)
    opt = torch.optim.AdamW(param_groups(model, lr=args.lr, weight_decay=0.0))
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[g["lr"] for g in opt.param_groups], total_steps=args.steps, pct_start=0.1)
    t0 = time.perf_counter()
    model.train()
    loss = torch.tensor(float("nan"))
    for step in range(1, args.steps + 1):
        batch = make_batch(task, args, seed=args.seed * 1_000_003 + step)
        logits = model(batch["x"])  # (B, L, vocab)
        loss = F.cross_entropy(logits.reshape(-1, vocab), batch["y"].reshape(-1),
                               ignore_index=IGNORE_INDEX)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
    train_s = time.perf_counter() - t0
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for i in range(args.eval_batches):
            batch = make_batch(task, args, seed=10**9 + i)
            scored = batch["y"] != IGNORE_INDEX
            pred = model(batch["x"]).argmax(-1)
            correct += (pred[scored] == batch["y"][scored]).sum().item()
            total += int(scored.sum())
    row = {"task": task, "model": name, "params": count_parameters(model),
           "d_model": model.config.d_model, "accuracy": correct / total,
           "chance": probe["metadata"]["chance_accuracy"], "final_loss": round(loss.item(), 4),
           "train_seconds": round(train_s, 1)}
    print(f"{task:<15} {name:<12} params {row['params']:>7}  acc {row['accuracy']:.3f} "
          f"(chance {row['chance']:.3f})  loss {row['final_loss']:.3f}  {train_s:.0f}s",
          flush=True)
    return row


def markdown(rows: list[dict], args: argparse.Namespace) -> str:
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    by = {(r["task"], r["model"]): r for r in rows}
    head = "| model | params | " + " | ".join(f"{t} acc" for t in tasks) + " |"
    lines = [head, "|" + "---|" * (2 + len(tasks))]
    for name in dict.fromkeys(r["model"] for r in rows):
        cells = [by.get((t, name)) for t in tasks]
        params = next(c["params"] for c in cells if c)
        accs = ["-" if c is None else f"{c['accuracy']:.3f}" for c in cells]
        lines.append(f"| {name} | {params:,} | " + " | ".join(accs) + " |")
    chance = {t: next(r["chance"] for r in rows if r["task"] == t) for t in tasks}
    lines.append("| chance | | " + " | ".join(f"{chance[t]:.3f}" for t in tasks) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--length", type=int, default=256)
    p.add_argument("--n-memorize", type=int, default=8, help="selective copy: tokens")
    p.add_argument("--vocab", type=int, default=10, help="selective copy: noise + data")
    p.add_argument("--n-pairs", type=int, default=8, help="MQAR: pairs (all queried)")
    p.add_argument("--n-keys", type=int, default=32)
    p.add_argument("--n-values", type=int, default=32)
    p.add_argument("--params", type=int, default=60_000)
    p.add_argument("--n-layers", type=int, default=2)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--eval-batches", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--json", dest="json_path", default=None)
    p.add_argument("--markdown", default=None, help="write the accuracy table here")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [train_one(t, m, args) for t in args.tasks.split(",") for m in args.models.split(",")]
    table = markdown(rows, args)
    print("\n" + table + f"\n\ncommand: {' '.join(sys.argv)}")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps({"settings": vars(args), "rows": rows},
                                                   indent=2))
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")


if __name__ == "__main__":
    main()
