"""``seqselect bakeoff`` (train and rank candidates), ``seqselect report`` (a stored run as
a table, JSON or HTML) and ``seqselect predict`` (use an exported winner).

The leaderboard table lives in ``seqselect.cli.leaderboard`` and the live progress in
``seqselect.cli.bakeoff_progress``; their names are importable from here as before."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.panel import Panel
from rich.table import Table

from seqselect.bakeoff.decide import protocol_sentence
from seqselect.bakeoff.executors import EXECUTORS
from seqselect.bakeoff.store import DEFAULT_STORE
from seqselect.baselines import list_baselines
from seqselect.cli._app import (  # noqa: F401
    command,
    console,
    err_console,
    print_json,
    process_start,
)
from seqselect.cli.bakeoff_progress import (  # noqa: F401  (re-exported)
    _TRIAL_METRICS,
    _Progress,
    _setup_line,
    _trial_line,
)
from seqselect.cli.data import TEXT_HELP
from seqselect.cli.leaderboard import (  # noqa: F401  (re-exported)
    _HEAD,
    _LABELS,
    _TAIL,
    _abbreviated,
    _caption,
    _mean_std,
    _note,
    _number,
    _precision_note,
    _row_style,
    _short,
    _verdict_head,
    leaderboard_table,
)
from seqselect.cli.tuning import PRUNER_HELP, TUNE_HELP, chosen_table, tune_line  # noqa: F401 issue 16
from seqselect.errors import SeqSelectError
from seqselect.vocabulary import DATA_TASKS

if TYPE_CHECKING:
    from seqselect.bakeoff import BakeoffResult

_STORE_HELP = "Results database (SQLite); created when missing."


def print_result(result: BakeoffResult) -> None:
    """Leaderboard, protocol, verdict, advisor comparison and timing, for people."""
    console.print(leaderboard_table(result))
    if result.tuning:  # issue 16: each model's --tune choice
        console.print(chosen_table(result.tuning))
    console.print(f"Protocol: {protocol_sentence(result.protocol)}.", highlight=False)
    inputs = (result.dataset or {}).get("input") or {}
    if inputs.get("text_pipeline"):  # text: how long texts were cut, for every row
        pipe = inputs["text_pipeline"]
        how = inputs.get("truncation") or f"truncate: tokens past {pipe['max_len']} are cut"
        console.print(f"Text inputs: {pipe['kind']} tokenizer, vocabulary {pipe['vocab_size']}; "
                      f"{how}.", highlight=False)
    reasons = "\n".join(f"• {r}" for r in result.winner.reasons)
    console.print(
        Panel(f"{_verdict_head(result)}\n{reasons}", title="verdict", expand=False),
        highlight=False,
    )
    timing = result.timing
    if timing:
        console.print(budget_line(timing), highlight=False)


def budget_line(timing: dict[str, Any]) -> str:
    """The whole bake-off's time against its budget, phase by phase."""
    within = "within" if timing.get("within_budget") else "OVER"
    actual = timing.get("actual_s") or {}
    phases = [("set-up", "setup"), ("baselines", "baselines"), ("tuning", "tune"),
              ("trials", None), ("closing", "closing")]
    parts = []
    for label, key in phases:
        seconds = timing.get("trials_s") if key is None else actual.get(key)
        if seconds is not None:
            parts.append(f"{label} {_number(seconds, 3)} s")
    total = timing.get("total_s", timing.get("trials_s"))
    return (
        f"The bake-off took {_number(total, 4)} s of a {_number(timing.get('budget_s'), 4)} s "
        f"budget ({within} budget + {int(100 * timing.get('tolerance', 0.1))}%): "
        f"{', '.join(parts)}; {timing.get('trials_resumed', 0)} trial(s) kept from an "
        "earlier run."
    )


