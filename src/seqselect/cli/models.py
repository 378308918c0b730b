"""``seqselect models`` (the zoo) and ``seqselect demo`` (build and run every model)."""

from __future__ import annotations

import time

import typer
from rich.table import Table

from seqselect.cli._app import command, console, print_json


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
    table = Table(title="seqselect model zoo", caption="Complexities per layer in length L.")
    table.add_column("name", no_wrap=True)
    table.add_column("family", no_wrap=True)
    for col in ("year", "time", "memory", "causal", "streaming", "max len"):
        table.add_column(col, overflow="fold")
    for c in cards:
        table.add_row(
            c.name,
            c.family,
            str(c.year),
            c.time_complexity,
            c.memory_complexity,
            "yes" if c.causal else "no",
            "yes" if c.streaming else "no",
            str(c.max_len or "-"),
        )
    console.print(table)


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
            r["model"], f"{r['params']:,}", str(r["d_model"]), str(tuple(r["output_shape"])),
            "yes" if r["finite"] else "[red]NO[/]", f"{r['forward_ms']:.1f}",
        )
    console.print(table)
