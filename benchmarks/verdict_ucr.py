"""The verdict on real data: ``seqselect bakeoff ucr:NAME --budget 5m`` on every bundled
classification problem, against the best published deep result and MiniRocket (issue 13,
item 3).

Each dataset runs as a user would run it: the CLI in its own process, default flags, its
own store and run name under ``--work`` (default ``seqselect-runs/verdict/``, ignored by git),
``--json`` to read the result. The table has, per dataset: length, classes, training
size; the best *network* by validation (the protocol's choice) with its mean test
accuracy ± std over seeds, and the best network by test (for information only: choosing
on it would be selection on the test set); the winner (a baseline may win); MiniRocket's
test accuracy from the same run's baseline row (or, for a run without baseline rows,
``run_baseline("minirocket", ...)`` with 3 seeds on the same splits); the published best
deep result (``benchmarks/published_ucr.json``), the gap, whether the issue's target holds
(3 points on GunPoint, ItalyPowerDemand, BasicMotions, JapaneseVowels; 5 elsewhere); wall
time and whether the run ended within its budget + 10%.

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/verdict_ucr.py
    ... benchmarks/verdict_ucr.py --budget 40s --datasets GunPoint,ItalyPowerDemand \\
        --out benchmarks/results/verdict-ucr-smoke
    ... benchmarks/verdict_ucr.py --resume      # skip datasets already in the JSON
    ... benchmarks/verdict_ucr.py --rescore     # decide the stored runs again, no training

Writes ``<out>.md`` and ``<out>.json`` (default ``benchmarks/results/verdict-ucr``) after
every dataset, so an interrupted run keeps what it finished. The full run takes about
(number of datasets) x (budget + set-up) of wall time on one machine; run it alone.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from seqselect.budget import parse_seconds
from seqselect.data.bundled import archive_problems, describe_archive
from seqselect.system import describe_environment

HERE = Path(__file__).parent
RESULTS = HERE / "results"
PUBLISHED = json.loads((HERE / "published_ucr.json").read_text())["datasets"]
TOLERANCE = 0.10  # the "within the budget + 10%"
METRIC = "accuracy"


def classification_problems() -> list[str]:
    """Every classification problem aeon ships, in the archive's order."""
    return [name for name, p in archive_problems().items() if p.kind == "classification"]


def run_bakeoff(name: str, budget: str, work: Path, extra: list[str]) -> tuple[dict, float, str]:
    """``seqselect bakeoff ucr:NAME`` in its own process; (its JSON, wall s, stderr tail)."""
    work.mkdir(parents=True, exist_ok=True)
    out = work / f"{name}.json"
    out.unlink(missing_ok=True)
    run_name = f"verdict-{name}-{budget}-{time.strftime('%Y%m%d-%H%M%S')}"
    command = [
        sys.executable, "-m", "seqselect.cli", "bakeoff", f"ucr:{name}", "--budget", budget,
        "--store", str(work / "runs.db"), "--run", run_name, "--json", str(out), "--quiet",
        *extra,
    ]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    tail = (done.stderr or done.stdout or "")[-400:]
    if done.returncode != 0 or not out.is_file():
        return {}, wall, f"exit {done.returncode}: {tail}"
    return json.loads(out.read_text()), wall, ""


def _is_baseline(row: dict) -> bool:
    # Rows from before baselines existed have no "kind": all of them are networks.
    return row.get("kind", "network") == "baseline"