def _write_json(doc: dict[str, Any], target: str) -> None:
    text = json.dumps(doc, indent=2, default=str) + "\n"
    if target == "-":
        sys.stdout.write(text)
        return
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _lengths(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        lengths = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise SeqSelectError(
            f"--scaling {text!r}: give lengths as integers, e.g. 64,256,1024"
        ) from None
    if not lengths or min(lengths) < 1:
        raise SeqSelectError(f"--scaling {text!r}: give positive lengths, e.g. 64,256,1024")
    return lengths


def _export_line(export: dict[str, Any], folder: str) -> str:
    onnx = export.get("onnx", {})
    diff = onnx.get("max_abs_diff")
    detail = f", max diff {diff:.1e}" if diff is not None else ""
    return (
        f"Exported {export['model']} (seed {export['seed']}) to {folder}"
        f" (ONNX: {onnx.get('status')}{detail})"
    )


_BAKEOFF_HELP = {
    "data": "A data file (CSV, Parquet, NPZ) or a bundled name: ucr:GunPoint, "
    "task:adding?length=100, ...",
    "task": f"{', '.join(DATA_TASKS)} (inferred from the target when omitted).",
    "target": "Target column of a CSV/Parquet file.",
    "id": "Long form: the column naming each sequence (forecasting: each series).",
    "time": "Long form / series: the column ordering the steps.",
    "impute": "Fill missing values inside sequences: zero, ffill or mean (refused otherwise).",
    "models": "'auto' (the advisor's shortlist plus one baseline) or names: lstm,tcn,transformer.",
    "baselines": "Non-network rows measured like the candidates: 'auto' (the task's "
    "baselines), 'none', or names: " + ", ".join(list_baselines()) + ".",
    "budget": "Total wall time of all trials (e.g. 90s, 3m, 1h), split equally among "
    "models x seeds.",
    "seeds": "Trials per model; ± is the std over seeds (validation: over folds x seeds).",
    "params": "Build every candidate with this many parameters (±10%).",
    "max_latency_ms": "Winner constraint: latency for one sequence, ms.",
    "max_memory_mb": "Winner constraint: peak inference memory, MB.",
    "max_params": "Winner constraint: parameter count.",
    "executor": f"{' or '.join(EXECUTORS)}.",
    "jobs": "local: trials at once (processes); each gets cores // jobs threads.",
    "ray_address": "ray: connect here (e.g. auto); default starts a local Ray.",
    "cpus_per_trial": "CPUs (torch threads) per trial; default: divided sensibly.",
    "run": "Run name; the same name again resumes (finished trials are kept).",
    "json": "Write the result as JSON to this file ('-' for stdout).",
    "html": "Write the HTML report to this file.",
    "export": "Write the winner here: safetensors + config.json (+ ONNX).",
    "scaling": "After the trials, benchmark the candidates' inference at these lengths "
    "(e.g. 64,256,1024) for the report's scaling plots; outside the budget.",
    "device": "cpu or cuda.",
    "max_epochs": "Epoch cap per trial (the time budget usually ends training first).",
    "quiet": "No progress display.",
    "replay": "Repeat the stored run RUN exactly: its models, seeds, folds and settings, "
    "each network trial redoing the steps it took (a time budget buys a machine-dependent "
    "number of steps). Prints whether every trial came out bit-identical; exit code 1 if not.",
}


@command("bakeoff")
def bakeoff_command(
    data: str = typer.Argument(..., help=_BAKEOFF_HELP["data"]),
    task: str = typer.Option(None, help=_BAKEOFF_HELP["task"]),
    target: str = typer.Option(None, help=_BAKEOFF_HELP["target"]),
    id_col: str = typer.Option(None, "--id", help=_BAKEOFF_HELP["id"]),
    time_col: str = typer.Option(None, "--time", help=_BAKEOFF_HELP["time"]),
    impute: str = typer.Option(None, help=_BAKEOFF_HELP["impute"]),
    models: str = typer.Option("auto", help=_BAKEOFF_HELP["models"]),
    baselines: str = typer.Option("auto", help=_BAKEOFF_HELP["baselines"]),
    budget: str = typer.Option("10m", help=_BAKEOFF_HELP["budget"]),
    seeds: int = typer.Option(3, help=_BAKEOFF_HELP["seeds"]),
    params: int = typer.Option(None, help=_BAKEOFF_HELP["params"]),
    max_latency_ms: float = typer.Option(None, help=_BAKEOFF_HELP["max_latency_ms"]),
    max_memory_mb: float = typer.Option(None, help=_BAKEOFF_HELP["max_memory_mb"]),
    max_params: int = typer.Option(None, help=_BAKEOFF_HELP["max_params"]),
    executor: str = typer.Option("local", help=_BAKEOFF_HELP["executor"]),
    jobs: int = typer.Option(1, help=_BAKEOFF_HELP["jobs"]),
    ray_address: str = typer.Option(None, help=_BAKEOFF_HELP["ray_address"]),
    cpus_per_trial: int = typer.Option(None, help=_BAKEOFF_HELP["cpus_per_trial"]),
    store: str = typer.Option(DEFAULT_STORE, help=_STORE_HELP),
    run: str = typer.Option(None, help=_BAKEOFF_HELP["run"]),
    json_out: str = typer.Option(None, "--json", help=_BAKEOFF_HELP["json"]),
    html: str = typer.Option(None, help=_BAKEOFF_HELP["html"]),
    export: str = typer.Option(None, help=_BAKEOFF_HELP["export"]),
    scaling: str = typer.Option(None, help=_BAKEOFF_HELP["scaling"]),
    device: str = typer.Option("cpu", help=_BAKEOFF_HELP["device"]),
    max_epochs: int = typer.Option(500, help=_BAKEOFF_HELP["max_epochs"]),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=_BAKEOFF_HELP["quiet"]),
    text: str = typer.Option(None, "--text", help=TEXT_HELP["text"]),
    vocab_size: int = typer.Option(None, "--vocab-size", min=3, help=TEXT_HELP["vocab_size"]),
    pretrained: str = typer.Option(None, "--pretrained", metavar="DIR",
                                   help=TEXT_HELP["pretrained"]),
    tune: str = typer.Option(None, help=TUNE_HELP),  # issue 16
    pruner: str = typer.Option("median", help=PRUNER_HELP),  # issue 16
    replay: str = typer.Option(None, metavar="RUN", help=_BAKEOFF_HELP["replay"]),
) -> None:
    """Train candidate architectures on YOUR data under an equal time budget and several
    seeds, measure their latency, memory and size here, and pick the winner."""
    from seqselect.bakeoff import bakeoff

    lengths = _lengths(scaling)
    data_options = {
        k: v for k, v in (("id_col", id_col), ("time_col", time_col), ("impute", impute),
                          ("text", text), ("vocab_size", vocab_size), ("pretrained", pretrained))
        if v is not None
    }
    progress = _Progress(enabled=not quiet)
    try:
        result = bakeoff(
            data, task=task, target=target, models=models, baselines=baselines,
            budget=budget, seeds=seeds,
            params=params, max_latency_ms=max_latency_ms, max_memory_mb=max_memory_mb,
            max_params=max_params, executor=executor, jobs=jobs, ray_address=ray_address,
            cpus_per_trial=cpus_per_trial, store=store, run=run, device=device,
            max_epochs=max_epochs, data_options=data_options, export=export, scaling=lengths,
            on_event=progress, tune=tune, tune_pruner=pruner,  # issue 16
            replay=replay, clock_start=process_start(),
        )
    finally:
        progress.stop()
    _show_outcome(result, replay=replay, html=html, json_out=json_out, export=export)


