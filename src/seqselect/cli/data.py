"""``seqselect datasets`` (what ships), ``seqselect profile`` (validate and describe data),
``seqselect train`` (one model, one dataset, one budget)."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

import typer
from rich import box
from rich.table import Table

from seqselect.cli._app import command, console, print_json
from seqselect.data.bundled import KIND_TASK
from seqselect.data.validate import IMPUTE_METHODS
from seqselect.errors import SeqSelectError
from seqselect.formatting import format_number
from seqselect.vocabulary import DATA_TASKS

if TYPE_CHECKING:
    from seqselect.data import DatasetSplits
    from seqselect.train import TrainResult

#: Choices built from the library's own allowed values.
Task = Enum("Task", {t: t for t in DATA_TASKS}, type=str)
Impute = Enum("Impute", {m: m for m in IMPUTE_METHODS}, type=str)


def _choice_value(option: Enum | str | None) -> str | None:
    return option.value if isinstance(option, Enum) else option


@command("datasets")
def datasets_command(
    kind: str = typer.Option(None, help="Only rows whose kind contains this (classification, "
                             "regression, forecasting, synthetic)."),
    as_json: bool = typer.Option(False, "--json", help="Print the list as JSON."),
) -> None:
    """List the datasets that load offline: synthetic tasks (task:NAME), the UCR/UEA problems
    aeon ships (ucr:NAME), its regression problems (tser:NAME) and forecasting series
    (forecast:NAME?horizon=H&window=W)."""
    from seqselect.data import list_datasets

    rows = [r for r in list_datasets() if kind is None or kind.lower() in r["kind"]]
    if as_json:
        print_json(rows)
        return
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title="Datasets (offline)",
        caption="task: synthetic (default sizes; change with ?length=..&n=..). forecast: length = "
        "input window, train/test = windows at the default horizon. ch: channels (tok = token "
        "ids). Load any with seqselect.data.load_dataset(NAME).",
    )
    table.add_column("name", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    for col in ("length", "ch", "classes", "train", "test"):
        table.add_column(col, justify="right", no_wrap=True, min_width=len(col))
    for r in rows:
        length = str(r["length"])
        if r.get("min_length") not in (None, r["length"]):
            length = f"{r['min_length']}-{r['length']}"
        table.add_row(
            r["name"], r.get("task") or KIND_TASK.get(r["kind"], r["kind"]), length,
            str(r["channels"] or "tok"),
            str(r["classes"] or "-"), str(r["n_train"]), str(r["n_test"]),
        )
    console.print(table)


#: Help of the text options shared by profile, recommend --from and bakeoff.
TEXT_HELP = {
    "text": "The text column of a table (inferred when exactly one column holds free text).",
    "vocab_size": "Tokens in the vocabulary trained on the training texts (default: sized "
    "to the data).",
    "pretrained": "A local Hugging Face checkpoint folder (config.json, *.safetensors, "
    "tokenizer.json): its tokenizer encodes the texts (and in a bake-off it is fine-tuned "
    "as a candidate). Nothing is downloaded.",
}


def _text_rows(meta: dict) -> list[tuple[str, str]]:
    """The tokenizer and truncation rows of a text dataset's profile."""
    pipe = meta.get("text_pipeline")
    if not pipe:
        return []
    rows = [("tokenizer", f"{pipe['kind']}, vocabulary {pipe['vocab_size']}, max length "
                          f"{pipe['max_len']} tokens ({meta.get('texts_at_max_len', 0)} "
                          "texts reach it)")]
    if meta.get("truncation"):
        rows.append(("truncation", str(meta["truncation"])))
    return rows


