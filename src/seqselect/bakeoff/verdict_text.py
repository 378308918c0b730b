"""The verdict's sentences: why the winner won, in words (``Winner.reasons``).

:mod:`~seqselect.bakeoff.decide` chooses the winner and calls these; each function here
only phrases what it was handed. The sentences are written here once; the CLI and the
HTML report both show them as they are, and :func:`protocol_sentence` gives both the
run's selection rule in one line.

A baseline that heads the table because it *equals* the best network on validation has
not beaten it: the verdict then says that it matches the best network, and says that it
wins only when its validation score is strictly better. A trivial floor (a baseline
whose card is marked ``floor``: the majority class, the training mean, the naive
forecast) that the best network does not beat on validation gets a sentence of its own.
The test split never decides which sentence is written.
"""

from __future__ import annotations

from typing import Any

from seqselect.bakeoff.leaderboard import finite, same_validation
from seqselect.bakeoff.records import LeaderboardRow, Protocol
from seqselect.errors import SeqSelectError
from seqselect.formatting import format_number
from seqselect.stats import PairedComparison
from seqselect.vocabulary import higher_is_better

__all__ = [
    "advisor_sentence", "baseline_sentence", "floor_sentence", "number_text",
    "protocol_sentence", "ranking_sentence", "versus_sentences",
]

#: How a missing number reads inside a verdict sentence.
_MISSING = "n/a"


def number_text(value: Any, digits: int = 4) -> str:
    """How a number reads inside a verdict sentence ("n/a" when it is missing)."""
    return format_number(value, digits, missing=_MISSING)


def _seeds_text(cmp: PairedComparison) -> str:
    if cmp.n_seeds_a == cmp.n_seeds_b:
        return f"{cmp.n_seeds_a} seed(s)"
    return f"{cmp.n_seeds_a} and {cmp.n_seeds_b} seeds"


def _comparison_sentence(best: LeaderboardRow, second: LeaderboardRow, cmp: PairedComparison,
                         paired: str) -> str:
    """"ahead of cnn1d on validation (0.95); ahead of it by 0.012 on test accuracy (95%
    paired bootstrap interval -0.004 to 0.027, 150 examples x 3 seed(s)): statistically
    tied (the interval includes 0)"."""
    where = f"on test {paired}"
    relation = "ahead of" if cmp.difference >= 0 else "behind"
    interval = (
        f"{round(100 * cmp.confidence)}% paired bootstrap interval {number_text(cmp.ci_low, 3)} "
        f"to {number_text(cmp.ci_high, 3)}, {cmp.n} examples x {_seeds_text(cmp)}"
    )
    if cmp.tied:
        verdict = "statistically tied (the interval includes 0)"
    elif cmp.difference >= 0:
        verdict = f"the interval excludes 0: {best.model} is better on these test examples"
    else:
        verdict = (
            f"the interval excludes 0: {second.model} is better on these test examples, "
            "but the choice is made on validation, not on test"
        )
    fallback = (
        f"; compared on {paired}, not {best.metric}: the run stored no per-example "
        f"{best.metric} scale" if paired != best.metric else ""
    )
    return (
        f"{_on_validation(best, second)}; {relation} it by "
        f"{number_text(abs(cmp.difference), 3)} {where} ({interval}): {verdict}{fallback}"
    )


def _on_validation(best: LeaderboardRow, second: LeaderboardRow) -> str:
    """Where the winner stands against the runner-up on validation: ahead, or level with
    it (an equal score: the tie rules above put the winner first, not a higher score)."""
    if same_validation(best.val_value, second.val_value):
        return (f"level with {second.model} on validation ({number_text(second.val_value)}), "
                "first by the rule for ties")
    return f"ahead of {second.model} on validation ({number_text(second.val_value)})"


def _faster_sentence(best: LeaderboardRow, second: LeaderboardRow) -> str | None:
    """For information when two models are tied: which predicts faster."""
    if not (finite(best.latency_ms) and finite(second.latency_ms)):
        return None
    fast, slow = sorted((best, second), key=lambda r: r.latency_ms)
    return (
        f"for information: {fast.model} is the faster of the two "
        f"({number_text(fast.latency_ms, 3)} vs {number_text(slow.latency_ms, 3)} ms per sequence)"
    )


def _score(row: LeaderboardRow) -> str:
    """"(validation 0.96 ± 0.02, test 0.97)": a row's validation score, which ranked it,
    then its test score, which did not."""
    return (
        f"(validation {number_text(row.val_value)} ± {number_text(row.val_std, 2)}, "
        f"test {number_text(row.value)})"
    )


