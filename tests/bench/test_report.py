"""The report: exponents from ok cells, the guide's relative view, JSON and CSV."""

import csv
import json

import pytest

from seqselect.bench.records import CSV_COLUMNS, BenchCell
from seqselect.bench.report import BenchReport, add_relative, compute_exponents

LENGTHS = [128, 256, 512, 1024, 2048]


def _cell(model, length, time_ms, status="ok", mode="train", **kw):
    return BenchCell(model=model, length=length, batch=4, mode=mode, status=status,
                     time_ms=time_ms, **kw)


def test_compute_exponents_uses_only_ok_cells():
    cells = [_cell("m", n, float(n), peak_mb=float(n * n), flops=n * 10) for n in LENGTHS]
    cells.append(_cell("m", 4096, None, status="oom"))
    cells.append(_cell("m", 128, 1.0, mode="infer", peak_mb=1.0, flops=1))
    exps = compute_exponents(cells)
    assert exps["m"]["train"]["time"] == pytest.approx(1.0)
    assert exps["m"]["train"]["memory"] == pytest.approx(2.0)
    assert exps["m"]["train"]["flops"] == pytest.approx(1.0)
    assert exps["m"]["infer"] == {"time": None, "memory": None, "flops": None}


def test_relative_time_is_time_over_the_baselines_at_the_same_length_and_mode():
    cells = [
        _cell("lstm", 100, 10.0), _cell("tcn", 100, 3.5), _cell("transformer", 100, 25.0),
        _cell("lstm", 200, None, status="timeout"), _cell("tcn", 200, 7.0),
        _cell("tcn", 100, 2.0, mode="infer"),  # no LSTM infer cell: no ratio
        _cell("tcn", 100, None, status="error"),
    ]
    out = add_relative(cells)
    assert [c.relative_pct for c in out] == [100.0, 35.0, 250.0, None, None, None, None]
    assert all(c.relative_pct is None for c in cells)  # the input cells are not changed
    assert [c.time_ms for c in add_relative(cells, baseline="tcn")][:3] == [10.0, 3.5, 25.0]
    assert add_relative(cells, baseline="tcn")[0].relative_pct == pytest.approx(285.7)


def test_report_json_and_csv_round_trip(tmp_path):
    cells = add_relative([_cell("lstm", 100, 10.0, peak_mb=1.5, params=1000, flops=5),
                          _cell("tcn", 100, None, status="oom", error="MemoryError")])
    report = BenchReport(environment={"device": "cpu"}, results=cells,
                         exponents=compute_exponents(cells), settings={"batch": 4})
    back = BenchReport.from_json(report.to_json(tmp_path / "b.json"))
    assert back == report
    data = json.loads((tmp_path / "b.json").read_text())
    assert list(data) == ["environment", "settings", "results", "exponents"]
    assert "error" not in data["results"][0] and data["results"][1]["error"] == "MemoryError"
    with report.to_csv(tmp_path / "b.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0]["relative_pct"] == "100.0" and rows[1]["time_ms"] == ""
    assert [r.model for r in report.rows(mode="train")] == ["lstm", "tcn"]
    assert report.rows(model="tcn") == [cells[1]]


def test_exponents_are_recomputed_when_a_file_has_none():
    cells = [_cell("m", n, float(n), peak_mb=1.0, flops=1) for n in LENGTHS]
    data = {"results": [c.to_dict() for c in cells]}
    assert BenchReport.from_dict(data).exponents["m"]["train"]["time"] == pytest.approx(1.0)
