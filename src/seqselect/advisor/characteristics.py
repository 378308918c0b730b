"""The advisor's inputs: the guide's checklist answers, checked and normalised.

Every categorical answer has its allowed values here, once: :func:`recommend` checks
against them, the profile reader fills only those, and the CLI builds its choices from them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from seqselect.errors import SeqSelectError

__all__ = ["ALLOWED", "CHECKLIST_FIELDS", "DEVICES", "validate_characteristics"]

#: Allowed values of the categorical characteristics (the guide's checklist answers).
ALLOWED: dict[str, tuple[str, ...]] = {
    "data_type": ("text", "time-series", "audio", "other"),
    "latency": ("realtime", "batch", "offline"),
    "deployment": ("cloud", "edge", "mobile"),
}
#: Where training would run (optionally with an index, ``cuda:1``).
DEVICES: tuple[str, ...] = ("cpu", "cuda", "mps")
#: The characteristics the guide's checklist asks about, in its order.
CHECKLIST_FIELDS: tuple[str, ...] = (
    "seq_len", "data_type", "n_examples", "latency", "deployment", "pretrained",
    "speed_critical", "multivariate",
)
#: Default batch size of the memory estimate.
DEFAULT_BATCH_SIZE = 32


def _whole_number(name: str, value: Any, minimum: int = 1) -> int | None:
    """``value`` as an int >= ``minimum`` (None passes through); anything else raises."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise SeqSelectError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    if value < minimum:
        raise SeqSelectError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def _yes_no(name: str, value: Any) -> bool | None:
    """``value`` as True/False/None (NumPy booleans too); anything else raises."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, np.bool_):  # NumPy 2 names its type "bool", not "bool_"
        return bool(value)
    raise SeqSelectError(f"{name} must be True, False or None, got {value!r}")


def _one_of(name: str, value: Any) -> str | None:
    """``value`` if it is one of ``ALLOWED[name]`` (None passes through); else raises."""
    if value is None:
        return None
    allowed = ALLOWED[name]
    if value not in allowed:
        raise SeqSelectError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _memory_budget(memory_gb: Any) -> float | None:
    if memory_gb is None:
        return None
    if isinstance(memory_gb, bool) or not isinstance(memory_gb, int | float) or not (
        math.isfinite(memory_gb) and memory_gb > 0
    ):
        raise SeqSelectError(f"memory_gb must be a positive number, got {memory_gb!r}")
    return float(memory_gb)


def _device(device: Any) -> str:
    if not isinstance(device, str) or device.split(":")[0] not in DEVICES:
        raise SeqSelectError(
            f"device must be one of {', '.join(DEVICES)} (optionally with an index, "
            f"e.g. cuda:0); got {device!r}"
        )
    return device


def _audio_form(chars: dict[str, Any]) -> str | None:
    """The guide's audio scenario has three forms; the checklist has no question for it, so
    it is read from the other answers: pretrained speech models when available, mel bins
    as channels for spectrograms, one channel for a raw waveform."""
    if chars["data_type"] != "audio":
        return None
    if chars["pretrained"]:
        return "speech"
    return "spectrogram" if chars["multivariate"] else "waveform"


def validate_characteristics(**kw: Any) -> dict[str, Any]:
    """Check and normalise ``recommend``'s inputs; a bad value raises ``ValueError``
    (:class:`~seqselect.errors.SeqSelectError`) naming the allowed values."""
    chars = {
        "seq_len": _whole_number("seq_len", kw.get("seq_len")),
        "data_type": _one_of("data_type", kw.get("data_type")),
        "n_examples": _whole_number("n_examples", kw.get("n_examples")),
        "latency": _one_of("latency", kw.get("latency")),
        "deployment": _one_of("deployment", kw.get("deployment")),
        "pretrained": _yes_no("pretrained", kw.get("pretrained")),
        "speed_critical": _yes_no("speed_critical", kw.get("speed_critical")),
        "multivariate": _yes_no("multivariate", kw.get("multivariate")),
        "batch_size": _whole_number("batch_size", kw.get("batch_size", DEFAULT_BATCH_SIZE))
        or DEFAULT_BATCH_SIZE,
        "d_model": _whole_number("d_model", kw.get("d_model")),
        "vocab_size": _whole_number("vocab_size", kw.get("vocab_size")),
    }
    chars["memory_gb"] = _memory_budget(kw.get("memory_gb"))
    chars["device"] = _device(kw.get("device", "cpu"))
    chars["audio_form"] = _audio_form(chars)
    return chars
