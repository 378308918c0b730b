"""Budget discipline (issue 13, item 8): planned against actual seconds per phase of a
bake-off, and whether the whole run ended within its budget + 10%.

By default two runs: a bundled dataset (``ucr:GunPoint``) and a generated long-series
NPZ like the one that broke the budget in the issue (100 training + 100 test series of
2,000 steps, 20 classes; each class a sine of its own frequency under noise, so MiniRocket
solves it and a network can). Each runs ``seqselect bakeoff DATA --budget B --json`` in
its own process (its own store under ``--work``, default ``seqselect-runs/phases/``).

Phases are read two ways, whatever the result has:

* the result's ``timing`` document: its ``planned_s`` and ``actual_s`` maps (setup,
  baselines, folds, refits or trials, tune, total: the schedule's plan for each phase
  against what it took);
* the stored trials, grouped by kind and role (baseline, trial, fold, refit): the sum of
  each trial's planned share (``extra.budget_s``) against the sum of its wall time
  (``extra.wall_s``; the trials of a local run with one job run one after another).

The total is the wall time of the whole process (start-up and loading included), judged
against the budget + 10%. A bake-off still running after ``--timeout`` is killed and
what its store holds is shown (the issue's long-series case can run for many times its
budget).

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/budget_phases.py
    ... benchmarks/budget_phases.py --budget 40s --data ucr:ItalyPowerDemand long
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from seqselect.budget import parse_seconds

TOLERANCE = 0.10  # the issue's "within the budget + 10%"
LONG = "long"  # the --data name of the generated NPZ
#: ``timing`` keys ending in ``_s`` that are not a phase's seconds.
_NOT_PHASES = ("budget_s", "share_s")


def write_long_npz(path: Path, *, n_train: int = 100, n_test: int = 100, length: int = 2000,
                   classes: int = 20, seed: int = 0) -> Path:
    """A deterministic NPZ of long series: ``X_train (n_train, length)`` float32, class
    ``k`` a sine of ``k + 2`` cycles per series with a random phase, amplitude noise and
    white noise of std 1; labels balanced. Same arguments, same bytes."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, length, endpoint=False)

    def part(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n) % classes
        phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
        amplitude = rng.uniform(0.8, 1.2, size=(n, 1))
        signal = amplitude * np.sin(2 * np.pi * (y[:, None] + 2) * t[None, :] + phase)
        x = signal + rng.normal(0.0, 1.0, size=(n, length))
        return x.astype(np.float32), y.astype(np.int64)

    x_train, y_train = part(n_train)
    x_test, y_test = part(n_test)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, X_train=x_train, y_train=y_train, X_test=x_test, y_test=y_test)
    return path


def run_bakeoff(
    data: str, budget: str, work: Path, extra: list[str], timeout_s: float
) -> tuple[dict, float, str]:
    """``seqselect bakeoff DATA`` in its own process: (its JSON, wall s, error or "").

    A run still going after ``timeout_s`` is killed; its finished trials are then read
    back from its store, so the phases it got through are still shown."""
    out = work / f"{Path(data).stem.replace(':', '-')}-{budget}.json"
    out.unlink(missing_ok=True)
    store, run = work / "runs.db", f"phases-{time.strftime('%Y%m%d-%H%M%S')}"
    command = [
        sys.executable, "-m", "seqselect.cli", "bakeoff", data, "--budget", budget,
        "--store", str(store), "--run", run, "--json", str(out), "--quiet", *extra,
    ]
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=timeout_s
        )
        error = "" if done.returncode == 0 else (
            f"exit {done.returncode}: {(done.stderr or done.stdout)[-400:]}"
        )
    except subprocess.TimeoutExpired:
        error = f"killed after {timeout_s:.0f} s; the trials below are those it finished"
    wall = time.perf_counter() - start
    if not error and out.is_file():
        return json.loads(out.read_text()), wall, ""
    return partial_result(store, run), wall, error or "no JSON written"


def partial_result(store: Path, run: str) -> dict:
    """What the store holds of an unfinished run (no ``timing``: the run never ended)."""
    from seqselect.bakeoff import ResultsStore, result_from_store
    from seqselect.errors import SeqSelectError

    try:
        return result_from_store(ResultsStore(store), run).to_dict()
    except SeqSelectError:
        return {}


