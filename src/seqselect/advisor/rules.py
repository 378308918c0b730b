"""The guide's rules as data: load ``rules.json``, check its shape, match conditions.

``rules.json`` (shipped with the package) holds every rule the advisor applies, each naming
the section of ``reference/sequence-models-guide.md`` it encodes. This module only reads
it; the scoring lives in :mod:`seqselect.advisor.engine`.

A condition is a mapping from a characteristic to a test::

    {"seq_len": {"gt": 1000}}                 numeric bounds (lt, lte, gt, gte)
    {"n_examples": {"gte": 10000, "or_unknown": true}}   ... and None passes too
    {"data_type": ["text", "time-series"]}    value is one of
    {"deployment": {"not_in": ["edge"]}}      value unknown or not one of
    {"pretrained": true}                      that boolean
    {"seq_len": {"unknown": true}}            the value was not given
    {"any": [cond, cond]}                     at least one sub-condition holds

An unknown characteristic (None) fails every test on it except ``not_in``, ``unknown``
and ``or_unknown``: a rule never fires on a guess.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from importlib import resources
from typing import Any

__all__ = ["ROLES", "condition_holds", "load_rules", "rule_counts"]

#: What a rule can do to a model. ``best``/``alternative`` add points, ``penalize``
#: subtracts, ``avoid`` subtracts and flags, ``exclude`` moves the model to avoid outright.
ROLES = ("best", "alternative", "penalize", "avoid", "exclude")

_BOUNDS = {
    "lt": lambda v, b: v < b,
    "lte": lambda v, b: v <= b,
    "gt": lambda v, b: v > b,
    "gte": lambda v, b: v >= b,
}
_KINDS = ("characteristics", "decision_tree", "catalog", "tradeoff", "scenario",
          "quick_reference", "checklist", "seqselect")


@functools.lru_cache(maxsize=1)
def load_rules() -> dict[str, Any]:
    """The parsed ``rules.json``, checked once per process.

    Raises:
        ValueError: the file breaks its own schema (a packaging bug, not a user error).
    """
    text = resources.files("seqselect.advisor").joinpath("rules.json").read_text("utf-8")
    data = json.loads(text)
    _check(data)
    return data


def _check(data: dict[str, Any]) -> None:
    seen: set[str] = set()
    for rule in data["rules"]:
        rid = rule.get("id", "?")
        if rid in seen:
            raise ValueError(f"rules.json: duplicate rule id {rid!r}")
        seen.add(rid)
        if rule.get("kind") not in _KINDS:
            raise ValueError(f"rules.json: rule {rid!r} has unknown kind {rule.get('kind')!r}")
        for key in ("section", "text", "when"):
            if key not in rule:
                raise ValueError(f"rules.json: rule {rid!r} lacks {key!r}")
        unknown = set(rule) - {"id", "kind", "section", "text", "when", "points", "notes",
                               "lifts", "special", *ROLES}
        if unknown:
            raise ValueError(f"rules.json: rule {rid!r} has unknown keys {sorted(unknown)}")
    for rule in data["rules"]:
        for lifted in rule.get("lifts", {}):
            if lifted not in seen:
                raise ValueError(f"rules.json: rule {rule['id']!r} lifts unknown {lifted!r}")


def condition_holds(when: dict[str, Any], chars: dict[str, Any]) -> bool:
    """True when every test in ``when`` holds for the characteristics ``chars``."""
    for key, test in when.items():
        if key == "any":
            if not any(condition_holds(sub, chars) for sub in test):
                return False
            continue
        if not _test(chars.get(key), test):
            return False
    return True


def _test(value: Any, test: Any) -> bool:
    if isinstance(test, bool):
        return value is test or (value is not None and bool(value) == test)
    if isinstance(test, list):
        return value is not None and value in test
    if not isinstance(test, dict):
        raise ValueError(f"rules.json: cannot read condition {test!r}")
    if "unknown" in test:
        return (value is None) == bool(test["unknown"])
    if "not_in" in test:
        return value is None or value not in test["not_in"]
    if value is None:
        return bool(test.get("or_unknown", False))
    return all(_BOUNDS[op](value, bound) for op, bound in test.items() if op in _BOUNDS)


def rule_counts() -> dict[str, int]:
    """How many rules encode each part of the guide (plus the pitfalls and the additions).

    Keys are the section titles of ``rules.json``; ``seqselect addition`` counts this
    package's own judgements (rules of kind ``seqselect`` and the companion models).
    """
    data = load_rules()
    titles = data["section_titles"]
    counts = Counter(titles[r["kind"]] for r in data["rules"])
    counts[titles["pitfalls"]] = len(data["pitfalls"])
    counts["Decision Checklist: questions"] = len(data["checklist"])
    counts[titles["seqselect"]] += len({c["id"] for c in data["companions"]["items"]})
    return dict(counts)
