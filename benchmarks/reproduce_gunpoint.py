"""GunPoint (UCR archive, shipped with aeon): can the zoo reach the published accuracies?

Published test accuracy (``shared/reference/published-results.md``; Fawaz et al. 2019,
mean of 10 runs): MLP 92.7%, FCN 100%, ResNet 99.1%, Encoder 93.6%, InceptionTime 100%.
The target here: at least one zoo model at >= 95% on the official 150-example test set,
trained through seqselect's pipeline (``load_dataset("ucr:GunPoint")`` keeps the UCR
split: 50 train, of which 8 are held out for validation, and 150 test).

    .venv/bin/python benchmarks/reproduce_gunpoint.py                      # cnn1d tcn lstm
    .venv/bin/python benchmarks/reproduce_gunpoint.py --models cnn1d --epochs 300 --seeds 0 1 2

Every model gets the same budget (epochs and wall seconds, whichever ends first), the
same optimizer (AdamW), batch size and seeds; the best validation state is tested.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

from seqselect.data import load_dataset
from seqselect.models import create_model
from seqselect.train import Budget, train


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=["cnn1d", "tcn", "lstm"])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--params", type=int, default=50_000, help="parameter budget per model")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    rows = []
    for seed in args.seeds:
        splits = load_dataset("ucr:GunPoint", seed=seed)
        for name in args.models:
            result = train(
                lambda name=name, splits=splits: create_model(
                    name, params=args.params, **splits.model_kwargs()
                ),
                splits,
                budget=Budget(epochs=args.epochs, seconds=args.seconds),
                lr=args.lr,
                batch_size=args.batch_size,
                seed=seed,
                threads=args.threads,
                progress=False,
            )
            row = {
                "model": name,
                "seed": seed,
                "status": result.status,
                "params": result.n_params,
                "test_accuracy": result.test_metrics.get("accuracy"),
                "test_macro_f1": result.test_metrics.get("macro_f1"),
                "n_test": result.test_metrics.get("n"),
                "val_accuracy": result.val_metrics.get("accuracy"),
                "epochs": result.epochs,
                "best_step": result.best_step,
                "stopped_by": result.stopped_by,
                "seconds": result.train_seconds,
            }
            rows.append(row)
            print(
                f"GunPoint {name:12s} seed={seed} params={row['params']:6d} test acc="
                f"{row['test_accuracy']:.4f} (n={row['n_test']}) epochs={row['epochs']:g} "
                f"({row['stopped_by']}, {row['seconds']:.0f}s)",
                flush=True,
            )
    summary = {}
    for name in args.models:
        accs = [
            r["test_accuracy"]
            for r in rows
            if r["model"] == name and r["test_accuracy"] is not None
        ]
        if accs:
            summary[name] = {
                "mean": statistics.mean(accs),
                "min": min(accs),
                "max": max(accs),
                "runs": len(accs),
            }
            mean = summary[name]["mean"]
            print(f"{name:12s} mean test accuracy {mean:.4f} over {len(accs)} seed(s)")
    best = max(summary.items(), key=lambda kv: kv[1]["mean"]) if summary else None
    if best:
        verdict = "reached" if best[1]["mean"] >= 0.95 else "NOT reached"
        print(f"target >= 95%: {verdict} (best: {best[0]} {best[1]['mean']:.4f})")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {
                    "results": rows,
                    "summary": summary,
                    "command": " ".join(sys.argv),
                    "budget": {"epochs": args.epochs, "seconds": args.seconds},
                },
                fh,
                indent=2,
            )


if __name__ == "__main__":
    main()
