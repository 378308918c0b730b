"""Does tuning change the verdict? ``seqselect study`` over the bundled UCR/UEA
classification problems twice at the same budget per dataset: with default
hyper-parameters, and with ``--tune auto`` (each candidate's search inside the same equal
budget; issue 16, item 5).

Each study runs as a user would run it: the CLI in its own process, its own study name and
store under ``--work`` (default ``seqselect-runs/study-ucr/``, ignored by git), ``--json``
and ``--html`` to read and show it. Both studies are resumable (run the command again);
``--side-by-side`` runs them at once, one CPU each.

Writes to ``<out>.md`` / ``<out>.json`` (default ``benchmarks/results/study-ucr``):

* each study's mean ranks and pairwise Wilcoxon + Holm (as ``seqselect study`` prints);
* per model: mean rank and mean test accuracy without and with ``--tune``, and the change;
* one critical-difference diagram of both together (every model twice: ``NAME`` and
  ``NAME+tune``), ``<out>-cd.png``, drawn by aeon, and each study's own diagram in its
  HTML page (``<out>-untuned.html``, ``<out>-tuned.html``);
* the wall time of each study and the machine.

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/study_ucr.py
    ... benchmarks/study_ucr.py --datasets GunPoint,ItalyPowerDemand --budget 30s \\
        --out benchmarks/results/study-ucr-smoke -- --models cnn1d,gru --seeds 1

Arguments after ``--`` go to both ``seqselect study`` runs unchanged. The full run takes
about 2 x (number of datasets) x (budget + set-up) of wall time; run it alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from seqselect.baselines import list_baselines
from seqselect.data.bundled import archive_problems
from seqselect.formatting import format_number
from seqselect.study.stats import critical_difference_png, summarize
from seqselect.system import describe_environment

HERE = Path(__file__).parent
RESULTS = HERE / "results"


def classification_problems() -> list[str]:
    return [name for name, p in archive_problems().items() if p.kind == "classification"]


def study_command(label: str, datasets: list[str], budget: str, work: Path,
                  extra: list[str], out: Path) -> list[str]:
    """The ``seqselect study`` command line of one study (its own store: two studies
    side by side never write one SQLite file at once)."""
    work.mkdir(parents=True, exist_ok=True)
    return [
        sys.executable, "-m", "seqselect", "study", *(f"ucr:{d}" for d in datasets),
        "--budget-per-dataset", budget, "--store", str(work / f"{label}.db"),
        "--name", f"{label}-{budget}", "--json", str(work / f"{label}.json"),
        "--html", str(out.with_name(f"{out.name}-{label}.html")), "--quiet", *extra,
    ]


def run_studies(commands: dict[str, list[str]], work: Path,
                side_by_side: bool) -> dict[str, tuple[dict[str, Any], float]]:
    """Each study in its own process, one after the other or all at once;
    ``{label: (its JSON document, wall seconds)}``."""
    results: dict[str, tuple[dict[str, Any], float]] = {}
    running: dict[str, tuple[subprocess.Popen, float]] = {}
    for label, command in commands.items():
        # stderr to a file: a pipe nobody reads while the other study runs could fill
        with open(work / f"{label}.log", "w") as log:
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
        running[label] = (process, time.perf_counter())
        if not side_by_side:
            results[label] = _finished(label, *running.pop(label), work)
    for label, (process, start) in running.items():
        results[label] = _finished(label, process, start, work)
    return results


def _finished(label: str, process: subprocess.Popen, start: float,
              work: Path) -> tuple[dict[str, Any], float]:
    process.wait()
    wall = time.perf_counter() - start
    if process.returncode != 0:
        stderr = (work / f"{label}.log").read_text()
        raise SystemExit(f"{label} study failed (exit {process.returncode}): {stderr[-1500:]}")
    return json.loads((work / f"{label}.json").read_text()), wall


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def compare(untuned: dict[str, Any], tuned: dict[str, Any]) -> list[dict[str, Any]]:
    """Per model: mean rank and mean test score in each study, and the changes."""
    rows = []
    models = sorted(set(untuned["summary"]["models"]) | set(tuned["summary"]["models"]))
    for model in models:
        cells: dict[str, Any] = {"model": model}
        for label, doc in (("untuned", untuned), ("tuned", tuned)):
            cells[f"rank_{label}"] = doc["summary"]["mean_rank"].get(model)
            scores = [d["scores"][model] for d in doc["datasets"] if model in d["scores"]]
            cells[f"score_{label}"] = _mean(scores)
        for key in ("rank", "score"):
            a, b = cells[f"{key}_untuned"], cells[f"{key}_tuned"]
            cells[f"{key}_change"] = None if a is None or b is None else b - a
        rows.append(cells)
    return rows


def together(untuned: dict[str, Any], tuned: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Scores per dataset with every model twice (``NAME``, ``NAME+tune``); baselines
    (the same fit in both studies) once."""
    scores: dict[str, dict[str, float]] = {}
    for d in untuned["datasets"]:
        scores[d["dataset"]] = dict(d["scores"])
    baselines = set(list_baselines())
    for d in tuned["datasets"]:
        row = scores.setdefault(d["dataset"], {})
        for model, value in d["scores"].items():
            row[model if model in baselines else f"{model}+tune"] = value
    return scores


