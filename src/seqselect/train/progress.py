"""The progress bar of a training run (Rich, on stderr, gone when the run ends)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["TrainingProgress", "training_progress"]


class TrainingProgress:
    """One bar over a run: steps when the budget counts them, else seconds."""

    def __init__(self, bar: Any, description: str, total: float) -> None:
        self._bar = bar
        self._total = total
        self._task_id = bar.add_task(description, total=total, status="")

    def update(self, *, done: float, loss: float) -> None:
        """Show ``done`` steps or seconds (capped at the total) and the last ``loss``."""
        self._bar.update(self._task_id, completed=min(done, self._total), status=f"loss {loss:.4f}")


@contextmanager
def training_progress(
    enabled: bool, description: str, total: float
) -> Iterator[TrainingProgress | None]:
    """Yields a :class:`TrainingProgress` shown on stderr, or None when not ``enabled``."""
    if not enabled:
        yield None
        return
    # Rich is imported only when a bar is shown: trials and tests run without one.
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        yield TrainingProgress(bar, description, total)
