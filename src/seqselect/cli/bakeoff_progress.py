"""The bake-off's live progress on stderr: the set-up line, a bar over the trials and
one line per finished trial (stdout stays for results)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from seqselect.cli._app import err_console
from seqselect.cli.tuning import tune_line  # issue 16

if TYPE_CHECKING:
    from seqselect.bakeoff import Trial


def _setup_line(payload: dict[str, Any]) -> str:
    executor = payload["executor"]
    return (
        f"[bold]{payload['run']}[/]: {payload['dataset']} — "
        f"{len(payload['candidates'])} candidates ({', '.join(payload['candidates'])}) × "
        f"{payload['seeds']} seeds = {payload['trials']} trials; "
        f"{payload['todo']} to run, ~{payload['share_s']:.1f} s each "
        f"({executor['executor']}, {executor['slots']} at a time, "
        f"{executor['threads_per_trial']} thread(s) each); "
        f"set-up took {payload['setup_s']:.1f} s"
    )


#: Each task's ranking metric, in the order they are looked for among a trial's scores:
#: a forecast's trials also carry mse, so mase (its ranking metric) is looked for first.
_TRIAL_METRICS = ("mase", "accuracy", "mse")


def _trial_line(trial: Trial) -> str:
    """One finished trial: status, the run's ranking metric on validation and on test
    (a fold trial has only validation), and the error if any."""
    fold = trial.role == "fold"  # never sees the test split: what it carries is its fold's
    role = f" fold {trial.fold}" if fold else ""
    line = f"  {trial.model:<12} seed {trial.seed}{role}: {trial.status}"
    scores = {
        "validation": trial.val_metrics or (trial.metrics if fold else {}) or {},
        "test": {} if fold else trial.metrics or {},
    }
    name = next(
        (m for m in _TRIAL_METRICS if any(m in part for part in scores.values())), None
    )
    shown = [
        f"{where} {value:.4g}" for where, part in scores.items()
        if isinstance(value := part.get(name), (int, float))
    ]
    if shown:
        line += f", {name} " + ", ".join(shown)
    if trial.error:
        line += f" ({trial.error[:120]})"
    return line


class _Progress:
    """Rich progress over the trials, on stderr (stdout stays for results)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.progress: Progress | None = None
        self.task = None

    def __call__(self, kind: str, payload: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if kind == "setup":
            err_console.print(_setup_line(payload), highlight=False)
            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), console=err_console, transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task("trials", total=payload["todo"])
        elif kind == "trial_start" and self.progress is not None:
            description = f"training {payload['model']} seed {payload['seed']}"
            self.progress.update(self.task, description=description)
        elif kind == "trial_done" and self.progress is not None:
            line = _trial_line(payload["result"])
            self.progress.console.print(line, highlight=False, markup=False)
            self.progress.advance(self.task)
        elif kind == "skip":
            err_console.print(
                f"  {payload['model']:<12} seed {payload['seed']}: kept from the earlier run",
                highlight=False,
            )
        elif kind == "tune_done":  # issue 16
            err_console.print(tune_line(payload), highlight=False, markup=False)
        elif kind == "scaling":
            self.stop()
            err_console.print(
                f"benchmarking inference at lengths {payload['lengths']} (outside the budget)...",
                highlight=False,
            )
        elif kind == "done":
            self.stop()

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
