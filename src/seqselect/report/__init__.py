"""Reports of bake-offs: a self-contained HTML page with its plots.

The page's modules load matplotlib, so they are imported on first use (PEP 562): the
CLI's leaderboard reads :mod:`seqselect.report.columns` without paying for it.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["render_html", "write_html"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("seqselect.report.html"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
