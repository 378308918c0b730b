"""The Typer application and what every command shares: consoles, JSON output, errors.

Exit codes: 0 success, 2 bad usage or bad input (one message, no traceback unless
``--debug``), 1 internal failure.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

from seqselect.errors import SeqSelectError

app = typer.Typer(
    name="seqselect",
    help="Choose the right neural architecture for sequential data - and prove it with "
    "measurements on your own hardware and data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)
# "process_start": the process's start as a perf_counter reading, set by the console
# script's main() (a bake-off's budget then counts the start-up); None where the app is
# called in an existing process (tests, notebooks), whose age is not the command's.
_state: dict[str, Any] = {"debug": False, "process_start": None}


def process_start() -> float | None:
    """When the running ``seqselect`` process started (None: not run as a command)."""
    return _state["process_start"]


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details."),
) -> None:
    _state["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one error line to stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def command(*args: Any, **kwargs: Any) -> Callable:
    """``@app.command`` plus the error policy: user errors exit 2, bugs exit 1."""

    def decorator(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*a: Any, **kw: Any) -> Any:
            try:
                return fn(*a, **kw)
            except (typer.Exit, typer.Abort, SystemExit):
                raise
            except (SeqSelectError, FileNotFoundError) as exc:
                if _state["debug"]:
                    raise
                raise fail(str(exc)) from None
            except KeyboardInterrupt:
                raise fail("interrupted", code=130) from None
            except Exception as exc:  # the CLI boundary: any bug becomes exit 1, one line
                if _state["debug"]:
                    raise
                raise fail(
                    f"internal error: {type(exc).__name__}: {exc} (run with --debug for the "
                    "traceback, and please report it)",
                    code=1,
                ) from None

        return app.command(*args, **kwargs)(wrapper)

    return decorator


def print_json(payload: Any) -> None:
    """Machine-readable output on stdout (nothing else is printed there with --json)."""
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
