"""``seqselect recommend``: the guide's selection framework, applied to your answers or data."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from seqselect.advisor import Recommendation, characteristics_from_profile, recommend
from seqselect.advisor.characteristics import ALLOWED, DEFAULT_BATCH_SIZE, DEVICES
from seqselect.advisor.measured import is_results_store as _is_store  # issue 16
from seqselect.advisor.measured import measured_evidence
from seqselect.cli._app import command, console, print_json
from seqselect.cli.data import TEXT_HELP
from seqselect.cli.measured import evidence_table
from seqselect.data import load_dataset, profile_dataset
from seqselect.errors import SeqSelectError


def _choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    """A Typer choice built from the advisor's own allowed values (``time-series`` is
    member ``time_series``)."""
    return Enum(name, {v.replace("-", "_"): v for v in values}, type=str)


DataType = _choices("DataType", ALLOWED["data_type"])
Latency = _choices("Latency", ALLOWED["latency"])
Deployment = _choices("Deployment", ALLOWED["deployment"])
Device = _choices("Device", DEVICES)


def _positive_float(value: float | None) -> float | None:
    if value is not None and not value > 0:
        raise typer.BadParameter(f"must be a positive number of GB, got {value}")
    return value


def _profile_characteristics(
    source: str, target: str | None, text_options: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(characteristics, profile dict) from a data file or dataset name, via seqselect.data
    (``text_options``: ``text``, ``vocab_size``, ``pretrained`` for text data)."""
    options = {k: v for k, v in (text_options or {}).items() if v is not None}
    profile = profile_dataset(load_dataset(source, target=target, **options)).to_dict()
    return characteristics_from_profile(profile), profile


@command("recommend")
def recommend_command(
    length: int = typer.Option(None, "--length", min=1, help="Typical sequence length in steps "
                               "(tokens for text, samples for audio)."),
    data_type: DataType = typer.Option(None, "--data-type", help="Kind of data."),
    examples: int = typer.Option(None, "--examples", min=1, help="Training examples."),
    latency: Latency = typer.Option(None, "--latency", help="Latency requirement."),
    deployment: Deployment = typer.Option(None, "--deployment", help="Deployment target "
                                          "(mobile is read as edge)."),
    pretrained: bool = typer.Option(None, "--pretrained/--no-pretrained",
                                    help="Is a pre-trained model available for this data?"),
    speed_critical: bool = typer.Option(None, "--speed-critical/--no-speed-critical",
                                        help="Is training speed critical?"),
    multivariate: bool = typer.Option(None, "--multivariate/--univariate",
                                      help="Several channels per step (audio: a spectrogram)."),
    batch_size: int = typer.Option(DEFAULT_BATCH_SIZE, "--batch-size", min=1,
                                   help="Batch size for the memory estimate."),
    memory_gb: float = typer.Option(None, "--memory-gb", callback=_positive_float,
                                    help="Memory budget in GB; candidates estimated above it "
                                    "move to avoid."),
    device: Device = typer.Option(Device.cpu, "--device", help="Where training would run "
                                  "(cuda without --memory-gb: the GPU's memory is the budget)."),
    from_file: str = typer.Option(None, "--from", metavar="FILE", help="Data to profile: a "
                                  "file (CSV, Parquet, NPZ) or a dataset name such as "
                                  "ucr:GunPoint. Fills length (p95), data type, examples and "
                                  "multivariate; flags override it."),
    measured: Path = typer.Option(None, "--measured", metavar="BENCH_JSON|STORE", help="Results "
                                  "of `seqselect bench --json`: measured peak memory replaces "
                                  "the estimate; or a results store with `seqselect study` "
                                  "runs: how each model ranked on similar datasets."),
    target: str = typer.Option(None, "--target", help="With --from: the target column of a "
                               "CSV/Parquet file."),
    text: str = typer.Option(None, "--text", help="With --from: " + TEXT_HELP["text"]),
    vocab_size: int = typer.Option(None, "--vocab-size", min=3,
                                   help="With --from: " + TEXT_HELP["vocab_size"]),
    pretrained_dir: str = typer.Option(None, "--pretrained-dir", metavar="DIR",
                                       help="With --from: " + TEXT_HELP["pretrained"]),
    as_json: bool = typer.Option(False, "--json", help="Print the recommendation as JSON."),
) -> None:
    """Which sequence model for this data? Ranked models with reasons, what to avoid,
    the guide's pitfalls you walk into, and the checklist questions left open."""
    chars: dict[str, Any] = {}
    profile = None
    if from_file is not None:
        chars, profile = _profile_characteristics(
            from_file, target, {"text": text, "vocab_size": vocab_size,
                                "pretrained": pretrained_dir})
    if pretrained_dir is not None and pretrained is None:
        pretrained = True  # a checkpoint in hand is a pretrained model available
    flags = {
        "seq_len": length,
        "data_type": data_type.value if data_type else None,
        "n_examples": examples,
        "latency": latency.value if latency else None,
        "deployment": deployment.value if deployment else None,
        "pretrained": pretrained,
        "speed_critical": speed_critical,
        "multivariate": multivariate,
    }
    chars.update({k: v for k, v in flags.items() if v is not None})
    # issue 16: a results store gives study evidence; a bench JSON, measured memory
    evidence = measured_evidence(measured, chars) if measured and _is_store(measured) else None
    rows = _bench_rows(measured) if measured is not None and evidence is None else None
    rec = recommend(**chars, batch_size=batch_size, memory_gb=memory_gb, device=device.value,
                    measured=rows)
    if as_json:
        print_json({**rec.to_dict(), **({"measured": evidence.to_dict()} if evidence else {})})
        return
    _render(rec, profile, from_file)
    _pretrained_hint(rec, pretrained_dir)
    if evidence is not None:
        console.print(evidence_table(evidence))