def _wall(report: dict[str, Any]) -> float:
    walls = report["wall_s"].values()
    return max(walls) if report.get("side_by_side") else sum(walls)


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# seqselect study on {len(report['datasets'])} bundled UCR/UEA problem(s), "
        f"--budget-per-dataset {report['budget']}, with and without --tune auto",
        "",
        f"Command: `{report['command']}`  ",
        f"Cost (the bake-offs' stored wall time, set-up included): untuned "
        f"{report['cost_s']['untuned']:.0f} s, tuned {report['cost_s']['tuned']:.0f} s; "
        f"this call's wall time {_wall(report):.0f} s "
        f"(a rerun reads finished studies back); load average at start "
        f"{report['load_start']}, at end {report['load_end']}.",
        "",
        "Ranks: mean rank of the mean test accuracy per dataset (1 = best; each bake-off "
        "selected on validation only)."
        + (" Both studies ran side by side, each with one CPU (--cpus-per-trial 1)."
           if report.get("side_by_side") else ""),
        "",
        "| model | rank untuned | rank tuned | change | acc untuned | acc tuned | change |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["compare"]:
        lines.append(
            f"| {r['model']} | {format_number(r['rank_untuned'], 3)} | "
            f"{format_number(r['rank_tuned'], 3)} | {format_number(r['rank_change'], 3)} | "
            f"{format_number(r['score_untuned'], 4)} | {format_number(r['score_tuned'], 4)} | "
            f"{format_number(r['score_change'], 3)} |"
        )
    lines += ["", "Both together (every network twice), critical-difference diagram: "
              f"`{report['diagram'] or 'not drawn (needs 3 models and 2 datasets)'}`", "",
              "| model | mean rank |", "|---|---|"]
    both = report["together"]
    lines += [f"| {m} | {format_number(both['mean_rank'][m], 3)} |" for m in both["models"]]
    lines += ["", "Datasets: " + ", ".join(report["datasets"]), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", default="5m", help="per dataset, the same in both studies")
    parser.add_argument("--datasets", default=None, help="comma-separated (default: all)")
    parser.add_argument("--work", default="seqselect-runs/study-ucr")
    parser.add_argument("--out", default=str(RESULTS / "study-ucr"))
    parser.add_argument(
        "--side-by-side", action="store_true",
        help="run both studies at once, each with --cpus-per-trial 1 (half the wall time; "
             "on 2 cores each study has one, so every trial trains single-threaded)")
    args = parser.parse_args(argv)
    datasets = args.datasets.split(",") if args.datasets else classification_problems()
    out, work = Path(args.out), Path(args.work)
    out.parent.mkdir(parents=True, exist_ok=True)
    load_start = [round(v, 2) for v in __import__("os").getloadavg()]
    if args.side_by_side:
        extra = ["--cpus-per-trial", "1", *extra]
    commands = {
        "untuned": study_command("untuned", datasets, args.budget, work, extra, out),
        "tuned": study_command("tuned", datasets, args.budget, work,
                               ["--tune", "auto", *extra], out),
    }
    done = run_studies(commands, work, args.side_by_side)
    (untuned, wall_untuned), (tuned, wall_tuned) = done["untuned"], done["tuned"]
    both = summarize(together(untuned, tuned), untuned["summary"]["metric"],
                     untuned["summary"]["higher_is_better"])
    png = critical_difference_png(both)
    diagram = None
    if png:
        diagram = str(out.with_name(out.name + "-cd.png"))
        Path(diagram).write_bytes(png)
    report = {
        "command": " ".join(["benchmarks/study_ucr.py", *(sys.argv[1:] if argv else [])]),
        "datasets": datasets, "budget": args.budget, "extra_args": extra,
        "wall_s": {"untuned": wall_untuned, "tuned": wall_tuned},
        "side_by_side": args.side_by_side,
        "cost_s": {label: sum(v or 0.0 for v in doc["bakeoff_s"].values())
                   for label, doc in (("untuned", untuned), ("tuned", tuned))},
        "load_start": load_start,
        "load_end": [round(v, 2) for v in __import__("os").getloadavg()],
        "compare": compare(untuned, tuned), "together": both.to_dict(), "diagram": diagram,
        "untuned": untuned["summary"], "tuned": tuned["summary"],
        "environment": describe_environment("cpu"),
    }
    out.with_suffix(".json").write_text(json.dumps(report, indent=2, default=str))
    out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
