"""MiniRocket on every classification problem aeon ships: the non-network row to beat.

For each ``ucr:NAME`` that ``seqselect.data.bundled.archive_problems()`` finds, fit
``run_baseline("minirocket", ...)`` with 3 seeds on the official split (validation carved
from training as the bake-off does, so MiniRocket trains on the same rows a network
would) and report test accuracy mean ± std, with the majority class as the floor and the
published MiniRocket figure where ``shared/reference/published-results.md`` has one
(Dempster et al. 2021, mean of 30 resamples: GunPoint 99.2, ItalyPowerDemand 96.0).

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/baselines_ucr.py
    ... benchmarks/baselines_ucr.py --datasets GunPoint ItalyPowerDemand --seeds 0 1 2

Writes ``benchmarks/results/baselines-ucr.md`` and ``.json``. The first fit in a fresh
environment includes numba's compilation of MiniRocket (tens of seconds).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from seqselect.baselines import run_baseline
from seqselect.data import load_dataset
from seqselect.data.bundled import archive_problems, describe_archive
from seqselect.system import describe_environment

#: MiniRocket's published test accuracy (%), Dempster et al. 2021 (published-results.md).
PUBLISHED = {"GunPoint": 99.2, "ItalyPowerDemand": 96.0}
RESULTS = Path(__file__).parent / "results"


def measure(name: str, seeds: list[int]) -> dict:
    splits = load_dataset(f"ucr:{name}")
    info = describe_archive(name)
    runs = [run_baseline("minirocket", splits, seed=seed, repeats=1) for seed in seeds]
    ok = [r for r in runs if r.ok]
    accuracy = [100 * r.test_metrics["accuracy"] for r in ok]
    majority = run_baseline("majority", splits, seed=0, repeats=1)
    return {
        "dataset": name,
        "length": info["length"],
        "min_length": info["min_length"],
        "channels": info["channels"],
        "classes": info["classes"],
        "n_train": len(splits.train),
        "n_val": len(splits.val),
        "n_test": len(splits.test),
        "seeds": seeds,
        "minirocket_accuracy": accuracy,
        "minirocket_mean": statistics.mean(accuracy) if accuracy else None,
        "minirocket_std": statistics.stdev(accuracy) if len(accuracy) > 1 else 0.0,
        "fit_s": [r.fit_s for r in ok],
        "latency_ms": [r.latency_ms for r in ok],
        "failed": [r.error for r in runs if not r.ok],
        "majority_accuracy": 100 * majority.test_metrics["accuracy"],
        "published": PUBLISHED.get(name),
    }


def _cells(row: dict) -> list[str]:
    acc = "failed" if row["minirocket_mean"] is None else (
        f"{row['minirocket_mean']:.1f} ± {row['minirocket_std']:.1f}"
    )
    length = str(row["length"]) if row["length"] == row["min_length"] else (
        f"{row['min_length']}-{row['length']}"
    )
    fit = statistics.median(row["fit_s"]) if row["fit_s"] else float("nan")
    published = "-" if row["published"] is None else f"{row['published']:.1f}"
    return [
        row["dataset"], length, str(row["channels"]), str(row["classes"]), str(row["n_train"]),
        acc, f"{row['majority_accuracy']:.1f}", published, f"{fit:.2f}",
    ]


HEADER = ["dataset", "length", "ch", "classes", "n_train", "minirocket %", "majority %",
          "published %", "fit s"]


def markdown(rows: list[dict], environment: dict, seeds: list[int]) -> str:
    lines = [
        "# MiniRocket on aeon's bundled classification problems",
        "",
        f"aeon `MiniRocketClassifier` (10,000 kernels, `n_jobs=1`), seeds {seeds}, official",
        "test split; trained on the training split less the validation rows the bake-off",
        "holds out. Test accuracy mean ± std over seeds; fit s is the median fit time (the",
        "first fit of a fresh process includes numba compilation). Published: Dempster et al.",
        "2021 (mean of 30 resamples of the full training set). Unequal lengths (a range in",
        "the length column) are resampled to the training length, the baseline's default.",
        f"Machine: {environment.get('cpu')} ({environment.get('threads')} threads), "
        f"load average {environment.get('load_average')}.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", nargs="+", help="default: every bundled problem")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=RESULTS / "baselines-ucr")
    args = parser.parse_args()
    names = args.datasets or [
        name for name, problem in archive_problems().items() if problem.kind == "classification"
    ]
    rows = []
    widths = [24, 7, 3, 7, 7, 12, 10, 11, 6]
    print("  ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True)))
    for name in names:
        row = measure(name, args.seeds)
        rows.append(row)
        print("  ".join(c.ljust(w) for c, w in zip(_cells(row), widths, strict=True)), flush=True)
    environment = describe_environment("cpu", threads=1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(markdown(rows, environment, args.seeds))
    payload = {"environment": environment, "seeds": args.seeds, "rows": rows}
    args.out.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out.with_suffix('.md')} and .json")


if __name__ == "__main__":
    main()
