"""The baseline registry: ``@register_baseline`` entries, their cards, and construction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from seqselect.data.types import SequenceData
from seqselect.errors import SeqSelectError
from seqselect.vocabulary import DATA_TASKS


class Baseline(Protocol):
    """What every baseline does: learn from a training split, then predict.

    ``predict`` returns class ids ``(N,)`` int64 for classification and values ``(N, O)``
    float64 for regression and forecasting, in the units the dataset gives its targets.
    """

    def fit(self, train: SequenceData) -> Baseline: ...

    def predict(self, data: SequenceData) -> np.ndarray: ...


@dataclass(frozen=True)
class BaselineCard:
    """What a baseline is, for the registry, the leaderboard and the report.

    ``inputs`` names the inputs it takes ("real" = ``(N, L, C)`` float series, "tokens",
    "audio" = waveforms ``(N, L, C)`` of an audio dataset, whose sample rate it is given),
    ``options`` the keyword arguments :func:`create_baseline` accepts, ``variable_length``
    how it treats padded (masked) sequences, ``requires`` the Python packages it imports,
    ``slow_on`` the data types on which the bake-off's ``auto`` leaves it out (too slow
    there; it still runs when named). ``floor`` marks the floor every model must clear
    (the majority class, the training mean, the naive forecast): it reads at most a few
    values per sequence and costs nothing, so the bake-off fits it whatever is left of the
    baselines' share of the budget (:data:`seqselect.bakeoff.run.BASELINE_SHARE`).
    """

    name: str
    task: str  # a dataset task: classify | regress | forecast
    summary: str
    reference: str
    inputs: tuple[str, ...] = ("real",)
    multivariate: bool = True
    variable_length: str = "uses the real steps only"
    options: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    slow_on: tuple[str, ...] = ()
    floor: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BaselineCard:
        fields = dict(data)
        for key in ("inputs", "options", "requires", "slow_on"):
            fields[key] = tuple(fields.get(key, ()))
        return cls(**fields)


@dataclass(frozen=True)
class _Entry:
    card: BaselineCard
    build: Callable[..., Baseline]


_REGISTRY: dict[str, _Entry] = {}


Builder = Callable[..., Baseline]


def register_baseline(card: BaselineCard) -> Callable[[Builder], Builder]:
    """Register ``build(seed, **options)`` under ``card.name``; a duplicate name raises."""
    if card.task not in DATA_TASKS:
        raise ValueError(f"baseline {card.name}: unknown task {card.task!r}")

    def decorate(build: Builder) -> Builder:
        if card.name in _REGISTRY:
            raise ValueError(f"baseline {card.name!r} is already registered")
        _REGISTRY[card.name] = _Entry(card, build)
        return build

    return decorate


def _entry(name: str) -> _Entry:
    if name not in _REGISTRY:
        raise SeqSelectError(
            f"unknown baseline {name!r}; choose one of {', '.join(sorted(_REGISTRY))}"
        )
    return _REGISTRY[name]


def list_baselines(task: str | None = None) -> list[str]:
    """Names of the baselines for a dataset task (all of them when None), sorted."""
    if task is not None and task not in DATA_TASKS:
        raise SeqSelectError(f"unknown task {task!r}; choose one of {', '.join(DATA_TASKS)}")
    return sorted(name for name, e in _REGISTRY.items() if task is None or e.card.task == task)


def baseline_card(name: str) -> BaselineCard:
    return _entry(name).card


def create_baseline(name: str, *, seed: int = 0, **options: Any) -> Baseline:
    """A fresh, unfitted baseline. Options not on its card raise :class:`SeqSelectError`."""
    entry = _entry(name)
    unknown = sorted(set(options) - set(entry.card.options))
    if unknown:
        takes = ", ".join(entry.card.options) or "no options"
        raise SeqSelectError(
            f"baseline {name} does not take {', '.join(unknown)} (it takes {takes})"
        )
    return entry.build(seed, **options)
