"""The advisor's answer as records: what crosses to the CLI and back from its JSON."""

from __future__ import annotations

import dataclasses

import pytest

from seqselect.advisor import Candidate, Recommendation, recommend


def test_recommend_returns_the_typed_record():
    rec = recommend(seq_len=5000, data_type="time-series", n_examples=300)
    assert isinstance(rec, Recommendation)
    assert all(isinstance(c, Candidate) for c in [*rec.ranked, *rec.avoid])
    assert rec.top == rec.names()[0] == rec.ranked[0].model
    assert rec.characteristics["seq_len"] == 5000 and rec.fired


def test_records_are_frozen():
    rec = recommend(seq_len=100, data_type="text")
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.ranked[0].score = 99  # type: ignore[misc]


def test_to_dict_keys_and_round_trip():
    rec = recommend(seq_len=10_000, data_type="time-series", latency="realtime")
    data = rec.to_dict()
    assert list(data) == ["ranked", "avoid", "warnings", "unanswered"]
    assert all(list(c) == ["model", "score", "reasons"] for c in data["ranked"])
    assert all(list(c) == ["model", "reasons"] for c in data["avoid"])
    assert Recommendation.from_dict(data).to_dict() == data