def ranking_sentence(best: LeaderboardRow, n_eligible: int, metric: str) -> str:
    """The first reason: the winner's validation score, which chose it, among the
    ``n_eligible`` candidates, then its test score, which did not."""
    direction = "highest" if higher_is_better(metric) else "lowest"
    return (
        f"{direction} mean validation {metric}: {number_text(best.val_value)} ± "
        f"{number_text(best.val_std, 2)} over {best.n_val} validation score(s), among "
        f"{n_eligible} candidate(s) meeting the constraints; test {metric} "
        f"{number_text(best.value)} ± {number_text(best.std, 2)} over {best.n_seeds} seed(s), "
        "reported, not used to choose"
    )


_EXPORTED = "{} is the model exported (baselines are not exported)"


def baseline_sentence(best: LeaderboardRow, network: LeaderboardRow | None) -> str:
    """The plain sentence when a non-network heads the table: it *wins* only with a
    strictly better validation score; equal to the best network, it *matches* it."""
    if network is None:
        return (
            f"a non-deep model wins on this data: {best.model} {_score(best)}; no network "
            "met the constraints, so there is nothing to export"
        )
    if same_validation(best.val_value, network.val_value):
        return (
            f"a non-deep model matches the best network on validation: {best.model} "
            f"{_score(best)} and {network.model} {_score(network)}; on a validation tie "
            f"the simpler model ranks first, so {best.model} heads the table, not because "
            f"it scored higher; {_EXPORTED.format(network.model)}"
        )
    return (
        f"a non-deep model wins on this data: {best.model} {_score(best)} vs the best "
        f"network, {network.model} {_score(network)}; {_EXPORTED.format(network.model)}"
    )


def _is_floor(row: LeaderboardRow) -> bool:
    """Is ``row`` a baseline its card marks as the floor every model must clear? (A name
    the registry does not know, e.g. from an older run, is not.)"""
    from seqselect.baselines import baseline_card

    if row.kind != "baseline":
        return False
    try:
        return bool(baseline_card(row.model).floor)
    except SeqSelectError:
        return False


def floor_sentence(eligible: list[LeaderboardRow], network: LeaderboardRow | None) -> str | None:
    """Said when the best network does not beat a trivial floor on validation, whoever
    heads the table: a network no better than the floor has learnt nothing it shows."""
    floor = next((r for r in eligible if _is_floor(r)), None)
    if floor is None or network is None:
        return None
    sign = 1.0 if higher_is_better(network.metric) else -1.0
    if same_validation(network.val_value, floor.val_value):
        relation = f"the same as {floor.model}"
    elif sign * (network.val_value - floor.val_value) < 0:
        relation = f"worse than {floor.model}'s {number_text(floor.val_value)}"
    else:
        return None
    return (
        f"the networks did not beat the trivial floor on validation: the best network, "
        f"{network.model}, scored {number_text(network.val_value)} {network.metric}, {relation}, "
        "a floor every model must clear"
    )


def versus_sentences(
    best: LeaderboardRow, second: LeaderboardRow, cmp: PairedComparison | None, paired: str
) -> list[str]:
    """The winner against the runner-up on the same test examples: ``cmp`` compared them
    on the metric ``paired``; without ``cmp``, ``paired`` says why there is no interval."""
    if cmp is None:
        return [f"{_on_validation(best, second)}; no paired test interval: {paired}"]
    sentences = [_comparison_sentence(best, second, cmp, paired)]
    if cmp.tied and _faster_sentence(best, second):
        sentences.append(_faster_sentence(best, second))
    return sentences


def advisor_sentence(
    winner: str, leaderboard: list[LeaderboardRow], advisor_pick: str
) -> str:
    """How the measured winner compares with the advisor's first choice."""
    if advisor_pick == winner:
        return f"the advisor's first choice was {advisor_pick} too: evidence and advice agree"
    pick_row = next((r for r in leaderboard if r.model == advisor_pick), None)
    if pick_row is None or pick_row.val_value is None:
        return f"the advisor's first choice, {advisor_pick}, was not measured here"
    return (
        f"the advisor's first choice, {advisor_pick}, scored {number_text(pick_row.val_value)} "
        f"on validation (rank {pick_row.rank}): the measurement disagrees with the advice "
        "on this data"
    )


def protocol_sentence(protocol: Protocol | None) -> str:
    """The run's selection rule in one line, for the CLI and the report."""
    if protocol is None:
        return "protocol not recorded with this run (a run from before validation-only selection)"
    if protocol.kind == "cv":
        return (
            f"{protocol.n_folds}-fold cross-validation inside the {protocol.n_pool} training "
            "sequences selects (winner, seed, training length), then each model is refit on "
            "all of them; test read once per trial, only to report"
        )
    return (
        f"hold-out validation: {protocol.n_pool} training sequences train, "
        f"{protocol.n_val} validation sequences select (early stopping, winner, seed); "
        "test read once per trial, only to report"
    )
