"""The ``--tune`` parts of ``seqselect bakeoff``'s output: one progress line per finished
configuration, and each model's chosen configuration under the leaderboard."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table

from seqselect.formatting import format_number

__all__ = ["PRUNER_HELP", "TUNE_HELP", "chosen_table", "tune_line"]

TUNE_HELP = (
    "Search each candidate's hyper-parameters (Optuna TPE, pruned on validation) for N "
    "configurations, or 'auto': as many as fit; inside the same equal budget."
)
PRUNER_HELP = "--tune's pruner: median or halving (successive halving)."


def _value(value: Any) -> str:
    if isinstance(value, float):
        return format_number(value, 3)
    return str(value)


def params_text(params: dict[str, Any]) -> str:
    """``lr=0.003 weight_decay=0.01 n_layers=2`` (short names, 3 significant digits)."""
    short = {"weight_decay": "wd", "kernel_size": "k", "n_layers": "layers"}
    return " ".join(f"{short.get(k, k)}={_value(v)}" for k, v in params.items())


def tune_line(payload: dict[str, Any]) -> str:
    row = payload["row"]
    score = "-" if row.value is None else format_number(row.value, 4)
    return (
        f"  tune {row.model:<12} #{row.number:<3} {row.state.lower():<8} val {score:<7} "
        f"{params_text(row.params)}"
    )


def chosen_table(tuning: dict[str, Any]) -> Table | None:
    """Each model's chosen configuration (None without a search)."""
    if not tuning:
        return None
    table = Table(title="chosen configurations (--tune, on validation)", box=box.SIMPLE)
    for column in ("model", "#", "val", "tried", "pruned", "configuration"):
        table.add_column(column, overflow="fold")
    for model, search in tuning.items():
        chosen = search["chosen"]
        value = chosen.get("value")
        table.add_row(
            model,
            "-" if chosen.get("number") is None else str(chosen["number"]),
            "-" if value is None else format_number(value, 4),
            str(chosen.get("n_configs", 0)),
            str(chosen.get("n_pruned", 0)),
            params_text(chosen.get("params") or {}) or "defaults (none finished)",
        )
    return table
