"""Verdicts from measured cells: every claim judged, failures and busy machines inconclusive."""

import json
import os

import pytest

from seqselect.bench.claims import load_claims, plan_cells, settings_for
from seqselect.bench.judge import VERDICTS, format_measured, judge_claims
from seqselect.bench.records import BenchCell
from seqselect.bench.rules import RULES
from seqselect.bench.verify import VerifyReport
from seqselect.models import list_models

DATA = load_claims()


def _cells(rows):
    return [BenchCell.from_dict(r) for r in rows]


@pytest.mark.parametrize("quick", [False, True])
def test_every_claim_is_mapped_to_measured_cells_and_gets_a_verdict(quick):
    st = settings_for(DATA, quick)
    registered = list_models()
    model_cells, attention_cells = plan_cells(DATA, st, registered)
    assert model_cells and attention_cells
    if quick:
        assert all(n < 5000 for _, _, n in model_cells)
    # Synthetic measurements: time and memory linear in L, every cell ok.
    rows = _cells(
        {"model": m, "mode": mode, "length": n, "batch": st.batch, "status": "ok",
         "time_ms": n * (0.3 if m == "tcn" else 1.0), "peak_mb": n / 2.0, "flops": n * 1e6,
         "params": 1000}
        for m, mode, n in model_cells
    )
    att = [BenchCell(model=f"attention-{cell.impl}", impl=cell.impl, batch=cell.batch,
                     length=cell.length, mode="infer", status="ok", time_ms=1.0,
                     peak_mb=2 * cell.batch * cell.length**2 * 4 / 2**20)
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
    assert "| " + format_measured(by_id["train-fastest-tcn"]) + " |" in report.to_markdown()
    assert report.to_markdown().count("\n| ") == len(verdicts) + 1


def test_a_failed_cell_makes_its_claims_inconclusive():
    st = settings_for(DATA, quick=False)
    verdicts = judge_claims(DATA, st, list_models(), _cells([
        {"model": "lstm", "mode": "train", "length": 1000, "batch": 32, "status": "timeout",
         "time_ms": None, "peak_mb": None, "flops": None, "error": "no result within 1 s"},
    ]), [])
    by_id = {v["id"]: v for v in verdicts}
    assert by_id["train-speed-tcn"]["verdict"] == "inconclusive"
    assert "timeout" in by_id["memory-1000-lstm"]["why"]
    assert by_id["memory-5000-transformer"]["verdict"] == "inconclusive"


def test_out_of_memory_claim_holds_when_the_cell_runs_out():
    st = settings_for(DATA, quick=False)
    rows = [{"model": "transformer", "mode": "train", "length": 5000, "batch": 32,
             "status": "oom", "time_ms": None, "peak_mb": None, "flops": None,
             "error": "MemoryError"}]
    verdicts = {v["id"]: v for v in judge_claims(DATA, st, list_models(), _cells(rows), [])}
    assert verdicts["memory-5000-transformer"]["verdict"] == "holds"


def test_timings_from_a_busy_machine_are_inconclusive():
    st = settings_for(DATA, quick=False)
    busy = 100.0 * (os.cpu_count() or 1)
    rows = [{"model": m, "mode": "train", "length": 1000, "batch": 32, "status": "ok",
             "time_ms": t, "peak_mb": 400.0, "flops": 1, "params": 1, "load_avg": busy}
            for m, t in (("lstm", 100.0), ("tcn", 35.0))]
    verdicts = {v["id"]: v for v in judge_claims(DATA, st, list_models(), _cells(rows), [])}
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
    verdicts = {v["id"]: v for v in judge_claims(DATA, st, list_models(), _cells(rows), [])}
    oom = verdicts["memory-5000-transformer"]
    assert oom["verdict"] == "does-not-hold" and oom["measured"] == 4200.0
    assert "1 complete run" in oom["why"]


def test_rules_judge_values_against_the_guide():
    assert RULES["within_factor"]({"factor": 2}, 100, 150)[0] == "holds"
    assert RULES["within_factor"]({"factor": 2}, 100, 250)[0] == "does-not-hold"
    assert RULES["range"]({"tolerance": 1.0}, [2, 3], 2.5)[0] == "holds"
    assert RULES["range"]({"tolerance": 1.0}, [2, 3], 3.5)[0] == "does-not-hold"
    assert RULES["equals"]({}, "tcn", "lstm")[0] == "does-not-hold"
    assert RULES["exponent"]({"kind": "exponent", "tolerance": 0.2}, 1, 1.15)[0] == "holds"
    assert RULES["exponent_range"]({"kind": "exponent_range", "tolerance": 0.1},
                                   [1, 2], 2.2)[0] == "does-not-hold"


def test_measured_values_are_shown_in_their_unit():
    assert format_measured({"measured": 35.2, "unit": "% of LSTM"}) == "35%"
    assert format_measured({"measured": 2.456, "unit": "x faster"}) == "2.46x"
    assert format_measured({"measured": 3200.0, "unit": "MB"}) == "3.20 GB"
    assert format_measured({"measured": None, "unit": "MB"}) == "-"
