"""The training recipe: what the bake-off passes to :func:`~seqselect.train.train` for a
candidate on a dataset, and the width it builds the candidate at when the user gives no
``--params``. One rule for every dataset (it may depend on the data's size, length and
channels, never on its name) so that results generalise.

Today's recipe is the trainer's defaults; the evidence for changing it lives in
``benchmarks/`` (see the closing notes of the verdict issue).
"""

from __future__ import annotations

from typing import Any

from seqselect.data.types import DatasetSplits

__all__ = ["default_params", "train_options_for"]


def train_options_for(model: str, splits: DatasetSplits) -> dict[str, Any]:
    """Keyword arguments for ``train()`` for ``model`` on ``splits`` (the user's
    ``train_options`` are laid over them)."""
    del model, splits  # the same for every model and dataset, for now
    return {}


def default_params(splits: DatasetSplits) -> int | None:
    """The parameter count to build candidates at when the user gives none (None: each
    model's own default width)."""
    del splits
    return None
