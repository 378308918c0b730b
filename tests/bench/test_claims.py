"""The claims data file: parsed, complete, and every claim mapped to measured cells."""

import itertools

import pytest

from seqselect.bench.claims import (
    AttentionCell,
    load_claims,
    plan_cells,
    rests_on_timings,
    settings_for,
)
from seqselect.bench.judge import MEASURE_KINDS, MEASURES
from seqselect.bench.rules import RULE_KINDS, RULES
from seqselect.models import list_models

DATA = load_claims()


def test_claims_have_the_required_fields_and_unique_ids():
    ids = [c["id"] for c in DATA["claims"]]
    assert len(ids) == len(set(ids))
    for c in DATA["claims"]:
        for key in ("id", "section", "text", "guide", "guide_text", "unit", "measure", "rule"):
            assert key in c, (c["id"], key)
        assert c["measure"]["kind"] in MEASURE_KINDS, c["id"]
        assert c["rule"]["kind"] in RULE_KINDS, c["id"]


def test_the_dispatch_tables_cover_every_kind_in_the_claims_file():
    measures = {c["measure"]["kind"] for c in DATA["claims"]}
    rules = {c["rule"]["kind"] for c in DATA["claims"]}
    assert measures <= set(MEASURES)
    assert rules - {"expect_oom"} <= set(RULES)
    # ... and no entry is dead: every kind the tables know is used by some claim.
    assert set(MEASURES) == measures
    assert set(RULE_KINDS) == rules
    for c in DATA["claims"]:
        line = MEASURES[c["measure"]["kind"]].describe(c["measure"])
        assert line and line != c["measure"]["kind"], c["id"]


@pytest.mark.parametrize(
    "number",
    ["75%", "35%", "45%", "200%", "20%", "60%", "2-3x", "~500 MB", "~2 GB", "~400 MB",
     "~800 MB", "~4 GB", "50 GB", "128 MB", "3.2 GB", "O(n)", "O(n^2)", "O(n^2 d)",
     "O(n log n)"],
)
def test_every_number_of_the_guide_is_a_claim(number):
    assert any(number in c["guide_text"] or number in c["text"] for c in DATA["claims"]), number


def test_both_memory_tables_are_covered():
    mem = {(c["measure"].get("model"), c["measure"].get("length"))
           for c in DATA["claims"] if c["id"].startswith("memory-")}
    for model, length in itertools.product(("lstm", "transformer", "tcn", "sparse"),
                                           (1000, 5000)):
        assert (model, length) in mem


def test_models_named_by_claims_exist_or_are_aliases():
    aliases = DATA["settings"]["aliases"]
    registered = list_models()
    for c in DATA["claims"]:
        m = c["measure"]
        for name in [m.get("model"), m.get("baseline"), *m.get("models", [])]:
            if name is not None:
                assert name in registered or name in aliases, (c["id"], name)
    for members in aliases.values():
        assert any(n in registered for n in members)


@pytest.mark.parametrize("quick", [False, True])
def test_plan_cells_scales_lengths_and_sorts_each_models_lengths(quick):
    st = settings_for(DATA, quick)
    model_cells, attention_cells = plan_cells(DATA, st, list_models())
    assert model_cells == sorted(set(model_cells))
    assert all(isinstance(c, AttentionCell) for c in attention_cells)
    lengths = {n for _, _, n in model_cells}
    if quick:
        assert max(lengths) < 5000 and st.length(1000) == max(2, round(1000 * st.length_scale))
    else:
        assert {1000, 5000} <= lengths


def test_only_timing_measures_rest_on_timings():
    assert rests_on_timings({"kind": "speedup"})
    assert rests_on_timings({"kind": "exponent", "metric": "time"})
    assert not rests_on_timings({"kind": "exponent", "metric": "memory"})
    assert not rests_on_timings({"kind": "peak_memory"})
