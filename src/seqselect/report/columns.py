"""What the leaderboards (the CLI's table and the HTML page) show besides a row's scores.

Both leaderboards read these, so the terminal and the page cannot disagree about a
model's precision or about which metric sits beside the ranking one. No plotting here:
the CLI imports this module without loading matplotlib.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from seqselect.bakeoff.records import LeaderboardRow, Trial

__all__ = ["COMPANION_METRICS", "companion_metric", "row_precision"]

#: The ranking metric -> a test metric shown beside it. MASE ranks forecasts (scale-free,
#: comparable to the seasonal naive), but practitioners read sMAPE, so both are shown;
#: the rows' ``metrics`` hold its mean over seeds.
COMPANION_METRICS: dict[str, str] = {"mase": "smape"}

#: How the trainer's words for a precision read in a leaderboard (older trials wrote
#: "float32", the trainer's default, when the trainer did not say).
_PRECISION_WORDS = {"bf16": "bf16", "bfloat16": "bf16", "fp32": "fp32", "float32": "fp32"}


def companion_metric(metric: str, rows: Iterable[LeaderboardRow]) -> str | None:
    """The metric to show beside ``metric``, when at least one row measured it."""
    beside = COMPANION_METRICS.get(metric)
    if beside is None or not any(beside in (row.metrics or {}) for row in rows):
        return None
    return beside


def row_precision(row: LeaderboardRow, trials: Iterable[Trial]) -> str | None:
    """``"bf16"``, ``"fp32"``, ``"mixed"`` (seeds differed) or None (a baseline, or no
    trial said) for one leaderboard row.

    The row's own ``precision`` wins when the records carry it; otherwise (runs stored
    before the field existed) it is read from the model's trials, which have always
    recorded what the trainer chose in ``extra["precision"]``.
    """
    given = getattr(row, "precision", None)
    if given is not None or row.kind == "baseline":
        return given
    return _precision_of(t for t in trials if t.model == row.model)


def _precision_of(trials: Iterable[Trial]) -> str | None:
    """The one precision the usable trials trained in, "mixed" when they differ (the
    rule the leaderboard's own field follows)."""
    seen: set[str] = set()
    for trial in trials:
        word = _word((trial.extra or {}).get("precision"))
        if word is not None and trial.status == "ok":
            seen.add(word)
    if not seen:
        return None
    return seen.pop() if len(seen) == 1 else "mixed"


def _word(value: Any) -> str | None:
    if value is None:
        return None
    return _PRECISION_WORDS.get(str(value).lower(), str(value))
