"""One number formatter for the CLI, the HTML report and verify-claims.

Tables in a terminal, a report and a Markdown file show the same value the same way:
integers with thousands separators, floats with ``digits`` significant digits, booleans as
yes/no, a missing value as ``missing``.
"""

from __future__ import annotations

import math
from typing import Any


def format_number(value: Any, digits: int = 4, missing: str = "-") -> str:
    """``12345 -> "12,345"``, ``0.97777 -> "0.9778"``, ``None -> missing``, ``True -> "yes"``.

    Floats of 100,000 or more are written whole with separators (``123,457``) so that a
    column never switches to exponent notation for large values; non-finite floats read
    ``nan``/``inf``.
    """
    if value is None:
        return missing
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return missing
        if not math.isfinite(value):
            return str(value)
        return f"{value:.{digits}g}" if abs(value) < 1e5 else f"{value:,.0f}"
    return str(value)


def format_compact(value: float | None, missing: str = "-") -> str:
    """A number in at most ~5 characters for narrow columns: 13,495, 138.5, 4.79, 0.399."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
