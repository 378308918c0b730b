"""``seqselect study``: one bake-off per dataset, then mean ranks, pairwise
wins/ties/losses, Wilcoxon + Holm and a critical-difference diagram."""

from __future__ import annotations

from typing import Any

import typer
from rich import box
from rich.table import Table

from seqselect.bakeoff.store import DEFAULT_STORE
from seqselect.cli._app import command, console, err_console, print_json
from seqselect.cli.tuning import PRUNER_HELP, TUNE_HELP
from seqselect.formatting import format_number

__all__ = ["pairs_table", "ranks_table"]


def ranks_table(doc: dict[str, Any]) -> Table:
    """Mean rank per model, best first (fits 80 columns)."""
    summary = doc["summary"]
    table = Table(title=f"mean rank over {len(summary['datasets'])} dataset(s) "
                  f"(test {summary['metric']})", box=box.SIMPLE)
    for column in ("model", "mean rank", "datasets"):
        table.add_column(column, overflow="fold")
    present = {m: sum(m in d["scores"] for d in doc["datasets"]) for m in summary["models"]}
    for model in summary["models"]:
        table.add_row(model, format_number(summary["mean_rank"][model], 3),
                      f"{present[model]}/{len(doc['datasets'])}")
    return table


def pairs_table(doc: dict[str, Any]) -> Table:
    """Every pair: wins/ties/losses of the first, Wilcoxon p and Holm p."""
    summary = doc["summary"]
    table = Table(title="pairs (wins/ties/losses of the first; Wilcoxon, Holm)",
                  box=box.SIMPLE)
    for column in ("pair", "w/t/l", "p", "Holm p", "diff?"):
        table.add_column(column, overflow="fold", max_width=30 if column == "pair" else None)
    for p in summary["pairs"]:
        significant = p["p_holm"] is not None and p["p_holm"] < summary["alpha"]
        table.add_row(f"{p['a']} vs {p['b']}", f"{p['wins']}/{p['ties']}/{p['losses']}",
                      format_number(p["p"], 3), format_number(p["p_holm"], 3),
                      "yes" if significant else "no")
    return table


def _progress(quiet: bool):
    def on_event(kind: str, payload: dict[str, Any]) -> None:
        if quiet:
            return
        words = {"dataset_start": "running", "dataset_done": "done",
                 "dataset_kept": "kept from an earlier run"}
        if kind in words:
            err_console.print(f"  {payload['dataset']}: {words[kind]}", highlight=False)
    return on_event


@command("study")
def study_command(
    datasets: list[str] = typer.Argument(..., help="Bundled names (ucr:GunPoint) or files."),
    budget_per_dataset: str = typer.Option("5m", help="Wall time of each bake-off."),
    tune: str = typer.Option(None, help=TUNE_HELP),
    target: str = typer.Option(None, help="Files: the target column (the same in each)."),
    task: str = typer.Option(None, help="Files: the task (default: inferred)."),
    pruner: str = typer.Option("median", help=PRUNER_HELP),
    models: str = typer.Option("auto", help="Candidates of every bake-off (auto: advisor)."),
    baselines: str = typer.Option("auto", help="Baselines of every bake-off."),
    seeds: int = typer.Option(3, help="Seeds per model in each bake-off."),
    params: int = typer.Option(None, help="Build every candidate at this many parameters."),
    executor: str = typer.Option("local", help="local, or ray: the bake-offs as Ray tasks."),
    ray_address: str = typer.Option(None, help="ray: connect here (default: start one)."),
    ray_cpus: int = typer.Option(None, help="ray: CPUs of the local instance it starts."),
    cpus_per_trial: int = typer.Option(None, help="CPUs (torch threads) per trial."),
    name: str = typer.Option("study", help="Study name; the same name again resumes."),
    store: str = typer.Option(DEFAULT_STORE, help="Results database (SQLite)."),
    json_out: str = typer.Option(None, "--json", help="Write the study as JSON ('-': stdout)."),
    html: str = typer.Option(None, help="Write the HTML page to this file."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines."),
) -> None:
    """Run one bake-off per dataset under the same budget, then rank the models across
    datasets: mean rank, wins/ties/losses, Wilcoxon + Holm, critical-difference diagram."""
    from seqselect.bakeoff.tune import parse_tune
    from seqselect.study import run_study
    from seqselect.study.html import write_study_html

    result = run_study(
        list(datasets), name=name, budget_per_dataset=budget_per_dataset,
        tune=parse_tune(tune), models=models, seeds=seeds, params=params, baselines=baselines,
        executor=executor, ray_address=ray_address, ray_cpus=ray_cpus,
        cpus_per_trial=cpus_per_trial, store=store, on_event=_progress(quiet),
        tune_pruner=pruner, target=target, task=task,
    )
    doc = result.to_dict()
    if html:
        write_study_html(doc, html)
    if json_out == "-":
        print_json(doc)
        return
    if json_out:
        from pathlib import Path

        Path(json_out).write_text(__import__("json").dumps(doc, indent=2, default=str))
    console.print(ranks_table(doc))
    console.print(pairs_table(doc))
    if html:
        console.print(f"HTML page: {html}", highlight=False)
    console.print(f"Stored as study {name!r} in {store}", highlight=False)
