"""Errors a user can fix. The CLI turns these into one clear message and exit code 2."""

from __future__ import annotations


class SeqSelectError(ValueError):
    """Bad input or bad usage: the message names the file, column, row or value, and says
    what is expected. Subclasses ``ValueError`` so library callers can catch either."""


class DataError(SeqSelectError):
    """A data file or dataset name that cannot be used as given."""
