"""The bake-off's leaderboard as a Rich table and the verdict's headline: what
``seqselect bakeoff`` and ``seqselect report`` show people (the printing is theirs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich import box
from rich.table import Table

from seqselect.formatting import format_compact, format_number
from seqselect.report.columns import companion_metric, row_precision

if TYPE_CHECKING:
    from seqselect.bakeoff import BakeoffResult, LeaderboardRow


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


#: The table's columns before and after the scores; ``lat.`` and ``peak`` are short so
#: that a forecasting run's extra column still leaves the note room in 80 columns.
_HEAD = (("#", "right"), ("model", "left"), ("validation", "right"), ("test", "right"))
_TAIL = (
    ("train\ns", "right"), ("lat.\nms", "right"), ("peak\nMB", "right"),
    ("params", "right"), ("note", "left"),
)
#: How a companion metric is titled (the metrics' own names are lower case).
_LABELS = {"smape": "sMAPE", "mase": "MASE"}


def _mean_std(value: Any, std: Any) -> str:
    """"0.981±0.012" (or "-" when there is no score): three decimals for scores of
    everyday size, so that a column aligns; three significant digits otherwise."""
    if value is None:
        return "-"
    std = std or 0.0
    if value == 0 or 0.01 <= abs(value) < 10:
        return f"{value:.3f}±{std:.3f}"
    return f"{_number(value, 3)}±{_number(std, 2)}"


def _short(value: Any) -> str:
    """A cost in at most 5 characters (1,234 / 13.8 / 1.35 / 0.17 / <0.01): the narrow
    columns keep the table in 80; the JSON and the HTML report keep every digit."""
    if not isinstance(value, (int, float)) or value != value:  # None or NaN
        return "-"
    if value == 0:
        return "0"
    if abs(value) < 0.01:
        return "<0.01"
    return format_compact(value) if abs(value) >= 10 else f"{value:.2f}"


def _precision_note(precision: str | None) -> str:
    """"bf16" for a network trained under bfloat16 autocast, "bf16/fp32" when its seeds
    differed; float32 (the usual case) and baselines say nothing."""
    return {"bf16": "bf16", "mixed": "bf16/fp32"}.get(precision or "", "")


def _note(
    row: LeaderboardRow, winner: str | None, excluded: dict[str, str],
    precision: str | None = None,
) -> str:
    """The note column: baseline, winner, excluded (or the row's status), bf16, failed and
    diverged counts."""
    notes = ["baseline"] if row.kind == "baseline" else []
    if row.model == winner:
        notes.append("winner")
    elif row.model in excluded:
        notes.append("excluded" if row.val_value is not None else row.status)
    notes.append(_precision_note(precision))
    if row.n_failed and row.val_value is not None:
        notes.append(f"{row.n_failed} failed")
    if row.n_diverged:
        notes.append(f"{row.n_diverged} diverged")
    return ", ".join(n for n in notes if n)


def _caption(beside: str | None, any_bf16: bool) -> str:
    """What the columns mean, in the order they stand."""
    extra = f"test {_LABELS.get(beside, beside)}: mean over seeds; " if beside else ""
    bf16 = "; bf16: trained in bfloat16 (other networks in float32)" if any_bf16 else ""
    return (
        "validation: mean ± std over folds x seeds (selects); test: mean ± std over seeds "
        f"(reports); {extra}lat.: one sequence; peak: inference memory{bf16}"
    )


def _row_style(row: LeaderboardRow, winner: str | None, excluded: dict[str, str]) -> str | None:
    """Winner in bold green, rows that cannot win dimmed, baselines in italics."""
    if row.model == winner:
        style = "bold green"
    else:
        style = "dim" if row.val_value is None or row.model in excluded else None
    if row.kind == "baseline":
        style = f"{style or ''} italic".strip()
    return style


def leaderboard_table(result: BakeoffResult) -> Table:
    """The leaderboard as a Rich table, ranked by validation; per row also its peak
    memory and (networks) whether it trained in bf16, and for forecasting the companion
    metric (sMAPE beside MASE); fits 80 columns."""
    metric = result.metric
    winner, excluded = result.winner.model, result.winner.excluded
    beside = companion_metric(metric, result.leaderboard)
    precisions = [row_precision(row, result.trials) for row in result.leaderboard]
    table = Table(
        title=(
            f"{result.dataset.get('name', '')}: {metric}, ranked by validation "
            f"(run {result.run})"
        ),
        caption=_caption(beside, any(p in ("bf16", "mixed") for p in precisions)),
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=0,  # the box's blank divider is the one space between columns
    )
    middle = ((f"test\n{_LABELS.get(beside, beside)}", "right"),) if beside else ()
    for col, justify in (*_HEAD, *middle, *_TAIL):
        table.add_column(col, justify=justify, no_wrap=col != "note")
    for row, precision in zip(result.leaderboard, precisions, strict=True):
        companion = (_short(row.metrics.get(beside)),) if beside else ()
        table.add_row(
            _number(row.rank), row.model, _mean_std(row.val_value, row.val_std),
            _mean_std(row.value, row.std), *companion, _short(row.train_s),
            _short(row.latency_ms), _short(row.peak_mb), _abbreviated(row.params),
            _note(row, winner, excluded, precision), style=_row_style(row, winner, excluded),
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
