"""Progress of a run: a Rich bar on stderr, a per-cell callback, or nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from seqselect.bench.records import BenchCell

ProgressArg = bool | Callable[[BenchCell], None]


class RunProgress:
    """A Rich progress bar on stderr (True), a per-cell callback (callable), or nothing."""

    def __init__(self, progress: ProgressArg, total: int):
        self.callback = progress if callable(progress) else None
        self.bar = None
        if progress is True:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("{task.description}"), BarColumn(),
                TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                console=Console(stderr=True), transient=True,
            )
            self.task = self.bar.add_task("bench", total=total)

    def __enter__(self) -> RunProgress:
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def describe(self, text: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, description=text)

    def advance(self, cell: BenchCell) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)
        if self.callback is not None:
            self.callback(cell)


__all__ = ["ProgressArg", "RunProgress"]
