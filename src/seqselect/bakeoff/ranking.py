"""How networks rank among themselves when the validation folds are too small for
accuracy: by their mean validation cross-entropy.

With cross-validation on a few dozen training series, each fold holds 6-10 of them, so
one series moves a fold's accuracy by 10-17 points, and three seeds' folds give a mean
whose noise (~0.1) is larger than the gaps between networks. Cross-entropy is a proper
score: it uses every prediction's confidence, not just whether it crossed 0.5, so it
ranks with far less noise on the same examples. On the 5-minute ArrowHead bake-off (folds
of 7-8 series) accuracy put tcn (0.73) above cnn1d (0.69) while cross-entropy put cnn1d
(0.57) well ahead of tcn (0.88); on test, cnn1d scored 0.85 and tcn 0.76. On ACSF1 it
also picked the network that tested best (issue 13).

The rule (:func:`order_networks_by_loss`): when the task's metric is accuracy, every
ranked network has a validation cross-entropy, and the median validation fold holds
fewer than :data:`~seqselect.train.trainer.MIN_RANKING_VAL` sequences, the rows keep the
places that validation accuracy gives networks and baselines, and the networks fill the
network places in order of cross-entropy (ties: the smaller model, then the name).
Baselines keep accuracy: MiniRocket's ridge classifier gives no probabilities to score.
Only validation data is read.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from seqselect.bakeoff.records import LeaderboardRow, Trial
from seqselect.train.trainer import MIN_RANKING_VAL

__all__ = ["LOSS", "loss_ranks_networks", "loss_sentence", "order_networks_by_loss"]

LOSS = "cross_entropy"
#: The roles whose validation metrics select ("fold": cv; "trial": hold-out).
_SELECTION_ROLES = ("fold", "trial")


def _ranked_networks(rows: list[LeaderboardRow]) -> list[LeaderboardRow]:
    return [r for r in rows if r.kind != "baseline" and r.val_value is not None]


def median_fold_size(trials: Iterable[Trial]) -> float | None:
    """The median number of validation sequences the networks' selection trials saw."""
    sizes = [
        int(t.val_metrics["n"]) for t in trials
        if t.kind != "baseline" and t.role in _SELECTION_ROLES and t.status == "ok"
        and t.val_metrics.get("n")
    ]
    return statistics.median(sizes) if sizes else None


def loss_ranks_networks(rows: list[LeaderboardRow], trials: Iterable[Trial]) -> bool:
    """Does the rule hold here (see the module docstring)?"""
    networks = _ranked_networks(rows)
    if len(networks) < 2 or networks[0].metric != "accuracy":
        return False
    if any(r.val_loss is None for r in networks):
        return False
    size = median_fold_size(trials)
    return size is not None and size < MIN_RANKING_VAL


def order_networks_by_loss(
    rows: list[LeaderboardRow], trials: Iterable[Trial]
) -> list[LeaderboardRow]:
    """``rows`` (ordered by validation accuracy) with the networks reordered by validation
    cross-entropy in their own places, when :func:`loss_ranks_networks`; else as given."""
    trials = list(trials)
    if not loss_ranks_networks(rows, trials):
        return rows
    places = [i for i, r in enumerate(rows) if r.kind != "baseline" and r.val_value is not None]
    by_loss = sorted((rows[i] for i in places), key=lambda r: (r.val_loss, r.params or 0, r.model))
    ordered = list(rows)
    for place, row in zip(places, by_loss, strict=True):
        ordered[place] = row
    return ordered


def loss_sentence(rows: list[LeaderboardRow], trials: Iterable[Trial]) -> str | None:
    """The verdict's sentence saying the networks were ranked by cross-entropy, and why."""
    trials = list(trials)
    if not loss_ranks_networks(rows, trials):
        return None
    size = median_fold_size(trials)
    order = ", ".join(f"{r.model} {r.val_loss:.3g}" for r in _ranked_networks(rows))
    return (
        f"networks ranked among themselves by validation cross-entropy ({order}): with "
        f"{size:g} validation sequences per fold (under {MIN_RANKING_VAL}) one sequence moves "
        f"accuracy by {100 / size:.0f} points, and cross-entropy, which scores every "
        "prediction's confidence, ranks with less noise; baselines keep their accuracy places"
    )