def _pct(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return 100 * float(value)


def _score(row: dict, prefix: str = "") -> tuple[float | None, float | None]:
    """(mean, std) in % of ``row``'s test (prefix "") or validation ("val_") accuracy."""
    return _pct(row.get(f"{prefix}{METRIC}")), _pct(row.get(f"{prefix}{METRIC}_std"))


def _val_key(row: dict) -> float:
    """Rank by validation; a network without a validation score ranks last."""
    val, _ = _score(row, "val_")
    return -math.inf if val is None else val


def summarise(doc: dict) -> dict[str, Any]:
    """The networks, the baselines and the winner of one bake-off's JSON."""
    rows = [r for r in doc.get("leaderboard", []) if r.get("status", "ok") == "ok"]
    networks = [r for r in rows if not _is_baseline(r) and _score(r)[0] is not None]
    baselines = {r["model"]: r for r in rows if _is_baseline(r)}
    has_val = any(_score(r, "val_")[0] is not None for r in networks)
    by_val = max(networks, key=_val_key) if has_val else None
    if by_val is None and networks:  # no validation column yet: the leaderboard's order
        by_val = min(networks, key=lambda r: r.get("rank") or math.inf)
    by_test = max(networks, key=lambda r: _score(r)[0]) if networks else None
    winner = doc.get("winner") or {}
    selected_on = "val" if has_val else "rank"
    # The bake-off's own best network (its tie rule included), where it names one.
    named = winner.get("best_network")
    named = named.get("model") if isinstance(named, dict) else named
    chosen = next((r for r in networks if r["model"] == named), None)
    if chosen is not None and has_val:
        by_val, selected_on = chosen, "val"
    return {
        "by_val": by_val, "by_test": by_test, "selected_on": selected_on,
        "baselines": baselines, "winner": winner.get("model"),
        "winner_kind": winner.get("kind", "network"), "reasons": winner.get("reasons", []),
    }


def minirocket_direct(name: str, seeds: int = 3) -> tuple[float | None, float | None]:
    """MiniRocket's test accuracy (mean, std %) on the bake-off's splits, fitted here."""
    from seqselect.baselines import run_baseline
    from seqselect.data import load_dataset

    splits = load_dataset(f"ucr:{name}")
    runs = [run_baseline("minirocket", splits, seed=s, repeats=1) for s in range(seeds)]
    scores = [100 * r.test_metrics[METRIC] for r in runs if r.ok]
    if not scores:
        return None, None
    return statistics.mean(scores), statistics.stdev(scores) if len(scores) > 1 else 0.0


def measure(name: str, budget: str, work: Path, extra: list[str]) -> dict[str, Any]:
    """One dataset's row of the table."""
    doc, wall, error = run_bakeoff(name, budget, work, extra)
    return row_of(name, budget, doc, wall, error)


def rescore(row: dict[str, Any], work: Path) -> dict[str, Any]:
    """``row`` decided again from its stored run with today's decision code (leaderboard,
    ranking, winner; nothing retrained); its wall time and timing stay as measured."""
    from seqselect.bakeoff.result import result_from_store
    from seqselect.bakeoff.store import ResultsStore

    doc = result_from_store(ResultsStore(work / "runs.db"), row["run"]).to_dict()
    doc["timing"] = row.get("timing") or doc.get("timing", {})
    return row_of(row["dataset"], row["budget"], doc, row["wall_s"], row.get("error"))


def row_of(name: str, budget: str, doc: dict, wall: float, error: str | None) -> dict[str, Any]:
    """One dataset's row from its bake-off document and wall time."""
    info = describe_archive(name)
    summary = summarise(doc) if doc else summarise({})
    published = PUBLISHED.get(name, {})
    mini = summary["baselines"].get("minirocket")
    if mini is not None:
        mini_mean, mini_std, mini_from = *_score(mini), "run"
    else:
        mini_mean, mini_std = minirocket_direct(name)
        mini_from = "run_baseline"
    ours, ours_std = _score(summary["by_val"]) if summary["by_val"] else (None, None)
    best = published.get("best")
    gap = None if ours is None or best is None else ours - best
    target = published.get("target_points", 5)
    budget_s = parse_seconds(budget)
    dataset = doc.get("dataset", {})
    timing = doc.get("timing", {})
    return {
        "dataset": name,
        "length": info["length"], "min_length": info["min_length"],
        "channels": info["channels"], "classes": info["classes"],
        "n_train": dataset.get("n_train"), "n_val": dataset.get("n_val"),
        "n_test": dataset.get("n_test"),
        "budget": budget, "budget_s": budget_s,
        "best_network": (summary["by_val"] or {}).get("model"),
        "selected_on": summary["selected_on"],
        "network_test": ours, "network_test_std": ours_std,
        "network_val": _score(summary["by_val"], "val_")[0] if summary["by_val"] else None,
        "best_by_test": (summary["by_test"] or {}).get("model"),
        "best_by_test_accuracy": _score(summary["by_test"])[0] if summary["by_test"] else None,
        "winner": summary["winner"], "winner_kind": summary["winner_kind"],
        "reasons": summary["reasons"],
        "minirocket": mini_mean, "minirocket_std": mini_std, "minirocket_from": mini_from,
        "published": best, "published_model": published.get("best_model"),
        "published_source": published.get("source"),
        "gap": gap, "target_points": target,
        "met": None if gap is None else gap >= -target,
        "wall_s": round(wall, 1), "within_budget": wall <= budget_s * (1 + TOLERANCE),
        "timing": timing, "run": doc.get("run"), "error": error or None,
    }


def _num(value: float | None, std: float | None = None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if std is None else f"{value:.1f}±{std:.1f}"


HEADER = ["dataset", "len", "cls", "train", "network (val)", "test %", "by test",
          "winner", "minirkt", "publ.", "gap", "target", "wall s", "in budget"]
#: The printed table (100 columns): HEADER's columns but classes and training size, as
#: (column, label, width); a cell is cut to its width.
CONSOLE = [("dataset", "dataset", 17), ("len", "len", 7), ("network (val)", "net (val)", 11),
           ("test %", "test %", 9), ("by test", "best", 5), ("winner", "winner", 11),
           ("minirkt", "mrkt", 5), ("publ.", "publ.", 5), ("gap", "gap", 5),
           ("target", "target", 7), ("wall s", "wall", 4), ("in budget", "ok", 3)]


def cells(row: dict) -> list[str]:
    length = str(row["length"]) if row["length"] == row["min_length"] else (
        f"{row['min_length']}-{row['length']}"
    )
    met = "-" if row["met"] is None else ("met" if row["met"] else "not met")
    by_test = "-" if row["best_by_test"] is None else (
        f"{row['best_by_test']} {_num(row['best_by_test_accuracy'])}"
    )
    return [
        row["dataset"], length, str(row["classes"]), str(row["n_train"] or "-"),
        row["best_network"] or "failed", _num(row["network_test"], row["network_test_std"]),
        by_test, row["winner"] or "-", _num(row["minirocket"]), _num(row["published"]),
        "-" if row["gap"] is None else f"{row['gap']:+.1f}", met, f"{row['wall_s']:.0f}",
        "yes" if row["within_budget"] else "NO",
    ]


def markdown(rows: list[dict], environment: dict, command: str) -> str:
    lines = [
        "# The verdict on aeon's bundled classification problems",
        "",
        f"Command: `{command}`",
        "",
        "Each dataset ran `seqselect bakeoff ucr:NAME --budget B` with default flags in its",
        "own process. *network (val)*: the best network by validation",
        "(by the leaderboard's rank where the run has no validation column) and its mean",
        "test accuracy ± std over seeds; *by test*: the best network by test accuracy, for",
        "information only; *winner*: the bake-off's winner (may be a baseline); *minirkt*:",
        "MiniRocket's test accuracy (the run's baseline row, else `run_baseline` with 3 seeds);",
        "*publ.*: the best published deep result (`benchmarks/published_ucr.json`); *gap*:",
        "network test − published; *target*: within 3 points (GunPoint, ItalyPowerDemand,",
        "BasicMotions, JapaneseVowels) or 5; *in budget*: wall time ≤ budget + 10%.",
        f"Machine: {environment.get('cpu')} ({environment.get('cpu_count')} CPUs), load "
        f"average {environment.get('load_average')}, torch {environment.get('torch')}.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(cells(row)) + " |" for row in rows]
    by_rank = [r["dataset"] for r in rows if r["selected_on"] != "val"]
    if by_rank:
        lines += ["", "These runs had no validation column, so *network (val)* is the "
                  f"leaderboard's first network (ranked on test): {', '.join(by_rank)}."]
    failed = [r for r in rows if r["error"]]
    lines += [""] + [f"- {r['dataset']} failed: `{r['error']}`" for r in failed]
    return "\n".join(lines).rstrip() + "\n"


def print_row(values: list[str] | None = None) -> None:
    """One line of the printed table (the header without ``values``); "by test" shows
    only its accuracy there."""
    if values is None:
        named = {column: label for column, label, _ in CONSOLE}
    else:
        named = dict(zip(HEADER, values, strict=True))
        named["by test"] = named["by test"].rsplit(" ", 1)[-1]
    line = " ".join(named[column][:width].ljust(width) for column, _, width in CONSOLE)
    print(line.rstrip(), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", default="5m")
    parser.add_argument("--datasets", help="comma-separated; default: every bundled problem")
    parser.add_argument("--out", type=Path, default=RESULTS / "verdict-ucr")
    parser.add_argument("--work", type=Path, help="stores and JSON of the runs")
    parser.add_argument("--resume", action="store_true", help="skip datasets in <out>.json")
    parser.add_argument("--rescore", action="store_true",
                        help="decide every row of <out>.json again from its stored run")
    parser.add_argument("extra", nargs="*", help="more bakeoff flags, after --")
    args = parser.parse_args()
    names = args.datasets.split(",") if args.datasets else classification_problems()
    work = args.work or Path("seqselect-runs") / "verdict" / args.out.name
    json_path = args.out.with_suffix(".json")
    command = " ".join(["benchmarks/verdict_ucr.py", *sys.argv[1:]])
    rows: list[dict] = []
    if (args.resume or args.rescore) and json_path.is_file():
        previous = json.loads(json_path.read_text())
        rows = previous.get("rows", [])
        if previous.get("command") and set(names) - {r["dataset"] for r in rows}:
            command = f"{previous['command']}; resumed by: {command}"
        else:  # nothing new to run: the table is the earlier command's
            command = previous.get("command") or command
    if args.rescore:
        rows = [rescore(row, work) for row in rows]
        command = f"{command} (rescored from the stored runs)"
    done = {r["dataset"] for r in rows}
    print_row()
    for row in rows:
        print_row(cells(row))
    for name in names:
        if name in done:
            continue
        rows.append(measure(name, args.budget, work, args.extra))
        print_row(cells(rows[-1]))
        save(rows, command, args.out)  # after every dataset: an interrupted run keeps it
    save(rows, command, args.out)
    print(f"wrote {args.out.with_suffix('.md')} and .json")


def save(rows: list[dict], command: str, out: Path) -> None:
    """``<out>.md`` and ``<out>.json`` of the rows so far."""
    environment = describe_environment("cpu")
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = sorted(rows, key=lambda row: row["dataset"])  # a resumed run appends out of order
    out.with_suffix(".md").write_text(markdown(rows, environment, command))
    payload = {"command": command, "environment": environment, "rows": rows}
    out.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