def _show_outcome(
    result: BakeoffResult, *, replay: str | None, html: str | None, json_out: str | None,
    export: str | None,
) -> None:
    """What ``seqselect bakeoff`` writes and prints once the trials are done: the HTML
    report, the JSON, the leaderboard and verdict, the replay check, the export and where the
    run is stored; exit code 1 when a replay did not come out bit-identical."""
    from seqselect.report import write_html

    check = _replay_check(result, replay) if replay else None
    if html:
        write_html(result, html)
    if json_out:
        doc = result.to_dict()
        if check is not None:
            doc["replay_check"] = check.to_dict()
        _write_json(doc, json_out)
    if json_out == "-":
        if check is not None and not check.ok:
            raise typer.Exit(1)
        return
    print_result(result)
    if check is not None:
        console.print(check.sentence(), highlight=False)
    if export and result.export:
        console.print(_export_line(result.export, export), highlight=False)
    if html:
        console.print(f"HTML report: {html}", highlight=False)
    console.print(f"Stored as run {result.run!r} in {result.store}", highlight=False)
    if check is not None and not check.ok:
        raise typer.Exit(1)


def _replay_check(result, original: str):
    """The replayed run against ``original``, trial by trial (seqselect.bakeoff.replay)."""
    from seqselect.bakeoff import ResultsStore
    from seqselect.bakeoff.replay import compare_runs

    db = ResultsStore(result.store)
    return compare_runs(original, result.run, db.trials(original), db.trials(result.run))


