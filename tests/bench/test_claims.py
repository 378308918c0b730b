"""The claims data file: parsed, complete, and every claim mapped to a measurement."""

import itertools
import json
import os

import pytest

from seqselect.bench.verify import (
    MEASURE_KINDS,
    RULE_KINDS,
    VERDICTS,
    VerifyReport,
    judge_claims,
    load_claims,
    plan_cells,
    settings_for,
)
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
    for model, length in itertools.product(("lstm", "transformer", "tcn", "sparse"), (1000, 5000)):
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
def test_every_claim_is_mapped_to_measured_cells_and_gets_a_verdict(quick):
    st = settings_for(DATA, quick)
    registered = list_models()
    model_cells, attention_cells = plan_cells(DATA, st, registered)
    assert model_cells and attention_cells
    if quick:
        assert all(n < 5000 for _, _, n in model_cells)
    # Synthetic measurements: time and memory linear in L, every cell ok.
    rows = [
        {"model": m, "mode": mode, "length": n, "batch": st.batch, "status": "ok",
         "time_ms": n * (0.3 if m == "tcn" else 1.0), "peak_mb": n / 2.0, "flops": n * 1e6,
         "params": 1000}
        for m, mode, n in model_cells
    ]
    att = [{**cell, "status": "ok", "time_ms": 1.0, "peak_mb": 2 * cell["batch"] * cell["length"] ** 2 * 4 / 2**20}
           for cell in attention_cells]
    verdicts = judge_claims(DATA, st, registered, rows, att)
    assert [v["id"] for v in verdicts] == [c["id"] for c in DATA["claims"]]
    for v in verdicts:
        assert v["verdict"] in VERDICTS
        assert v["why"]
        assert set(v) >= {"id", "text", "guide", "measured", "verdict", "why"}
        if not quick and v["id"] not in ("memory-5000-transformer", "attention-5000-impossible"):
            assert v["measured"] is not None, v
    by_id = {v["id"]: v for v in verdicts}
    assert by_id["attention-arithmetic-1000"]["verdict"] == "holds"
    assert by_id["attention-arithmetic-1000"]["measured"] == pytest.approx(128.0)
    assert by_id["attention-arithmetic-5000"]["measured"] == pytest.approx(3200.0)
    assert by_id["complexity-lstm-memory"]["verdict"] == "holds"  # linear by construction
    assert by_id["complexity-transformer-memory"]["verdict"] == "does-not-hold"
    assert by_id["train-fastest-tcn"]["measured"] == "tcn"
    if quick:
        assert by_id["memory-1000-lstm"]["verdict"] == "inconclusive"
    else:
        assert by_id["memory-5000-transformer"]["verdict"] == "does-not-hold"
    report = VerifyReport(settings={"description": st.describe()}, environment={}, claims=verdicts)
    json.loads(json.dumps(report.to_dict()))
    assert report.to_markdown().count("\n| ") == len(verdicts) + 1


def test_a_failed_cell_makes_its_claims_inconclusive():
    st = settings_for(DATA, quick=False)
    verdicts = judge_claims(DATA, st, list_models(), [
        {"model": "lstm", "mode": "train", "length": 1000, "batch": 32, "status": "timeout",
         "time_ms": None, "peak_mb": None, "flops": None, "error": "no result within 1 s"},
    ], [])
    by_id = {v["id"]: v for v in verdicts}
    assert by_id["train-speed-tcn"]["verdict"] == "inconclusive"
    assert "timeout" in by_id["memory-1000-lstm"]["why"]
    assert by_id["memory-5000-transformer"]["verdict"] == "inconclusive"


def test_out_of_memory_claim_holds_when_the_cell_runs_out():
    st = settings_for(DATA, quick=False)
    rows = [{"model": "transformer", "mode": "train", "length": 5000, "batch": 32,
             "status": "oom", "time_ms": None, "peak_mb": None, "flops": None,
             "error": "MemoryError"}]
    verdicts = {v["id"]: v for v in judge_claims(DATA, st, list_models(), rows, [])}
    assert verdicts["memory-5000-transformer"]["verdict"] == "holds"


def test_timings_from_a_busy_machine_are_inconclusive():
    st = settings_for(DATA, quick=False)
    busy = 100.0 * (os.cpu_count() or 1)
    rows = [{"model": m, "mode": "train", "length": 1000, "batch": 32, "status": "ok",
             "time_ms": t, "peak_mb": 400.0, "flops": 1, "params": 1, "load_avg": busy}
            for m, t in (("lstm", 100.0), ("tcn", 35.0))]
    verdicts = {v["id"]: v for v in judge_claims(DATA, st, list_models(), rows, [])}
    assert verdicts["train-speed-tcn"]["verdict"] == "inconclusive"
    assert "busy" in verdicts["train-speed-tcn"]["why"]
    assert verdicts["train-speed-tcn"]["measured"] == pytest.approx(35.0)
    assert verdicts["memory-1000-tcn"]["verdict"] == "holds"  # memory is not a timing


def test_a_cell_that_timed_out_after_complete_runs_still_counts_for_memory():
    st = settings_for(DATA, quick=False)
    rows = [{"model": "transformer", "mode": "train", "length": 5000, "batch": 32,
             "status": "timeout", "time_ms": None, "peak_mb": 4200.0, "flops": None,
             "error": "no result within 1200 s (after 1 complete run(s), peak 4200 MB)",
             "partial": {"runs_done": 1, "run_ms": [600_000.0]}}]
    verdicts = {v["id"]: v for v in judge_claims(DATA, st, list_models(), rows, [])}
    oom = verdicts["memory-5000-transformer"]
    assert oom["verdict"] == "does-not-hold" and oom["measured"] == 4200.0
    assert "1 complete run" in oom["why"]
