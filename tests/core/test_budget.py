"""seqselect.budget: the one budget parser (trainer, bake-off and CLI)."""

import pytest

from seqselect.budget import Budget, parse_seconds
from seqselect.errors import SeqSelectError


@pytest.mark.parametrize(
    ("text", "budget"),
    [
        ("90s", Budget(seconds=90)),
        ("10m", Budget(seconds=600)),
        ("1.5h", Budget(seconds=5400)),
        ("1h30m", Budget(seconds=5400)),
        ("2m 30s", Budget(seconds=150)),
        ("45", Budget(seconds=45)),
        (12, Budget(seconds=12)),
        ("5 epochs", Budget(epochs=5)),
        ("200 steps", Budget(steps=200)),
        ("5 epochs, 60s", Budget(epochs=5, seconds=60)),
        ("100 steps + 1m", Budget(steps=100, seconds=60)),
    ],
)
def test_parse_reads_every_documented_form(text, budget):
    assert Budget.parse(text) == budget


@pytest.mark.parametrize(
    "text", ["soon", "ten minutes", "5x", "-3m", "0s", "", "3m fast", "5 parsecs", "3m 5"]
)
def test_parse_rejects_with_the_accepted_forms(text):
    with pytest.raises(SeqSelectError, match="budget"):
        Budget.parse(text)


def test_an_empty_budget_is_refused():
    with pytest.raises(SeqSelectError):
        Budget()


def test_parse_seconds_takes_durations_only():
    assert parse_seconds("1h30m") == 5400.0
    with pytest.raises(SeqSelectError, match="not a duration"):
        parse_seconds("5 epochs")


def test_round_trip_through_dict():
    budget = Budget(epochs=3, seconds=20.0)
    assert Budget.from_dict(budget.to_dict()) == budget
    assert str(budget) == "3 epochs, 20s"
