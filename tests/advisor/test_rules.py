"""The rules data file: complete, well-formed, traceable to the guide."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import pytest

from seqselect.advisor import load_rules, recommend, rule_counts
from seqselect.advisor.characteristics import ALLOWED


def _find_guide() -> Path:
    """The guide beside the checkout (``../shared``), in any folder above a clone made
    elsewhere, at ``$SEQSELECT_GUIDE``, or at the project's usual ``/work/shared``."""
    rel = Path("shared") / "reference" / "sequence-models-guide.md"
    candidates = [Path(os.environ.get("SEQSELECT_GUIDE", "/nonexistent"))]
    candidates += [folder / rel for folder in Path(__file__).resolve().parents[3:]]
    candidates.append(Path("/work") / rel)
    return next((c for c in candidates if c.is_file()), candidates[1])


GUIDE = _find_guide()


def _targets(rule):
    for role in ("best", "alternative", "penalize", "avoid", "exclude"):
        yield from rule.get(role, [])


def test_every_rule_names_its_section_and_known_targets(zoo_names):
    data = load_rules()
    families = {"sparse-transformer", "ssm", "linear-attention"}
    for rule in data["rules"]:
        assert rule["section"].strip() and rule["text"].strip(), rule["id"]
        for target in _targets(rule):
            if target.startswith("pretrained:"):
                assert target.split(":", 1)[1] in data["pretrained"], (rule["id"], target)
            elif target.startswith("family:"):
                assert target.split(":", 1)[1] in families, (rule["id"], target)
            elif target.startswith("card:"):
                assert "=" in target
            else:
                assert target in zoo_names, (rule["id"], target)


def test_the_guide_is_covered_section_by_section():
    data = load_rules()
    ids = [r["id"] for r in data["rules"]]
    assert sum(i.startswith("QR-") for i in ids) == 8  # quick-reference rows
    assert sum(i.startswith("CK-") for i in ids) == 7  # 'Based on answers' lines
    assert len(data["pitfalls"]) == 5
    assert len(data["checklist"]) == 7
    assert sum(i.startswith("CH-") for i in ids) >= 10  # characteristics table (5 rows)
    assert sum(i.startswith("DT-") for i in ids) >= 15  # decision-tree branches
    counts = rule_counts()
    assert counts["seqselect addition (beyond the guide)"] >= 5
    assert sum(counts.values()) > 70


def test_seqselect_additions_are_marked_and_cite_a_source():
    data = load_rules()
    additions = [r for r in data["rules"] if r["kind"] == "seqselect"]
    additions += data["companions"]["items"]
    assert additions
    cited = [a for a in additions if "published-results.md" in a["text"]]
    assert len(cited) >= 3
    rec = recommend(data_type="text", seq_len=5000, n_examples=100_000)
    marked = [r for c in rec.ranked + rec.avoid for r in c.reasons if "[seqselect]" in r]
    assert any("Mamba" in r and "99.8" in r for r in marked)
    assert any("SDPA" in r for r in marked)
    # Guide rules never carry the marker.
    guide_reasons = [r for c in rec.ranked for r in c.reasons if re.match(r"^[+-]\d+ [A-Z]", r)]
    assert guide_reasons and not any("[seqselect]" in r for r in guide_reasons)


def test_checklist_questions_are_the_guides_words():
    if not GUIDE.exists():
        pytest.skip("guide not beside the checkout")
    text = GUIDE.read_text(encoding="utf-8")
    for q in load_rules()["checklist"]:
        assert q["question"] in text


def test_quick_reference_rows_quote_the_guide():
    if not GUIDE.exists():
        pytest.skip("guide not beside the checkout")
    text = GUIDE.read_text(encoding="utf-8")
    for rule in load_rules()["rules"]:
        if rule["id"].startswith("QR-"):
            row = rule["section"].split(": ", 1)[1]
            assert f"| {row} |" in text, row


def test_every_reason_traces_to_a_rule():
    sections = {r["section"] for r in load_rules()["rules"]}
    rec = recommend(data_type="time-series", seq_len=3000, n_examples=20_000,
                    latency="batch", deployment="cloud", memory_gb=4)
    for cand in rec.ranked + rec.avoid:
        assert cand.reasons
        for reason in cand.reasons:
            traced = (
                "[seqselect]" in reason
                or reason.startswith(("Memory:", "How to use:"))
                or any(s in reason for s in sections)
            )
            assert traced, reason


def test_unanswered_lists_exactly_the_missing_questions():
    rec = recommend(seq_len=100, data_type="text")
    assert len(rec.unanswered) == 5
    assert not any(q.startswith(("Sequence length", "Data type")) for q in rec.unanswered)
    full = recommend(seq_len=100, data_type="text", n_examples=10, latency="batch",
                     deployment="cloud", pretrained=True, speed_critical=False)
    assert full.unanswered == []


def test_to_dict_has_exactly_the_documented_shape():
    d = recommend(seq_len=300, data_type="time-series").to_dict()
    assert set(d) == {"ranked", "avoid", "warnings", "unanswered"}
    assert all(set(r) == {"model", "score", "reasons"} for r in d["ranked"])
    assert all(set(a) == {"model", "reasons"} for a in d["avoid"])
    scores = [r["score"] for r in d["ranked"]]
    assert scores == sorted(scores, reverse=True)


def test_deterministic():
    kw = dict(seq_len=5000, data_type="time-series")
    assert recommend(**kw).to_dict() == recommend(**kw).to_dict()


# --- validation -------------------------------------------------------------------------

@pytest.mark.parametrize("field", list(ALLOWED))
def test_bad_choice_lists_the_allowed_values(field):
    with pytest.raises(ValueError) as info:
        recommend(**{field: "nonsense"})
    for allowed in ALLOWED[field]:
        assert allowed in str(info.value)


@pytest.mark.parametrize("kwargs", [
    dict(seq_len=0), dict(seq_len=-5), dict(seq_len=1.5), dict(seq_len=True),
    dict(seq_len="100"), dict(n_examples=0), dict(batch_size=0), dict(memory_gb=0),
    dict(memory_gb=-1.0), dict(memory_gb=math.nan), dict(pretrained="yes"),
    dict(speed_critical=1), dict(multivariate="no"), dict(device="tpu"), dict(d_model=0),
])
def test_bad_values_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        recommend(**kwargs)


def test_whole_floats_are_accepted():
    assert recommend(seq_len=300.0, n_examples=1e5).characteristics["seq_len"] == 300
