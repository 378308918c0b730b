"""``seqselect`` command line: a thin layer that parses, calls the library, renders.

Each module below registers its commands on the shared Typer app.
"""

# Importing a module registers its commands: recommend (advisor); bakeoff, report,
# predict (bakeoff); bench, verify-claims (bench); datasets, profile, train (data);
# models, demo (models); study (study).
from seqselect.cli import advisor, bakeoff, bench, data, models, study  # noqa: F401
from seqselect.cli._app import _state, app
from seqselect.system import process_start_reading


def main() -> None:
    """Console-script entry point (a bake-off's budget counts from the process's start)."""
    _state["process_start"] = process_start_reading()
    app()


__all__ = ["app", "main"]
