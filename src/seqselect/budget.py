"""How long to train or to run a bake-off: one budget type and one parser.

A budget is any of epochs, steps and wall seconds (whichever ends first). Text forms:
``"90s"``, ``"10m"``, ``"1.5h"``, ``"1h30m"`` (units add up), ``"5 epochs"``,
``"200 steps"``, or several joined by ``,`` or ``+`` (``"5 epochs, 10m"``). A bare number
is seconds.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from seqselect.errors import SeqSelectError

_SECONDS_PER_UNIT = {
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
}
_EPOCH_UNITS = ("epoch", "epochs", "ep", "e")
_STEP_UNITS = ("step", "steps", "it", "iters", "iterations")
_FORMS = "use e.g. 90s, 10m, 1h, 1h30m, '5 epochs', '200 steps' or a number of seconds"
# One quantity: a number and an optional unit ("1h", "30m", "5 epochs", "45").
_QUANTITY = re.compile(r"(\d+(?:\.\d+)?(?:e\d+)?)\s*([a-z]*)")


@dataclass(frozen=True)
class Budget:
    """How long to train: whichever of ``epochs``, ``steps`` and ``seconds`` ends first."""

    epochs: int | None = None
    steps: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.epochs is None and self.steps is None and self.seconds is None:
            raise SeqSelectError("a budget needs at least one of epochs, steps, seconds")
        for name in ("epochs", "steps", "seconds"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise SeqSelectError(f"budget {name} must be positive, got {value}")

    @classmethod
    def parse(cls, text: str | float | int | Budget) -> Budget:
        """Read a budget from its text form (see the module docstring).

        Raises:
            SeqSelectError: text that is none of the forms, with the accepted ones.
        """
        if isinstance(text, Budget):
            return text
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            return cls(seconds=float(text))
        values: dict[str, Any] = {}
        parts = [p.strip() for p in re.split(r"[,+]", str(text).lower()) if p.strip()]
        if not parts:
            raise SeqSelectError(f"empty budget {text!r}; {_FORMS}")
        for part in parts:
            for number, unit in _quantities(part, text):
                _add(values, number, unit, text)
        return cls(**values)

    def __str__(self) -> str:
        parts = []
        if self.epochs is not None:
            parts.append(f"{self.epochs} epochs")
        if self.steps is not None:
            parts.append(f"{self.steps} steps")
        if self.seconds is not None:
            parts.append(f"{self.seconds:g}s")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Budget:
        return cls(**{k: data.get(k) for k in ("epochs", "steps", "seconds")})


def parse_seconds(text: str | float | int) -> float:
    """A wall-time budget in seconds (``"3m"`` -> 180.0); epochs or steps are refused.

    Raises:
        SeqSelectError: not a duration, or not positive.
    """
    budget = Budget.parse(text)
    if budget.seconds is None or budget.epochs is not None or budget.steps is not None:
        raise SeqSelectError(f"--budget {text!r} is not a duration: {_FORMS}")
    return budget.seconds


def _quantities(part: str, text: Any) -> list[tuple[float, str]]:
    """``"1h30m"`` -> ``[(1, "h"), (30, "m")]``; a unitless number must stand alone."""
    found, pos = [], 0
    compact = part.replace(" ", "") if not re.search(r"[a-z]\s+\d", part) else part
    while pos < len(compact):
        match = _QUANTITY.match(compact, pos)
        if match is None or match.end() == pos:
            raise SeqSelectError(f"cannot read budget {text!r}; {_FORMS}")
        found.append((float(match.group(1)), match.group(2)))
        pos = match.end()
        while pos < len(compact) and compact[pos] == " ":
            pos += 1
    if len(found) > 1 and any(unit == "" for _, unit in found):
        raise SeqSelectError(f"cannot read budget {text!r}; {_FORMS}")
    return found


def _add(values: dict[str, Any], number: float, unit: str, text: Any) -> None:
    unit = unit or "s"
    if unit in _EPOCH_UNITS:
        values["epochs"] = int(number)
    elif unit in _STEP_UNITS:
        values["steps"] = int(number)
    elif unit in _SECONDS_PER_UNIT:
        values["seconds"] = values.get("seconds", 0.0) + number * _SECONDS_PER_UNIT[unit]
    else:
        raise SeqSelectError(
            f"unknown budget unit {unit!r} in {text!r}; use s, m, h, epochs or steps"
        )