@command("profile")
def profile_command(
    source: str = typer.Argument(..., help="A file (.csv, .tsv, .parquet, .npz) or a dataset "
                                 "name (ucr:GunPoint, task:adding?length=200, forecast:Airline)."),
    task: Task = typer.Option(None, help="classify, regress or forecast (inferred when omitted)."),
    target: str = typer.Option(None, help="The target column (CSV/Parquet)."),
    id_col: str = typer.Option(None, "--id", help="Long form: the sequence-id column."),
    time_col: str = typer.Option(None, "--time", help="Long form / series: the time column."),
    impute: Impute = typer.Option(None, help="Fill missing values inside sequences: zero, ffill "
                                  "or mean (refused when omitted)."),
    val_fraction: float = typer.Option(0.15, help="Validation fraction (no official split)."),
    test_fraction: float = typer.Option(0.2, help="Test fraction (no official split)."),
    seed: int = typer.Option(0, help="Seed of the split."),
    text: str = typer.Option(None, "--text", help=TEXT_HELP["text"]),
    vocab_size: int = typer.Option(None, "--vocab-size", min=3, help=TEXT_HELP["vocab_size"]),
    pretrained: str = typer.Option(None, "--pretrained", metavar="DIR",
                                   help=TEXT_HELP["pretrained"]),
    as_json: bool = typer.Option(False, "--json", help="Print the profile as JSON."),
) -> None:
    """Validate a dataset exactly as training would, then describe it: sizes, lengths,
    channels, classes and balance. Bad data exits with code 2 and one message naming the
    file, row and column; the file is never modified."""
    from seqselect.data import load_dataset, profile_dataset

    splits = load_dataset(
        source, task=_choice_value(task), target=target, id_col=id_col, time_col=time_col,
        impute=_choice_value(impute), val_fraction=val_fraction, test_fraction=test_fraction,
        seed=seed, text=text, vocab_size=vocab_size, pretrained=pretrained,
    )
    profile = profile_dataset(splits).to_dict()
    if as_json:
        print_json(profile)
        return
    table = Table(title=f"Profile of {splits.source or splits.name}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    length = profile["length"]
    split = splits.metadata.get("split", "")
    if profile["value_type"] == "tokens":
        values = "tokens, vocabulary " + str(profile["vocab_size"])
    else:
        values = f"float, {profile['n_channels']} channel(s)"
        values += " (multivariate)" if profile["multivariate"] else ""
    rows = [
        ("task", f"{profile['task']} (model task: {profile['model_task']})"),
        ("sequences", f"{profile['n_sequences']} = {profile['n_train']} train + "
                      f"{profile['n_val']} validation + {profile['n_test']} test ({split} split)"),
        ("length" + (" (tokens)" if profile["value_type"] == "tokens" else ""),
         f"min {length['min']}, median {length['median']:g}, p95 {length['p95']:g}, "
                   f"max {length['max']}"
                   + (" (padded + mask)" if profile["variable_length"] else "")),
        ("values", values),
        ("data type", profile["data_type"]),
        ("outputs", str(profile["d_output"])),
    ]
    if profile["n_classes"] is not None:
        balance = profile["class_balance"] or {}
        shown = ", ".join(f"{k}: {v:.0%}" for k, v in list(balance.items())[:12])
        more = ", ..." if len(balance) > 12 else ""
        rows.append(("classes", f"{profile['n_classes']} ({shown}{more})"))
    rows += _text_rows(splits.metadata)
    for key in ("impute", "imputed_cells", "form", "horizon", "window"):
        if splits.metadata.get(key) not in (None, 0):
            rows.append((key.replace("_", " "), str(splits.metadata[key])))
    for field, value in rows:
        table.add_row(field, value)
    console.print(table)
    for warning in splits.metadata.get("warnings", []):
        console.print(f"[yellow]warning:[/] {warning}")
    console.print(
        "[green]valid:[/] no missing, infinite or non-numeric values; every split is non-empty."
    )


@command("train")
def train_command(
    model: str = typer.Argument(..., help="A model name (see `seqselect models`)."),
    source: str = typer.Argument(..., help="A dataset name or file (as for `seqselect profile`)."),
    budget: str = typer.Option("60s", help="Training budget: 90s, 10m, '5 epochs', '200 steps' "
                               "(several joined by ',': whichever ends first)."),
    task: Task = typer.Option(None, help="classify, regress or forecast (inferred when omitted)."),
    target: str = typer.Option(None, help="The target column (CSV/Parquet)."),
    id_col: str = typer.Option(None, "--id", help="Long form: the sequence-id column."),
    time_col: str = typer.Option(None, "--time", help="Long form / series: the time column."),
    impute: Impute = typer.Option(None, help="Fill missing values: zero, ffill or mean."),
    params: int = typer.Option(None, help="Match the model to this many parameters (±10%)."),
    causal: bool = typer.Option(False, "--causal/--no-causal", help="Build the model causal."),
    lr: float = typer.Option(1e-3, help="Learning rate (AdamW)."),
    weight_decay: float = typer.Option(0.01, help="Weight decay."),
    batch_size: int = typer.Option(32, min=1, help="Batch size."),
    clip: float = typer.Option(1.0, help="Gradient-norm clipping (0: off)."),
    patience: int = typer.Option(None, min=1, help="Early stopping after this many validations "
                                 "without improvement."),
    seed: int = typer.Option(0, help="Seed for split, initialisation and data order."),
    device: str = typer.Option("cpu", help="cpu, cuda, mps or auto."),
    threads: int = typer.Option(None, min=1, help="Torch threads."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Train one model on one dataset under a budget and report validation/test metrics."""
    from seqselect.data import load_dataset
    from seqselect.models import create_model, model_card
    from seqselect.train import Budget, train

    try:
        parsed = Budget.parse(budget)
    except ValueError as exc:
        raise SeqSelectError(str(exc)) from None
    splits = load_dataset(
        source, task=_choice_value(task), target=target, id_col=id_col, time_col=time_col,
        impute=_choice_value(impute), seed=seed,
    )
    try:
        model_card(model)
    except KeyError as exc:
        raise SeqSelectError(str(exc).strip("'\"")) from None
    kwargs = splits.model_kwargs()

    def build():
        try:
            return create_model(model, causal=causal, params=params, **kwargs)
        except (TypeError, ValueError) as exc:  # create_model's answer to a bad combination
            raise SeqSelectError(f"cannot build {model!r} for {splits.name}: {exc}") from None

    result = train(
        build, splits, budget=parsed, lr=lr, weight_decay=weight_decay, batch_size=batch_size,
        clip=clip or None, patience=patience, seed=seed, device=device, threads=threads,
        progress=not as_json,
    )
    if as_json:
        print_json({"model": model, **result.to_dict()})
        return
    if result.status == "diverged":
        console.print(
            f"[bold red]diverged[/] at step {result.diverged_at_step} (loss became NaN/inf)"
        )
        raise typer.Exit(1)
    _render_training(model, splits, result)


def _render_training(model: str, splits: DatasetSplits, result: TrainResult) -> None:
    """The trained model's test and validation metrics, steps, time and size."""
    table = Table(title=f"{model} on {splits.source or splits.name}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    metric = result.task_metric
    direction = "higher" if result.higher_is_better else "lower"
    table.add_row("test " + metric, f"{result.test_metrics[metric]:.4f} ({direction} is better)")
    for k, v in result.test_metrics.items():
        if k not in (metric, "n"):
            table.add_row(f"test {k}", f"{v:.4f}" if isinstance(v, float) else str(v))
    table.add_row("test examples", str(result.test_metrics.get("n")))
    if result.val_metrics:
        table.add_row("validation " + metric, f"{result.val_metrics[metric]:.4f}")
    table.add_row(
        "steps / epochs", f"{result.steps} / {result.epochs:g} (stopped by {result.stopped_by})"
    )
    table.add_row("best step", str(result.best_step))
    table.add_row("time", f"{result.train_seconds:.1f}s on {result.device}")
    table.add_row("parameters", format_number(result.n_params))
    table.add_row("seed", str(result.seed))
    console.print(table)