def _pretrained_hint(rec: Recommendation, checkpoint: str | None) -> None:
    """Make a ``pretrained:`` row actionable: the flag that fine-tunes a local checkpoint
    in the bake-off (nothing is ever downloaded)."""
    names = [c.model for c in rec.ranked if c.model.startswith("pretrained:")]
    if not names:
        return
    if checkpoint:
        console.print(Text(f"{', '.join(names)}: `seqselect bakeoff DATA --pretrained "
                           f"{checkpoint}` fine-tunes that checkpoint as the 'pretrained' "
                           "candidate beside the zoo models."))
        return
    console.print(Text(f"{', '.join(names)}: to compare one in the bake-off, pass a local "
                       "checkpoint folder: `seqselect bakeoff DATA --pretrained DIR` (DIR "
                       "holds config.json, *.safetensors and tokenizer.json, e.g. from "
                       "save_pretrained); nothing is downloaded."))


def _bench_rows(path: Path) -> list[dict[str, Any]]:
    """Benchmark rows from a bench report JSON (``{"results": [...]}``) or a list of rows."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SeqSelectError(f"{path}: no such file (expected a `seqselect bench` JSON)") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise SeqSelectError(f"{path}: cannot read it as bench JSON ({exc})") from None
    rows = data.get("results") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise SeqSelectError(f"{path}: expected a bench report with a 'results' list of rows")
    return rows


def _render(rec: Recommendation, profile: dict[str, Any] | None, source: str | None) -> None:
    if profile is not None:
        length = profile.get("length") or {}
        console.print(Text(
            f"Profile of {source}: {profile.get('n_sequences')} sequences, length min "
            f"{length.get('min')} / median {length.get('median')} / p95 {length.get('p95')} / "
            f"max {length.get('max')} (the advisor uses p95; pass --length to change it), "
            f"{profile.get('n_channels')} channel(s), {profile.get('value_type')} values, "
            f"data type {profile.get('data_type')}, class balance "
            f"{profile.get('class_balance')}"
        ))
    known = {k: v for k, v in rec.characteristics.items() if v is not None}
    console.print(Text("Characteristics: " + ", ".join(f"{k}={v}" for k, v in known.items()),
                       style="dim"))

    if rec.ranked:
        table = Table(title="Recommended (best first)", show_lines=True,
                      caption=Text("[seqselect] marks this package's own additions to the "
                                   "guide; other reasons cite the guide's sections."))
        table.add_column("#", justify="right")
        table.add_column("model", style="bold")
        table.add_column("score", justify="right")
        table.add_column("reasons", overflow="fold")
        for i, cand in enumerate(rec.ranked, 1):
            table.add_row(str(i), Text(cand.model), str(cand.score),
                          Text("\n".join(cand.reasons)))
        console.print(table)
    if rec.avoid:
        table = Table(title="Avoid", show_lines=True)
        table.add_column("model", style="bold red")
        table.add_column("reasons", overflow="fold")
        for cand in rec.avoid:
            table.add_row(Text(cand.model), Text("\n".join(cand.reasons)))
        console.print(table)
    if rec.warnings:
        console.print("[bold yellow]Warnings[/]")
        for w in rec.warnings:
            console.print(Text(f"  • {w}"))
    if rec.unanswered:
        console.print("[bold]Checklist questions left unanswered[/]")
        for q in rec.unanswered:
            console.print(Text(f"  ☐ {q}"))
