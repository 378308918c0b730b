"""The training recipe's choices, checked on validation on the four recipe datasets only
(issue 13, item 2).

The recipe (:mod:`seqselect.train.recipe`) is tuned on GunPoint, ItalyPowerDemand,
BasicMotions and JapaneseVowels; the other bundled sets are how we learn whether it
generalises, so they must not inform it. This script re-runs each choice the recipe makes
against its alternative on those four sets and judges it on **validation** alone: the
bake-off's cross-validation scores every fold, so a model's validation accuracy and
cross-entropy are complete k-fold estimates inside the training split. Test accuracy is
printed for information, never used to decide.

Each (dataset, variant) is one ``run_bakeoff`` in its own process: the candidates
``cnn1d,tcn,lstm``, no baselines, ``--seeds 1`` (cross-validation still runs one fold
trial per fold), the given budget, the recipe's ``train_options`` with the variant's
changes laid over them. Variants:

* ``recipe``: the recipe as it is;
* ``no-smoothing``: ``label_smoothing = 0`` (the recipe uses 0.1);
* ``lr-1e-3``: ``lr = 1e-3`` (the recipe uses 3e-3);
* ``constant-lr``: ``lr_schedule = "constant"`` (the recipe uses one-cycle).

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/recipe_ablation.py
    ... benchmarks/recipe_ablation.py --budget 30s --datasets GunPoint --variants recipe

Writes ``<out>.md`` and ``<out>.json`` (default ``benchmarks/results/recipe-ablation``)
after every run. About datasets x variants x (budget + set-up) of wall time; run it alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
RECIPE_SETS = ("GunPoint", "ItalyPowerDemand", "BasicMotions", "JapaneseVowels")
MODELS = "cnn1d,tcn,lstm"
VARIANTS: dict[str, dict[str, Any]] = {
    "recipe": {},
    "no-smoothing": {"label_smoothing": 0.0},
    "lr-1e-3": {"lr": 1e-3},
    "constant-lr": {"lr_schedule": "constant"},
}

CHILD = """
import json, sys
import seqselect
name, variant, budget, store, out = sys.argv[1:6]
options = json.loads(sys.argv[6])
result = seqselect.run_bakeoff(
    f"ucr:{name}", models=sys.argv[7], baselines="none", seeds=1, budget=budget,
    store=store, run=f"{name}-{variant}", train_options=options,
)
open(out, "w").write(json.dumps(result.to_dict(with_history=False)))
"""


def run_one(name: str, variant: str, budget: str, work: Path) -> dict[str, Any]:
    """One bake-off in a child process; its leaderboard's network rows."""
    work.mkdir(parents=True, exist_ok=True)
    out = work / f"{name}-{variant}.json"
    out.unlink(missing_ok=True)
    command = [
        sys.executable, "-c", CHILD, name, variant, budget, str(work / "runs.db"), str(out),
        json.dumps(VARIANTS[variant]), MODELS,
    ]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0 or not out.is_file():
        return {"error": (done.stderr or done.stdout)[-400:], "wall_s": wall}
    rows = json.loads(out.read_text())["leaderboard"]
    return {"wall_s": wall, "models": {
        r["model"]: {
            "val_accuracy": r.get("val_accuracy"), "val_cross_entropy": r.get("val_cross_entropy"),
            "n_val": r.get("n_val"), "test_accuracy": r.get("accuracy"),
        } for r in rows if r.get("kind") == "network" and r.get("status") == "ok"
    }}


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.mean(kept) if kept else None


def _fmt(value: float | None, scale: float = 100.0, digits: int = 1) -> str:
    return "-" if value is None else f"{scale * value:.{digits}f}"


def table(results: dict[str, dict[str, Any]], variants: list[str]) -> list[str]:
    """Markdown: per dataset and variant, the networks' mean validation accuracy and
    cross-entropy (what decides) and mean test accuracy (information)."""
    lines = [
        "| dataset | variant | val acc % | val CE | test acc % | per model val acc % |",
        "|---|---|---|---|---|---|",
    ]
    for key, run in results.items():
        name, variant = key.split("/")
        if variant not in variants:
            continue
        models = run.get("models", {})
        if not models:
            lines.append(f"| {name} | {variant} | failed | | | {run.get('error', '')[:60]} |")
            continue
        per = ", ".join(f"{m} {_fmt(v['val_accuracy'])}" for m, v in models.items())
        lines.append(
            f"| {name} | {variant} | {_fmt(_mean([v['val_accuracy'] for v in models.values()]))}"
            f" | {_fmt(_mean([v['val_cross_entropy'] for v in models.values()]), 1, 3)}"
            f" | {_fmt(_mean([v['test_accuracy'] for v in models.values()]))} | {per} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", default="2m")
    parser.add_argument("--datasets", default=",".join(RECIPE_SETS))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "recipe-ablation")
    parser.add_argument("--work", type=Path, default=Path("seqselect-runs/ablation"))
    args = parser.parse_args()
    variants = args.variants.split(",")
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")
    results: dict[str, dict[str, Any]] = {}
    for name in args.datasets.split(","):
        for variant in variants:
            results[f"{name}/{variant}"] = run_one(name, variant, args.budget, args.work)
            lines = table(results, variants)
            print(lines[-1], flush=True)
            args.out.with_suffix(".json").write_text(json.dumps(
                {"budget": args.budget, "models": MODELS, "results": results}, indent=1
            ))
            header = [
                "# The recipe's choices on validation, recipe datasets only", "",
                f"Command: `benchmarks/recipe_ablation.py --budget {args.budget} --datasets "
                f"{args.datasets} --variants {args.variants}`", "",
                f"Candidates {MODELS}, no baselines, 1 seed (every fold scored); *val*: "
                "mean over the networks of their k-fold validation accuracy and "
                "cross-entropy (decides); *test*: information only.", "",
            ]
            args.out.with_suffix(".md").write_text("\n".join(header + lines) + "\n")


if __name__ == "__main__":
    main()