def timing_phases(timing: dict[str, Any]) -> dict[str, tuple[float | None, float | None]]:
    """``{phase: (planned s, actual s)}`` from the ``timing`` document.

    The schedule writes ``planned_s`` and ``actual_s`` maps (setup, baselines, folds,
    refits, ..., total); a document without them (an older run) falls back to its flat
    ``<phase>_s`` keys, with nothing planned.
    """
    planned = timing.get("planned_s") if isinstance(timing.get("planned_s"), dict) else {}
    actual = timing.get("actual_s") if isinstance(timing.get("actual_s"), dict) else {}
    if not actual:
        actual = {
            key[: -len("_s")]: value for key, value in timing.items()
            if key.endswith("_s") and key not in _NOT_PHASES
            and isinstance(value, int | float) and not isinstance(value, bool)
        }
    phases = {phase: (planned.get(phase), float(value)) for phase, value in actual.items()}
    for phase in planned.keys() - phases.keys():  # planned but never reached
        phases[phase] = (planned[phase], None)
    return phases


def trial_phases(trials: list[dict]) -> dict[str, tuple[float, float, int]]:
    """``{group: (planned s, actual s, trials)}`` summed over the stored trials, grouped
    by kind (``baseline``) or role (``trial``, ``fold``, ``refit``)."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for trial in trials:
        if trial.get("status") == "running":  # never finished: nothing measured
            continue
        extra = trial.get("extra") or {}
        group = "baseline" if trial.get("kind") == "baseline" else trial.get("role", "trial")
        cell = sums[group]
        cell[0] += float(extra.get("budget_s") or 0.0)
        cell[1] += float(extra.get("wall_s") or trial.get("train_s") or 0.0)
        cell[2] += 1
    return {group: (p, a, int(n)) for group, (p, a, n) in sums.items()}


def inside_trials(trials: list[dict]) -> dict[str, float]:
    """Seconds summed over the trials per step of a trial (``extra.phases_s``: build,
    train, measure, save, ...)."""
    sums: dict[str, float] = defaultdict(float)
    for trial in trials:
        for step, seconds in ((trial.get("extra") or {}).get("phases_s") or {}).items():
            sums[step] += float(seconds or 0.0)
    return dict(sums)


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def report(data: str, budget: str, doc: dict, wall: float, error: str) -> dict[str, Any]:
    """Print one run's phases; return them as a JSON-able row."""
    budget_s = parse_seconds(budget)
    limit = budget_s * (1 + TOLERANCE)
    timing = doc.get("timing") or {}
    print(f"\n{data}  budget {budget} ({budget_s:.0f} s, limit {limit:.0f} s)")
    if error:
        print(f"  failed: {error}")
    print(f"  {'phase (timing)':<22}{'planned s':>10}{'actual s':>10}")
    from_timing = timing_phases(timing)
    for phase, (planned, actual) in from_timing.items():
        print(f"  {phase:<22}{_s(planned):>10}{_s(actual):>10}")
    print(f"  {'trials by role':<22}{'planned s':>10}{'actual s':>10}{'n':>5}")
    from_trials = trial_phases(doc.get("trials") or [])
    for group, (planned, actual, n) in from_trials.items():
        print(f"  {group:<22}{planned:>10.1f}{actual:>10.1f}{n:>5}")
    steps = inside_trials(doc.get("trials") or [])
    if steps:
        print("  inside the trials: " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items()))
    within = wall <= limit
    print(f"  {'whole process':<22}{budget_s:>10.1f}{wall:>10.1f}   "
          f"{'within budget + 10%' if within else 'OVER budget + 10%'}"
          f" (bake-off's own verdict: {timing.get('within_budget', '-')})")
    return {
        "data": data, "budget": budget, "budget_s": budget_s, "wall_s": round(wall, 2),
        "within_budget": within, "timing": timing,
        "timing_phases": {k: list(v) for k, v in from_timing.items()},
        "trial_phases": {k: list(v) for k, v in from_trials.items()}, "inside_trials": steps,
        "error": error or None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", default="3m")
    parser.add_argument("--data", nargs="+", default=["ucr:GunPoint", LONG],
                        help=f"datasets; {LONG!r} is the generated long-series NPZ")
    parser.add_argument("--work", type=Path, default=Path("seqselect-runs") / "phases")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--timeout", type=float,
                        help="kill a bake-off after this many s (default: 4 x budget + 300)")
    parser.add_argument("extra", nargs="*", help="more bakeoff flags, after --")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for data in args.data:
        source = str(write_long_npz(args.work / "long-2000.npz")) if data == LONG else data
        timeout_s = args.timeout or 4 * parse_seconds(args.budget) + 300
        doc, wall, error = run_bakeoff(source, args.budget, args.work, args.extra, timeout_s)
        rows.append(report(source, args.budget, doc, wall, error))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    if not all(row["within_budget"] for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
