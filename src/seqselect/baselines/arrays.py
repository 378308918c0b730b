"""From :class:`SequenceData` tensors to the numpy panels aeon and scikit-learn take.

Symbols: N sequences, L length, C channels, O outputs.
"""

from __future__ import annotations

import numpy as np

from seqselect.data.types import SequenceData
from seqselect.errors import SeqSelectError

#: MiniRocket's kernels have length 9: shorter series are padded up to it.
MIN_ROCKET_LENGTH = 9


def check_real_input(data: SequenceData, baseline: str) -> None:
    """Refuse token ids ``(N, L)`` and per-step targets, which no baseline here takes."""
    if data.x.dim() != 3 or not data.x.dtype.is_floating_point:
        raise SeqSelectError(
            f"baseline {baseline} takes real-valued series x: (N, L, C) float; got "
            f"{tuple(data.x.shape)} {data.x.dtype} (token inputs have no baseline yet)"
        )
    if data.is_per_step:
        raise SeqSelectError(f"baseline {baseline} predicts one target per sequence, not per step")


def last_value_panel(data: SequenceData, length: int | None = None) -> np.ndarray:
    """``x`` as a float64 panel ``(N, C, length)`` (aeon's layout), padding filled.

    Each series' padded steps repeat its last real value, so a short series looks like one
    that stopped changing rather than one that dropped to zero. ``length`` (default: the
    data's L) pads longer or truncates the tail, so predictions use the training length.
    """
    x = data.x.detach().cpu().numpy().astype(np.float64)  # (N, L, C)
    mask = data.mask.detach().cpu().numpy()
    n, steps, _ = x.shape
    lengths = mask.sum(axis=1)
    if n and lengths.min() < 1:
        raise SeqSelectError(f"sequence {int(np.argmin(lengths))} has no real steps")
    target = max(steps if length is None else length, MIN_ROCKET_LENGTH)
    if target > steps:
        x = np.concatenate([x, np.zeros((n, target - steps, x.shape[2]))], axis=1)
        mask = np.concatenate([mask, np.zeros((n, target - steps), dtype=bool)], axis=1)
    x, mask = x[:, :target], mask[:, :target]
    kept = np.minimum(lengths, target)  # real steps left after truncation
    last = x[np.arange(n), kept - 1]  # (N, C): each series' last real step
    x = np.where(mask[:, :, None], x, last[:, None, :])
    return np.ascontiguousarray(x.transpose(0, 2, 1))  # (N, L, C) -> (N, C, L)


def resampled_panel(data: SequenceData, length: int | None = None) -> np.ndarray:
    """``x`` as a float64 panel ``(N, C, length)``, each series' real steps stretched
    (linear interpolation) to ``length`` (default: the data's L, at least 9).

    Keeps a whole gesture whatever its duration; series already ``length`` long are
    copied unchanged.
    """
    x = data.x.detach().cpu().numpy().astype(np.float64)  # (N, L, C)
    lengths = data.mask.detach().cpu().numpy().sum(axis=1)
    n, steps, channels = x.shape
    if n and lengths.min() < 1:
        raise SeqSelectError(f"sequence {int(np.argmin(lengths))} has no real steps")
    target = max(steps if length is None else length, MIN_ROCKET_LENGTH)
    panel = np.empty((n, channels, target))
    for i, real in enumerate(lengths.tolist()):
        if real == target:
            panel[i] = x[i, :target].T
            continue
        where = np.linspace(0, real - 1, target)  # (target,) positions on the real steps
        for c in range(channels):
            panel[i, c] = np.interp(where, np.arange(real), x[i, :real, c])
    return panel


#: The card's ``variable_length`` text of every ROCKET-family baseline.
ROCKET_PADDING = (
    "each series' real steps are resampled to the training length (unequal_length="
    "'resample', the default) or padded with its last value and truncated ('last')"
)

#: How the ROCKET baselines make unequal lengths equal: option ``unequal_length``.
PANELS = {"resample": resampled_panel, "last": last_value_panel}


def panel_for(how: str):
    """The panel function for ``unequal_length=how``; unknown values raise."""
    if how not in PANELS:
        raise SeqSelectError(f"unequal_length must be one of {', '.join(PANELS)}, got {how!r}")
    return PANELS[how]


def class_targets(data: SequenceData) -> np.ndarray:
    """``y`` as ``(N,)`` int64 class ids."""
    return data.y.detach().cpu().numpy().astype(np.int64).reshape(len(data))


def value_targets(data: SequenceData) -> np.ndarray:
    """``y`` as ``(N, O)`` float64."""
    return data.y.detach().cpu().numpy().astype(np.float64).reshape(len(data), -1)
