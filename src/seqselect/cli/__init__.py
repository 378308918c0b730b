"""``seqselect`` command line: a thin layer that parses, calls the library, renders.

Each module below registers its commands on the shared Typer app.
"""

from seqselect.cli import advisor  # noqa: F401  (registers `recommend`)
from seqselect.cli import bakeoff  # noqa: F401  (registers `bakeoff`, `report`, `predict`)
from seqselect.cli import bench  # noqa: F401  (registers `bench`, `verify-claims`)
from seqselect.cli import data  # noqa: F401  (registers `datasets`, `profile`, `train`)
from seqselect.cli import models  # noqa: F401  (registers commands)
from seqselect.cli._app import app


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
