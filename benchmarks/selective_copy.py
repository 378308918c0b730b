"""Selection matters: Mamba learns selective copying, S4D does not, on the same budget.

Gu & Dao 2023 (Mamba, Table 1; ``shared/reference/published-results.md``): at length
4096, 16 tokens to memorize, vocabulary 16, 2 layers, D = 64, S4 without gating reaches
18.3% and Mamba (S6) 99.8%. A time-invariant SSM convolves with one fixed kernel, so it
cannot skip the noise tokens whose positions change from sample to sample; the selective
SSM gates its state by content. This is a small CPU instance of the same task (shorter
sequences, fewer steps), trained on fresh samples each step, equal steps for every model.

Task (the definition of ``seqselect.data``'s ``selective_copy``): ``n_memorize`` data
tokens from 1..vocab-1 at random distinct positions among noise tokens (0), then
``n_memorize`` marker tokens (id ``vocab``); the model must output the data tokens, in
order, at the marker positions. Per-token accuracy there; chance is 1/(vocab-1).

    .venv/bin/python benchmarks/selective_copy.py --threads 1        # L=128, 8 tokens (~30 min)
    .venv/bin/python benchmarks/selective_copy.py --threads 1 --length 64 --n-memorize 4 \
        --vocab 5 --steps 500                                         # smaller (~10 min)
    .venv/bin/python benchmarks/selective_copy.py --params 67000      # parameter-matched models
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F

from seqselect.models import count_parameters, create_model
from seqselect.models.optim import param_groups


def selective_copy_batch(
    batch: int, length: int, n_memorize: int, vocab: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``x: (batch, length)`` token ids and ``y: (batch, n_memorize)`` targets.

    The first ``length - n_memorize`` positions hold noise (0) with ``n_memorize`` data
    tokens (1..vocab-1) at random distinct positions; the last ``n_memorize`` hold the
    marker ``vocab``; ``y`` is the data tokens in order of position.
    """
    content = length - n_memorize
    data = torch.randint(1, vocab, (batch, n_memorize), generator=generator)
    positions = torch.rand(batch, content, generator=generator).argsort(dim=1)[:, :n_memorize]
    positions = positions.sort(dim=1).values
    x = torch.zeros(batch, length, dtype=torch.long)
    x[:, :content].scatter_(1, positions, data)
    x[:, content:] = vocab
    return x, data


def train_one(name: str, args: argparse.Namespace) -> dict:
    torch.manual_seed(args.seed)
    overrides = {"n_layers": args.n_layers, **json.loads(args.overrides).get(name, {})}
    if args.params is None:
        overrides.setdefault("d_model", args.d_model)
    model = create_model(name, vocab_size=args.vocab + 1, d_output=args.vocab + 1,
                         task="per_step", causal=True, params=args.params, **overrides)
    opt = torch.optim.AdamW(param_groups(model, lr=args.lr, weight_decay=args.weight_decay))
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[g["lr"] for g in opt.param_groups], total_steps=args.steps, pct_start=0.1
    )
    g = torch.Generator().manual_seed(args.seed)
    M = args.n_memorize
    curve = []
    t0 = time.perf_counter()
    model.train()
    for step in range(1, args.steps + 1):
        x, y = selective_copy_batch(args.batch, args.length, M, args.vocab, g)
        logits = model(x)[:, -M:]  # (B, M, V+1): the marker positions
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % args.log_every == 0 or step == args.steps:
            acc = (logits.argmax(-1) == y).float().mean().item()
            curve.append({"step": step, "loss": round(loss.item(), 4), "train_acc": round(acc, 4)})
            print(f"{name:6s} step {step:5d} loss {loss.item():.3f} batch acc {acc:.3f} "
                  f"({time.perf_counter() - t0:.0f}s)", flush=True)
    train_s = time.perf_counter() - t0
    model.eval()
    eval_g = torch.Generator().manual_seed(args.seed + 12345)
    correct = total = 0
    with torch.no_grad():
        for _ in range(args.eval_batches):
            x, y = selective_copy_batch(args.batch, args.length, M, args.vocab, eval_g)
            correct += (model(x)[:, -M:].argmax(-1) == y).sum().item()
            total += y.numel()
    return {
        "model": name, "d_model": model.config.d_model, "overrides": overrides,
        "params": count_parameters(model), "test_accuracy": correct / total,
        "chance": 1 / (args.vocab - 1), "train_seconds": round(train_s, 1), "curve": curve,
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--models", default="mamba,s4d")
    p.add_argument("--length", type=int, default=128, help="total length, markers included")
    p.add_argument("--n-memorize", type=int, default=8)
    p.add_argument("--vocab", type=int, default=10,
                   help="noise + data symbols (the marker is extra)")
    p.add_argument("--d-model", type=int, default=64, help="width of every model (the paper's D)")
    p.add_argument("--params", type=int, default=None,
                   help="instead of --d-model: match every model to this many parameters")
    p.add_argument("--n-layers", type=int, default=2)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--eval-batches", type=int, default=16)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overrides", default="{}",
                   help='JSON per model, e.g. \'{"s4d": {"d_model": 84}}\' (parameter matching)')
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--json", default="", help="write the results here")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    results = [train_one(name, args) for name in args.models.split(",")]
    print(f"\nselective copying: length {args.length}, {args.n_memorize} tokens, vocab "
          f"{args.vocab}, {args.n_layers} layers, "
          f"{f'~{args.params} params' if args.params else f'D={args.d_model}'}, "
          f"{args.steps} steps x "
          f"batch {args.batch}, lr {args.lr}")
    for r in results:
        print(f"  {r['model']:6s} D={r['d_model']:<4d} params {r['params']:7d}  "
              f"test accuracy {r['test_accuracy']:.3f} "
              f"(chance {r['chance']:.3f})  train {r['train_seconds']:.0f}s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"config": vars(args), "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
