"""How networks rank among themselves when the validation folds are too small for
accuracy: by their mean validation cross-entropy, with ties that a paired test calls.

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
network places in order of cross-entropy (equal losses: the smaller model, then the name).
Baselines keep accuracy: MiniRocket's ridge classifier gives no probabilities to score.

Ties (:func:`validation_ties`). A mean over 30 validation series cannot separate two
networks that are both right on nearly all of them: on the 5-minute GunPoint bake-off
lstm and cnn1d were both right on all 30, at cross-entropy 0.054 and 0.066 (on test:
0.964 and 0.987). Each fold trial stores its per-sequence losses, and two networks'
trials of one seed share the fold, so the losses pair up: a network is tied with the
leader when the 95% paired-bootstrap interval of its mean loss difference includes 0
(:func:`seqselect.stats.paired_loss_bootstrap`, the test DESIGN.md uses for ties on test
examples; two-level: it draws the seeds' fold runs with replacement, then sequences
within them, so the spread between seeds counts too). Among tied networks a recurrent
one (:data:`RECURRENT`) yields to one that is not, then the lower loss leads. Why: when
the data cannot decide, the guide's prior does
(../shared/reference/sequence-models-guide.md, pitfall 3: a TCN is 2-3x faster to train,
parallel over time, and often more accurate than an LSTM), and on the UCR/UEA archive
convolutional classifiers beat recurrent ones (Fawaz et al. 2019). Trials stored without
losses (before they were kept) are never tied. Only validation data is read.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from seqselect.bakeoff.candidates import RECURRENT
from seqselect.bakeoff.records import LeaderboardRow, Trial
from seqselect.models import model_card
from seqselect.stats import PairedComparison, paired_loss_bootstrap
from seqselect.train.trainer import MIN_RANKING_VAL

__all__ = [
    "LOSS", "ValidationTie", "loss_ranks_networks", "loss_sentence", "order_networks_by_loss",
    "validation_ties",
]

LOSS = "cross_entropy"
#: The roles whose validation metrics select ("fold": cv; "trial": hold-out).
_SELECTION_ROLES = ("fold", "trial")


@dataclass(frozen=True)
class ValidationTie:
    """A network the leader (lowest validation cross-entropy) cannot be told apart from:
    ``comparison`` is leader versus ``model`` on their paired validation sequences."""

    leader: str
    model: str
    comparison: PairedComparison


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


def _fold_losses(trials: list[Trial], model: str) -> dict[tuple[int, int | None], list[float]]:
    """``model``'s per-sequence validation losses by (seed, fold)."""
    return {
        (t.seed, t.fold): t.val_losses for t in trials
        if t.model == model and t.role == "fold" and t.status == "ok" and t.val_losses
    }


