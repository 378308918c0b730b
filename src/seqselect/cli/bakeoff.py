"""``seqselect bakeoff`` (train and rank candidates), ``seqselect report`` (a stored run as
a table, JSON or HTML) and ``seqselect predict`` (use an exported winner)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from seqselect.bakeoff.decide import protocol_sentence
from seqselect.bakeoff.executors import EXECUTORS
from seqselect.bakeoff.store import DEFAULT_STORE
from seqselect.baselines import list_baselines
from seqselect.cli._app import command, console, err_console, print_json
from seqselect.cli.data import TEXT_HELP
from seqselect.cli.tuning import PRUNER_HELP, TUNE_HELP, chosen_table, tune_line  # issue 16
from seqselect.errors import SeqSelectError
from seqselect.formatting import format_number
from seqselect.vocabulary import DATA_TASKS

if TYPE_CHECKING:
    from seqselect.bakeoff import BakeoffResult, LeaderboardRow, Trial

_STORE_HELP = "Results database (SQLite); created when missing."


def _number(value: Any, digits: int = 4) -> str:
    return format_number(value, digits, missing="-")


def _abbreviated(n: Any) -> str:
    """A count in a few characters: 3.1k, 12.5M."""
    if not isinstance(n, (int, float)):
        return "-"
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.3g}{unit}"
    return f"{n:.0f}"


_COLUMNS = (
    ("#", "right"), ("model", "left"), ("validation", "right"), ("test", "right"),
    ("train\ns", "right"), ("latency\nms", "right"), ("params", "right"), ("note", "left"),
)


def _mean_std(value: Any, std: Any) -> str:
    """"0.981±0.012" (or "-" when there is no score): three decimals for scores of
    everyday size, so that a column aligns; three significant digits otherwise."""
    if value is None:
        return "-"
    std = std or 0.0
    if value == 0 or 0.01 <= abs(value) < 10:
        return f"{value:.3f}±{std:.3f}"
    return f"{_number(value, 3)}±{_number(std, 2)}"


def _note(row: LeaderboardRow, winner: str | None, excluded: dict[str, str]) -> str:
    """The note column: baseline, winner, excluded (or the row's status), failed/diverged
    counts."""
    notes = ["baseline"] if row.kind == "baseline" else []
    if row.model == winner:
        notes.append("winner")
    elif row.model in excluded:
        notes.append("excluded" if row.val_value is not None else row.status)
    if row.n_failed and row.val_value is not None:
        notes.append(f"{row.n_failed} failed")
    if row.n_diverged:
        notes.append(f"{row.n_diverged} diverged")
    return ", ".join(n for n in notes if n)


def leaderboard_table(result: BakeoffResult) -> Table:
    """The leaderboard as a Rich table, ranked by validation (winner in bold green,
    baselines in italics); fits 80 columns."""
    metric = result.metric
    winner, excluded = result.winner.model, result.winner.excluded
    table = Table(
        title=(
            f"{result.dataset.get('name', '')}: {metric}, ranked by validation "
            f"(run {result.run})"
        ),
        caption=(
            "validation: mean ± std over folds x seeds (selects); test: mean ± std over "
            "seeds (reports); latency: one sequence"
        ),
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=0,  # the box's blank divider is the one space between columns
    )
    for col, justify in _COLUMNS:
        table.add_column(col, justify=justify, no_wrap=col != "note")
    for row in result.leaderboard:
        if row.model == winner:
            style = "bold green"
        else:
            style = "dim" if row.val_value is None or row.model in excluded else None
        if row.kind == "baseline":
            style = f"{style or ''} italic".strip()
        table.add_row(
            _number(row.rank), row.model, _mean_std(row.val_value, row.val_std),
            _mean_std(row.value, row.std), _number(row.train_s, 3),
            _number(row.latency_ms, 3), _abbreviated(row.params),
            _note(row, winner, excluded), style=style,
        )
    return table


def _verdict_head(result: BakeoffResult) -> str:
    winner = result.winner
    if not winner.model:
        return "[bold red]No winner[/]"
    agree = winner.agrees_with_advisor
    if agree:
        relation = "[green]agrees with the advisor[/]"
    elif agree is False:
        relation = f"[yellow]the advisor picked {result.advisor.get('pick')}[/]"
    else:
        relation = "the advisor gave no pick"
    kind = " (a baseline)" if winner.kind == "baseline" else ""
    return (
        f"[bold]Winner: {winner.model}[/]{kind} — validation {result.metric} "
        f"{_mean_std(winner.val_value, winner.val_std)}, test "
        f"{_mean_std(winner.value, winner.std)}, latency {_number(winner.latency_ms, 3)} ms; "
        f"{relation}"
    )


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
        within = "within" if timing.get("within_budget") else "OVER"
        console.print(
            f"Trials took {_number(timing.get('trials_s'), 4)} s of a "
            f"{_number(timing.get('budget_s'), 4)} s budget "
            f"({within} budget + {int(100 * timing.get('tolerance', 0.1))}%); "
            f"set-up {_number(timing.get('setup_s'), 3)} s; "
            f"{timing.get('trials_resumed', 0)} trial(s) kept from an earlier run.",
            highlight=False,
        )


def _setup_line(payload: dict[str, Any]) -> str:
    executor = payload["executor"]
    return (
        f"[bold]{payload['run']}[/]: {payload['dataset']} — "
        f"{len(payload['candidates'])} candidates ({', '.join(payload['candidates'])}) × "
        f"{payload['seeds']} seeds = {payload['trials']} trials; "
        f"{payload['todo']} to run, ~{payload['share_s']:.1f} s each "
        f"({executor['executor']}, {executor['slots']} at a time, "
        f"{executor['threads_per_trial']} thread(s) each); "
        f"set-up took {payload['setup_s']:.1f} s"
    )


def _trial_line(trial: Trial) -> str:
    """One finished trial: status, its fold's (validation) or its test accuracy (or mse),
    and the error if any."""
    role = f" fold {trial.fold}" if trial.role == "fold" else ""
    line = f"  {trial.model:<12} seed {trial.seed}{role}: {trial.status}"
    scores = trial.val_metrics if trial.role == "fold" else trial.metrics
    where = "validation" if trial.role == "fold" else "test"
    name = "accuracy" if "accuracy" in scores else "mse"
    value = scores.get(name)
    if value is not None:
        line += f", {where} {name} {value:.4g}"
    if trial.error:
        line += f" ({trial.error[:120]})"
    return line


class _Progress:
    """Rich progress over the trials, on stderr (stdout stays for results)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.progress: Progress | None = None
        self.task = None

    def __call__(self, kind: str, payload: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if kind == "setup":
            err_console.print(_setup_line(payload), highlight=False)
            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), console=err_console, transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task("trials", total=payload["todo"])
        elif kind == "trial_start" and self.progress is not None:
            description = f"training {payload['model']} seed {payload['seed']}"
            self.progress.update(self.task, description=description)
        elif kind == "trial_done" and self.progress is not None:
            line = _trial_line(payload["result"])
            self.progress.console.print(line, highlight=False, markup=False)
            self.progress.advance(self.task)
        elif kind == "skip":
            err_console.print(
                f"  {payload['model']:<12} seed {payload['seed']}: kept from the earlier run",
                highlight=False,
            )
        elif kind == "tune_done":  # issue 16
            err_console.print(tune_line(payload), highlight=False, markup=False)
        elif kind == "scaling":
            self.stop()
            err_console.print(
                f"benchmarking inference at lengths {payload['lengths']} (outside the budget)...",
                highlight=False,
            )
        elif kind == "done":
            self.stop()

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


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
    "id": "Long form: the column naming each sequence.",
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
) -> None:
    """Train candidate architectures on YOUR data under an equal time budget and several
    seeds, measure their latency, memory and size here, and pick the winner."""
    from seqselect.bakeoff import bakeoff
    from seqselect.report import write_html

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
        )
    finally:
        progress.stop()
    if html:
        write_html(result, html)
    if json_out:
        _write_json(result.to_dict(), json_out)
    if json_out == "-":
        return
    print_result(result)
    if export and result.export:
        console.print(_export_line(result.export, export), highlight=False)
    if html:
        console.print(f"HTML report: {html}", highlight=False)
    console.print(f"Stored as run {result.run!r} in {result.store}", highlight=False)


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
