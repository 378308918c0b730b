"""``seqselect bakeoff`` (train and rank candidates), ``seqselect report`` (a stored run as
a table, JSON or HTML) and ``seqselect predict`` (use an exported winner)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from seqselect.cli._app import command, console, err_console, print_json

_STORE_HELP = "Results database (SQLite); created when missing."


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _compact(n: Any) -> str:
    if not isinstance(n, (int, float)):
        return "-"
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.3g}{unit}"
    return f"{n:.0f}"


def leaderboard_table(doc: dict[str, Any]) -> Table:
    """The leaderboard as a Rich table (winner in bold green); fits 80 columns."""
    from rich import box

    metric = doc["metric"]
    winner = (doc.get("winner") or {}).get("model")
    excluded = (doc.get("winner") or {}).get("excluded", {})
    dataset = (doc.get("dataset") or {}).get("name", "")
    seeds = (doc.get("args") or {}).get("seeds")
    table = Table(
        title=f"{dataset}: test {metric}, mean ± std over {seeds} seed(s) (run {doc['run']})",
        caption="latency: one sequence, ms; step: one streaming step, ms; peak: MB at inference",
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )
    for col, just in (
        ("#", "right"), ("model", "left"), (metric, "right"), ("train s", "right"), ("latency", "right"),
        ("step", "right"), ("peak", "right"), ("params", "right"), ("note", "left"),
    ):
        table.add_column(col, justify=just, no_wrap=col != "note")
    for r in doc["leaderboard"]:
        note = ""
        if r["model"] == winner:
            note = "winner"
        elif r["model"] in excluded:
            note = "excluded" if r.get(metric) is not None else r.get("status", "")
        if r.get("n_failed") and r.get(metric) is not None:
            note = (note + ", " if note else "") + f"{r['n_failed']} failed"
        if r.get("n_diverged"):
            note = (note + ", " if note else "") + f"{r['n_diverged']} diverged"
        value = r.get(metric)
        shown = "-" if value is None else f"{value:.4f} ± {r.get(f'{metric}_std') or 0:.3f}"
        style = "bold green" if r["model"] == winner else ("dim" if value is None or r["model"] in excluded else None)
        table.add_row(
            _fmt(r.get("rank")), r["model"], shown, _fmt(r.get("train_s"), 3), _fmt(r.get("latency_ms"), 3),
            _fmt(r.get("step_latency_ms"), 2), _fmt(r.get("peak_mb"), 3), _compact(r.get("params")), note,
            style=style,
        )
    return table


def print_result(doc: dict[str, Any]) -> None:
    """Leaderboard, verdict, advisor comparison and timing, for people."""
    console.print(leaderboard_table(doc))
    w = doc.get("winner") or {}
    metric = doc["metric"]
    pick = (doc.get("advisor") or {}).get("pick")
    if w.get("model"):
        agree = w.get("agrees_with_advisor")
        relation = (
            "[green]agrees with the advisor[/]" if agree
            else f"[yellow]the advisor picked {pick}[/]" if agree is False
            else "the advisor gave no pick"
        )
        head = (
            f"[bold]Winner: {w['model']}[/] — {metric} {_fmt(w.get(metric))} ± {_fmt(w.get(metric + '_std'), 2)}, "
            f"latency {_fmt(w.get('latency_ms'), 3)} ms, {_fmt(w.get('params'))} params; {relation}"
        )
    else:
        head = "[bold red]No winner[/]"
    reasons = "\n".join(f"• {r}" for r in w.get("reasons", []))
    console.print(Panel(f"{head}\n{reasons}", title="verdict", expand=False), highlight=False)
    t = doc.get("timing") or {}
    if t:
        console.print(
            f"Trials took {_fmt(t.get('trials_s'), 4)} s of a {_fmt(t.get('budget_s'), 4)} s budget "
            f"({'within' if t.get('within_budget') else 'OVER'} budget + {int(100 * t.get('tolerance', 0.1))}%); "
            f"set-up {_fmt(t.get('setup_s'), 3)} s; {t.get('trials_resumed', 0)} trial(s) kept from an earlier run.",
            highlight=False,
        )


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
            err_console.print(
                f"[bold]{payload['run']}[/]: {payload['dataset']} — {len(payload['candidates'])} candidates "
                f"({', '.join(payload['candidates'])}) × {payload['seeds']} seeds = {payload['trials']} trials; "
                f"{payload['todo']} to run, ~{payload['share_s']:.1f} s each "
                f"({payload['executor']['executor']}, {payload['executor']['slots']} at a time, "
                f"{payload['executor']['threads_per_trial']} thread(s) each); set-up took {payload['setup_s']:.1f} s",
                highlight=False,
            )
            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=err_console, transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task("trials", total=payload["todo"])
        elif kind == "trial_start" and self.progress is not None:
            self.progress.update(self.task, description=f"training {payload['model']} seed {payload['seed']}")
        elif kind == "trial_done" and self.progress is not None:
            r = payload["result"]
            metric = next(iter(r.get("metrics") or {}), None)
            value = (r.get("metrics") or {}).get("accuracy", (r.get("metrics") or {}).get("mse"))
            msg = f"  {r['model']:<12} seed {r['seed']}: {r['status']}"
            if value is not None and metric:
                msg += f", {'accuracy' if 'accuracy' in r['metrics'] else 'mse'} {value:.4g}"
            if r.get("error"):
                msg += f" ({r['error'][:120]})"
            self.progress.console.print(msg, highlight=False, markup=False)
            self.progress.advance(self.task)
        elif kind == "skip":
            err_console.print(f"  {payload['model']:<12} seed {payload['seed']}: kept from the earlier run", highlight=False)
        elif kind == "scaling":
            if self.progress is not None:
                self.progress.stop()
                self.progress = None
            err_console.print(f"benchmarking inference at lengths {payload['lengths']} (outside the budget)...", highlight=False)
        elif kind == "done" and self.progress is not None:
            self.progress.stop()

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _write_json(doc: dict[str, Any], target: str) -> None:
    text = json.dumps(doc, indent=2, default=str) + "\n"
    if target == "-":
        sys.stdout.write(text)
        return
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _lengths(text: str | None) -> list[int] | None:
    from seqselect.errors import SeqSelectError

    if not text:
        return None
    try:
        lengths = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise SeqSelectError(f"--scaling {text!r}: give lengths as integers, e.g. 64,256,1024") from None
    if not lengths or min(lengths) < 1:
        raise SeqSelectError(f"--scaling {text!r}: give positive lengths, e.g. 64,256,1024")
    return lengths


@command("bakeoff")
def bakeoff_command(
    data: str = typer.Argument(..., help="A data file (CSV, Parquet, NPZ) or a bundled name: ucr:GunPoint, task:adding?length=100, ..."),
    task: str = typer.Option(None, help="classify, regress or forecast (inferred from the target when omitted)."),
    target: str = typer.Option(None, help="Target column of a CSV/Parquet file."),
    id_col: str = typer.Option(None, "--id", help="Long form: the column naming each sequence."),
    time_col: str = typer.Option(None, "--time", help="Long form / series: the column ordering the steps."),
    impute: str = typer.Option(None, help="Fill missing values inside sequences: zero, ffill or mean (refused otherwise)."),
    models: str = typer.Option("auto", help="'auto' (the advisor's shortlist plus one baseline) or names: lstm,tcn,transformer."),
    budget: str = typer.Option("10m", help="Total wall time of all trials (e.g. 90s, 3m, 1h), split equally among models x seeds."),
    seeds: int = typer.Option(3, help="Trials per model; the leaderboard's ± is the std over seeds."),
    params: int = typer.Option(None, help="Build every candidate with this many parameters (±10%)."),
    max_latency_ms: float = typer.Option(None, help="Winner constraint: latency for one sequence, ms."),
    max_memory_mb: float = typer.Option(None, help="Winner constraint: peak inference memory, MB."),
    max_params: int = typer.Option(None, help="Winner constraint: parameter count."),
    executor: str = typer.Option("local", help="local or ray."),
    jobs: int = typer.Option(1, help="local: trials at once (processes); each gets cores // jobs threads."),
    ray_address: str = typer.Option(None, help="ray: connect here (e.g. auto); default starts a local Ray."),
    cpus_per_trial: int = typer.Option(None, help="CPUs (torch threads) per trial; default: divided sensibly."),
    store: str = typer.Option("seqselect-runs/runs.db", help=_STORE_HELP),
    run: str = typer.Option(None, help="Run name; the same name again resumes (finished trials are kept)."),
    json_out: str = typer.Option(None, "--json", help="Write the result as JSON to this file ('-' for stdout)."),
    html: str = typer.Option(None, help="Write the HTML report to this file."),
    export: str = typer.Option(None, help="Write the winner here: safetensors + config.json (+ ONNX)."),
    scaling: str = typer.Option(None, help="After the trials, benchmark the candidates' inference at these lengths (e.g. 64,256,1024) for the report's scaling plots; outside the budget."),
    device: str = typer.Option("cpu", help="cpu or cuda."),
    max_epochs: int = typer.Option(500, help="Epoch cap per trial (the time budget usually ends training first)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
) -> None:
    """Train candidate architectures on YOUR data under an equal time budget and several
    seeds, measure their latency, memory and size here, and pick the winner."""
    from seqselect.bakeoff import bakeoff
    from seqselect.report import write_html

    lengths = _lengths(scaling)
    data_options = {k: v for k, v in (("id_col", id_col), ("time_col", time_col), ("impute", impute)) if v is not None}
    to_stdout = json_out == "-"
    progress = _Progress(enabled=not quiet)
    try:
        result = bakeoff(
            data,
            task=task,
            target=target,
            models=models,
            budget=budget,
            seeds=seeds,
            params=params,
            max_latency_ms=max_latency_ms,
            max_memory_mb=max_memory_mb,
            max_params=max_params,
            executor=executor,
            jobs=jobs,
            ray_address=ray_address,
            cpus_per_trial=cpus_per_trial,
            store=store,
            run=run,
            device=device,
            max_epochs=max_epochs,
            data_options=data_options,
            export=export,
            scaling=lengths,
            on_event=progress,
        )
    finally:
        progress.stop()
    doc = result.to_dict()
    if html:
        write_html(doc, html)
    if json_out:
        _write_json(doc, json_out)
    if to_stdout:
        return
    print_result(doc)
    if export and result.export:
        onnx = result.export.get("onnx", {})
        console.print(
            f"Exported {result.export['model']} (seed {result.export['seed']}) to {export}"
            f" (ONNX: {onnx.get('status')}{', max diff ' + format(onnx['max_abs_diff'], '.1e') if onnx.get('max_abs_diff') is not None else ''})",
            highlight=False,
        )
    if html:
        console.print(f"HTML report: {html}", highlight=False)
    console.print(f"Stored as run {result.run!r} in {result.store}", highlight=False)


@command("report")
def report_command(
    name: str = typer.Argument(None, help="Run name (omit to list the runs in the store)."),
    store: str = typer.Option("seqselect-runs/runs.db", help=_STORE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the run with its trials as JSON."),
    html: str = typer.Option(None, help="Write the HTML report to this file."),
    export: str = typer.Option(None, help="Write the run's winner here (safetensors + config.json + ONNX)."),
) -> None:
    """Show a stored bake-off: leaderboard and verdict, JSON, or an HTML report; export
    its winner."""
    from seqselect.bakeoff.runner import result_from_store
    from seqselect.bakeoff.store import ResultsStore
    from seqselect.errors import SeqSelectError
    from seqselect.report import write_html

    if not Path(store).is_file():
        raise SeqSelectError(f"--store {store}: no such results database (run `seqselect bakeoff` first)")
    db = ResultsStore(store)
    if name is None:
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
        return
    result = result_from_store(db, name)
    if export:
        result.export_winner(export)
    doc = result.to_dict()
    if html:
        write_html(doc, html)
    if as_json:
        print_json(doc)
        return
    print_result(doc)
    if export:
        console.print(f"Exported {result.export['model']} (seed {result.export['seed']}) to {export}", highlight=False)
    if html:
        console.print(f"HTML report: {html}", highlight=False)


@command("predict")
def predict_command(
    file: str = typer.Argument(..., help="Input file: CSV/Parquet (wide or long form) or NPZ."),
    model: str = typer.Option(..., "--model", help="A folder written by `seqselect bakeoff --export`."),
    out: str = typer.Option(..., "--out", help="Where to write the predictions (.csv or .parquet)."),
    target: str = typer.Option(None, help="Target column in FILE, if present (excluded from the inputs; used to score)."),
    id_col: str = typer.Option(None, "--id", help="Long form: the column naming each sequence."),
    time_col: str = typer.Option(None, "--time", help="Long form: the column ordering the steps."),
    impute: str = typer.Option(None, help="Fill missing values as in training."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Predict with an exported model: one prediction per input sequence (per row in the
    wide form). Loading reads safetensors and JSON only; nothing is unpickled."""
    from seqselect.bakeoff.predict import predict_file

    summary = predict_file(model, file, out, target=target, id_col=id_col, time_col=time_col, impute=impute)
    if as_json:
        print_json(summary)
        return
    score = ""
    if "accuracy" in summary:
        score = f"; accuracy against {target or 'the target'}: {summary['accuracy']:.4g}"
    elif "mse" in summary:
        score = f"; mse against {target or 'the target'}: {summary['mse']:.4g}"
    console.print(f"Wrote {summary['rows']} predictions of {summary['model']} to {out}{score}", highlight=False)