def _paired(
    trials: list[Trial], leader: str, other: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The two models' losses on the validation sequences both were scored on, ``(N,)``
    each, concatenated over the shared (seed, fold) pairs, and which pair each sequence
    came from ``(N,)`` (the blocks the bootstrap draws first); None when they share none."""
    mine, theirs = _fold_losses(trials, leader), _fold_losses(trials, other)
    shared = sorted(
        (k for k in set(mine) & set(theirs) if len(mine[k]) == len(theirs[k])),
        key=lambda k: (k[0], -1 if k[1] is None else k[1]),
    )
    if not shared:
        return None
    return (
        np.concatenate([mine[k] for k in shared]),
        np.concatenate([theirs[k] for k in shared]),
        np.concatenate([np.full(len(mine[k]), block) for block, k in enumerate(shared)]),
    )


def _by_loss(networks: list[LeaderboardRow]) -> list[LeaderboardRow]:
    return sorted(networks, key=lambda r: (r.val_loss, r.params or 0, r.model))


def validation_ties(rows: list[LeaderboardRow], trials: Iterable[Trial]) -> list[ValidationTie]:
    """The networks tied with the lowest-loss one, in order of loss (see the module
    docstring); empty unless :func:`loss_ranks_networks`."""
    trials = list(trials)
    if not loss_ranks_networks(rows, trials):
        return []
    leader, *others = _by_loss(_ranked_networks(rows))
    ties = []
    for row in others:
        pair = _paired(trials, leader.model, row.model)
        if pair is None:
            continue
        losses_leader, losses_other, blocks = pair
        comparison = paired_loss_bootstrap(losses_leader, losses_other, groups=blocks, metric=LOSS)
        if comparison.tied:
            ties.append(ValidationTie(leader.model, row.model, comparison))
    return ties


def _recurrent(model: str) -> bool:
    return model_card(model).family in RECURRENT


def _network_order(rows: list[LeaderboardRow], ties: list[ValidationTie]) -> list[LeaderboardRow]:
    """The networks by loss, the leader's tied group first with recurrent ones last."""
    by_loss = _by_loss(_ranked_networks(rows))
    tied = {by_loss[0].model} | {t.model for t in ties}
    group = [r for r in by_loss if r.model in tied]
    group.sort(key=lambda r: (_recurrent(r.model), r.val_loss, r.params or 0, r.model))
    return group + [r for r in by_loss if r.model not in tied]


def order_networks_by_loss(
    rows: list[LeaderboardRow], trials: Iterable[Trial]
) -> list[LeaderboardRow]:
    """``rows`` (ordered by validation accuracy) with the networks reordered by validation
    cross-entropy and its ties in their own places, when :func:`loss_ranks_networks`;
    else as given."""
    trials = list(trials)
    if not loss_ranks_networks(rows, trials):
        return rows
    places = [i for i, r in enumerate(rows) if r.kind != "baseline" and r.val_value is not None]
    ordered = list(rows)
    for place, row in zip(places, _network_order(rows, validation_ties(rows, trials)),
                          strict=True):
        ordered[place] = row
    return ordered


def _tie_sentence(rows: list[LeaderboardRow], ties: list[ValidationTie]) -> str | None:
    """Which networks validation cannot separate, the intervals, and who the tie went to."""
    if not ties:
        return None
    first = _network_order(rows, ties)[0].model
    pairs = "; ".join(
        f"{t.model} {t.comparison.difference:+.3f} [{t.comparison.ci_low:+.3f}, "
        f"{t.comparison.ci_high:+.3f}] on {t.comparison.n} sequences in "
        f"{t.comparison.n_seeds_a} fold run(s)" for t in ties
    )
    won = (
        f"the tie goes to {first}: a recurrent network yields to one that is not "
        "(the guide: parallel over time, faster to train, often more accurate)"
        if first != ties[0].leader else f"{first} keeps the lead"
    )
    return (
        f"validation cannot separate {ties[0].leader} from "
        f"{', '.join(t.model for t in ties)} (how much higher their cross-entropy is, "
        f"with its {ties[0].comparison.confidence:.0%} paired-bootstrap interval: {pairs}); "
        f"{won}"
    )


def loss_sentence(rows: list[LeaderboardRow], trials: Iterable[Trial]) -> str | None:
    """The verdict's sentence saying the networks were ranked by cross-entropy, and why,
    with the validation ties when there are any."""
    trials = list(trials)
    if not loss_ranks_networks(rows, trials):
        return None
    size = median_fold_size(trials)
    order = ", ".join(f"{r.model} {r.val_loss:.3g}" for r in _by_loss(_ranked_networks(rows)))
    sentence = (
        f"networks ranked among themselves by validation cross-entropy ({order}): with "
        f"{size:g} validation sequences per fold (under {MIN_RANKING_VAL}) one sequence moves "
        f"accuracy by {100 / size:.0f} points, and cross-entropy, which scores every "
        "prediction's confidence, ranks with less noise; baselines keep their accuracy places"
    )
    ties = _tie_sentence(rows, validation_ties(rows, trials))
    return f"{sentence}; {ties}" if ties else sentence
