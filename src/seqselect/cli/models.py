"""``seqselect models`` (the zoo) and ``seqselect demo`` (build and run every model)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import typer
from rich import box
from rich.table import Table

from seqselect.cli._app import command, console, print_json
from seqselect.formatting import format_number

if TYPE_CHECKING:  # the zoo imports torch: load it only when a command runs
    from seqselect.models import ModelCard


@command("models")
def models_command(
    family: str = typer.Option(None, help="Only this family (rnn, cnn, tcn, transformer, ...)."),
    as_json: bool = typer.Option(False, "--json", help="Print the model cards as JSON."),
) -> None:
    """List the model zoo: family, year, complexity in sequence length L, causal, streaming."""
    from seqselect.models import list_models, model_card

    cards = [model_card(n) for n in list_models(family)]
    if as_json:
        print_json([c.to_dict() for c in cards])
        return
    console.print(zoo_table(cards))


def zoo_table(cards: list[ModelCard]) -> Table:
    """One line per model in an 80-column terminal: compact box, short headers.

    At 80 columns every cell fits whole; on a narrower terminal the name and family
    columns are cut with an ellipsis rather than wrapped, so a model stays on one line.
    """
    table = Table(
        title="seqselect model zoo",
        caption="Complexity per layer in length L. causal: 'stream' runs causally and has "
        "step(); 'yes' runs causally; '-' sees the whole sequence.",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )
    for col in ("name", "family"):
        table.add_column(col, no_wrap=True, overflow="ellipsis")
    for col in ("year", "time", "memory"):
        table.add_column(col, no_wrap=True)
    table.add_column("causal", no_wrap=True, justify="center")
    table.add_column("max L", no_wrap=True, justify="right")
    for card in cards:
        table.add_row(
            card.name,
            card.family,
            str(card.year),
            card.time_complexity,
            card.memory_complexity,
            _causality(card),
            str(card.max_len or "-"),  # no separator: a length limit reads as typed
        )
    return table


def _causality(card: ModelCard) -> str:
    """One word for two card fields, so the table fits 80 columns."""
    if card.causal and card.streaming:
        return "stream"
    return "yes" if card.causal else "-"


@command("demo")
def demo_command(
    params: int = typer.Option(50_000, help="Parameter budget per model (width is matched)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Build every registered model at the same parameter budget and run one forward pass
    on a real bundled input (GunPoint, from the UCR archive shipped with aeon)."""
    import numpy as np
    import torch
    from aeon.datasets import load_gunpoint

    from seqselect.models import count_parameters, create_model, list_models

    X, y = load_gunpoint(split="test")  # X: (N, C, L) numpy
    x = torch.from_numpy(np.ascontiguousarray(X[:16].transpose(0, 2, 1))).float()  # (B, L, C)
    n_classes = len(set(y))
    rows = []
    for name in list_models():
        model = create_model(name, d_input=x.shape[-1], d_output=n_classes, params=params).eval()
        start = time.perf_counter()
        with torch.inference_mode():
            out = model(x)
        rows.append(
            {
                "model": name,
                "params": count_parameters(model),
                "d_model": model.config.d_model,
                "output_shape": list(out.shape),
                "finite": bool(torch.isfinite(out).all()),
                "forward_ms": round(1000 * (time.perf_counter() - start), 2),
            }
        )
    if as_json:
        print_json({"input_shape": list(x.shape), "results": rows})
        return
    table = Table(
        title=f"One forward pass on GunPoint test[:16], input {tuple(x.shape)}",
        caption="A cold single pass: use `seqselect bench` for real timings.",
    )
    for col in ("model", "params", "d_model", "output", "finite", "cold forward ms"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["model"], format_number(r["params"]), str(r["d_model"]),
            str(tuple(r["output_shape"])),
            "yes" if r["finite"] else "[red]NO[/]", f"{r['forward_ms']:.1f}",
        )
    console.print(table)
