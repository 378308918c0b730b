"""Hyper-parameter search spaces, declared per model family, for ``seqselect bakeoff
--tune`` (:mod:`seqselect.bakeoff.tune`).

A space is a tuple of :class:`Param`: where the value goes (``"train"``: a keyword of
:func:`seqselect.train.train`; ``"model"``: a field of the family's config) and its range.
Every family searches the optimiser's learning rate and weight decay; the model part is the
family's own (dropout, depth at the matched parameter count, kernel size, state size).
Depth is searched with the width left to the parameter-matched build
(``create_model(params=..., n_layers=k)`` picks ``d_model``), so every configuration of a
candidate has the same parameter count (±10%) and the search trades depth for width.

A model parameter whose field the model's config does not have is dropped
(:func:`search_space`), so a family's declaration covers all its members.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seqselect.models.registry import get_entry

__all__ = ["FAMILY_SPACES", "TRAIN_SPACE", "Param", "search_space"]


@dataclass(frozen=True)
class Param:
    """One searched value: ``kind`` is ``"float"`` (``low``-``high``, ``log`` scale or
    not), ``"int"`` (``low``-``high`` inclusive) or ``"categorical"`` (``choices``)."""

    name: str
    target: str  # "train" or "model"
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "target": self.target, "kind": self.kind, "low": self.low,
            "high": self.high, "log": self.log, "choices": list(self.choices),
        }


#: Every family: the optimiser (the recipe's lr is 3e-3 and weight decay 0.01, inside).
TRAIN_SPACE = (
    Param("lr", "train", "float", 3e-4, 1e-2, log=True),
    Param("weight_decay", "train", "float", 1e-4, 1e-1, log=True),
)

_DROPOUT = Param("dropout", "model", "float", 0.0, 0.3)

#: The model part per family (:attr:`ModelCard.family`); unknown families search dropout.
FAMILY_SPACES: dict[str, tuple[Param, ...]] = {
    "rnn": (_DROPOUT, Param("n_layers", "model", "int", 1, 3)),
    "cnn": (
        _DROPOUT,
        Param("n_layers", "model", "int", 2, 4),
        Param("kernel_size", "model", "categorical", choices=(3, 5, 7, 9)),
    ),
    "tcn": (
        _DROPOUT,
        Param("n_layers", "model", "int", 2, 6),
        Param("kernel_size", "model", "categorical", choices=(2, 3, 5, 7)),
    ),
    "transformer": (_DROPOUT, Param("n_layers", "model", "int", 1, 4)),
    "sparse-transformer": (
        _DROPOUT,
        Param("n_layers", "model", "int", 1, 4),
        Param("window", "model", "categorical", choices=(16, 32, 64, 128)),  # local attention
    ),
    "cnn-rnn": (_DROPOUT, Param("n_layers", "model", "int", 1, 3)),
    "cnn-transformer": (_DROPOUT, Param("n_layers", "model", "int", 1, 4)),
    "hierarchical": (
        _DROPOUT,
        Param("n_layers", "model", "int", 1, 3),
        Param("kernel_size", "model", "categorical", choices=(3, 5, 7)),
    ),
    "linear-attention": (_DROPOUT, Param("n_layers", "model", "int", 1, 4)),
    "ssm": (
        _DROPOUT,
        Param("n_layers", "model", "int", 1, 4),
        Param("d_state", "model", "categorical", choices=(8, 16, 32, 64)),
    ),
}


def search_space(model: str, config: dict[str, Any]) -> tuple[Param, ...]:
    """The space searched for ``model`` whose built config is ``config`` (the bake-off's
    prepared config): the training part, then the family's parameters the config has."""
    family = get_entry(model).card.family
    own = FAMILY_SPACES.get(family, (_DROPOUT,))
    return TRAIN_SPACE + tuple(p for p in own if p.name in config)