def _print_runs(db, store: str, as_json: bool) -> None:
    """The runs in the store, as JSON or a table."""
    runs = db.list_runs()
    if as_json:
        print_json(runs)
        return
    table = Table(title=f"Runs in {store}")
    for col in ("name", "dataset", "created", "finished", "trials done"):
        table.add_column(col)
    for r in runs:
        table.add_row(r["name"], r["dataset"], r["created"], r["finished"] or "-", str(r["done"]))
    console.print(table)


@command("report")
def report_command(
    name: str = typer.Argument(None, help="Run name (omit to list the runs in the store)."),
    store: str = typer.Option(DEFAULT_STORE, help=_STORE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the run with its trials as JSON."),
    html: str = typer.Option(None, help="Write the HTML report to this file."),
    export: str = typer.Option(
        None, help="Write the run's winner here (safetensors + config.json + ONNX)."
    ),
) -> None:
    """Show a stored bake-off: leaderboard and verdict, JSON, or an HTML report; export
    its winner."""
    from seqselect.bakeoff import ResultsStore, result_from_store
    from seqselect.report import write_html

    if not Path(store).is_file():
        raise SeqSelectError(
            f"--store {store}: no such results database (run `seqselect bakeoff` first)"
        )
    db = ResultsStore(store)
    if name is None:
        _print_runs(db, store, as_json)
        return
    result = result_from_store(db, name)
    if export:
        result.export_winner(export)
    if html:
        write_html(result, html)
    if as_json:
        print_json(result.to_dict())
        return
    print_result(result)
    if export:
        console.print(
            f"Exported {result.export['model']} (seed {result.export['seed']}) to {export}",
            highlight=False,
        )
    if html:
        console.print(f"HTML report: {html}", highlight=False)


@command("predict")
def predict_command(
    file: str = typer.Argument(
        ...,
        help="Input file: CSV/Parquet (wide or long form) or NPZ; for a text model a table "
        "of texts (CSV/TSV/Parquet/JSONL) or a folder of .txt; for an audio model a folder "
        "of audio files or a CSV of paths; for a forecasting model a "
        "series (--time, --id for several) or a bundled forecast:NAME.",
    ),
    model: str = typer.Option(
        ..., "--model", help="A folder written by `seqselect bakeoff --export`."
    ),
    out: str = typer.Option(
        ..., "--out", help="Where to write the predictions (.csv or .parquet)."
    ),
    target: str = typer.Option(
        None,
        help="Target column in FILE, if present (excluded from the inputs; used to score). "
        "Ignored for forecasting.",
    ),
    id_col: str = typer.Option(None, "--id", help="Long form: the column naming each sequence."),
    time_col: str = typer.Option(None, "--time", help="Long form: the column ordering the steps."),
    impute: str = typer.Option(None, help="Fill missing values as in training."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Predict with an exported model: one prediction per input sequence (per row in the
    wide form); a forecasting model writes the next `horizon` values of each series, on the
    series' own scale. Loading reads safetensors and JSON only; nothing is unpickled."""
    from seqselect.bakeoff.predict import predict_file

    summary = predict_file(
        model, file, out, target=target, id_col=id_col, time_col=time_col, impute=impute
    )
    if as_json:
        print_json(summary)
        return
    if "horizon" in summary:
        console.print(
            f"Wrote {summary['rows']} forecasts of {summary['model']} to {out} "
            f"({summary['series']} series x {summary['horizon']} steps)",
            highlight=False,
        )
        return
    score = ""
    if "accuracy" in summary:
        score = f"; accuracy against {target or 'the target'}: {summary['accuracy']:.4g}"
    elif "mse" in summary:
        score = f"; mse against {target or 'the target'}: {summary['mse']:.4g}"
    console.print(
        f"Wrote {summary['rows']} predictions of {summary['model']} to {out}{score}",
        highlight=False,
    )
