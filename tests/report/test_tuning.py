"""The report's --tune section: history figure, chosen configuration, importances."""

from __future__ import annotations

from typing import ClassVar

import pytest

from seqselect.report.tuning import importances, search_history, tuning_sections


def _search(values, states=None):
    states = states or ["COMPLETE"] * len(values)
    history = [
        {"model": "gru", "number": i, "state": st, "value": v,
         "params": {"lr": 1e-3 * (i + 1), "n_layers": 1 + i % 2},
         "intermediate": {"0": v}, "config": {}, "wall_s": 1.0}
        for i, (v, st) in enumerate(zip(values, states, strict=True))
    ]
    best = max(range(len(values)), key=lambda i: values[i])
    return {"history": history, "chosen": {"number": best, "value": values[best],
                                           "params": history[best]["params"],
                                           "n_configs": len(values), "n_pruned": 0}}


def test_importances_only_where_computable():
    assert importances(_search([0.5]), True) is None  # one configuration
    assert importances(_search([0.7, 0.7, 0.7]), True) is None  # nothing varies
    found = importances(_search([0.5, 0.9, 0.6, 0.8, 0.55, 0.85]), True)
    assert set(found) == {"lr", "n_layers"}
    assert sum(found.values()) == pytest.approx(1.0, abs=1e-6)


def test_section_has_history_and_choice():
    class Result:
        metric = "accuracy"
        tuning: ClassVar = {"gru": _search([0.5, 0.9, 0.6], ["COMPLETE", "COMPLETE", "PRUNED"])}

    png = search_history(Result.tuning, "accuracy")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    html = "".join(tuning_sections(Result, str))
    assert "Hyper-parameter search" in html and "data:image/png;base64," in html
    assert "<td>1</td>" in html  # configuration 1 chosen (0.9)

    class Untuned:
        metric = "accuracy"
        tuning: ClassVar = {}

    assert tuning_sections(Untuned, str) == []
