"""The harness end to end on tiny cells: schema, isolation, failures as results.

No assertion here is about how fast anything ran (machines are noisy); only about what
was recorded.
"""

import csv
import json
import os

import pytest

import seqselect
from seqselect.bench import (
    CSV_COLUMNS,
    ROW_KEYS,
    STATUSES,
    BenchCell,
    BenchReport,
    BenchSettings,
    harness,
    measure_cell,
    run_bench,
)
from seqselect.errors import SeqSelectError

TINY = dict(batch=2, params=3_000, repeats=1, warmup=0, device="cpu", progress=False)


@pytest.fixture(scope="module")
def report() -> BenchReport:
    # Two cells run (lstm streams); bilstm does not stream: its cells are recorded, not run.
    # Train and infer cells run in test_cli.py.
    return run_bench(["lstm", "bilstm"], [8, 16], modes=("stream",), **TINY)


def test_rows_have_the_json_schema(report):
    assert len(report.results) == 2 * 2
    for cell in report.results:
        assert isinstance(cell, BenchCell)
        assert set(ROW_KEYS) <= set(cell.to_dict())
        assert cell.status in STATUSES
        assert cell.batch == 2
    ok = [c for c in report.results if c.ok]
    assert {(c.model, c.mode) for c in ok} == {("lstm", "stream")}
    for cell in ok:
        assert cell.time_ms > 0 and cell.flops > 0
        # The peak comes from the cell's own process, its baseline reset (Linux /proc).
        assert isinstance(cell.peak_mb, float) and cell.memory_method.startswith("peak RSS")
        assert cell.estimate_mb > 0 and cell.steps == cell.length
        assert abs(cell.params - 3_000) <= 300  # matched to the budget (±10%)
    stream = [c for c in report.results if c.model == "bilstm" and c.mode == "stream"]
    assert all(c.status == "unsupported" for c in stream)


def test_json_round_trip_and_exponents(report, tmp_path):
    data = json.loads(report.to_json(tmp_path / "b.json").read_text())
    assert set(data) >= {"environment", "results", "exponents"}
    assert {"torch", "device", "threads", "cpu", "python", "dtype", "memory_total_mb",
            "load_average", "timestamp"} <= set(data["environment"])
    assert "hostname" not in json.dumps(data["environment"]).lower()
    for model in ("lstm", "bilstm"):
        for e in data["exponents"][model].values():
            assert set(e) >= {"time", "memory"}
    assert isinstance(data["exponents"]["lstm"]["stream"]["time"], float)
    assert data["exponents"]["bilstm"]["stream"]["time"] is None
    assert BenchReport.from_json(tmp_path / "b.json").results == report.results


def test_csv_has_the_same_rows(report, tmp_path):
    with report.to_csv(tmp_path / "b.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(report.results)
    for got, want in zip(rows, report.results, strict=True):
        assert got["model"] == want.model and int(got["length"]) == want.length
        assert got["status"] == want.status


def test_guide_view_is_each_time_over_lstms_at_the_same_length(report):
    lstm = {(c.length, c.mode): c.time_ms for c in report.results if c.model == "lstm"}
    for cell in report.results:
        if cell.ok:
            want = round(100.0 * cell.time_ms / lstm[(cell.length, cell.mode)], 1)
            assert cell.relative_pct == want
        else:  # no time of its own: no ratio
            assert cell.relative_pct is None


def test_plots_are_written(report, tmp_path):
    paths = report.plot(tmp_path)
    assert {p.name for p in paths} == {"time_vs_length.png", "memory_vs_length.png", "loglog.png"}
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)


def test_each_cell_runs_in_its_own_process(report):
    pids = [c.pid for c in report.results if c.ok]
    assert len(pids) == 2
    assert len({*pids, os.getpid()}) == 3


def test_an_error_in_the_child_becomes_the_cells_status():
    row = measure_cell("lstm", 8, "infer", batch=1, params=3_000, repeats=1, warmup=0,
                       device="cpu", overrides={"no_such_field": 1})
    assert row.status == "error"
    assert "no_such_field" in row.error


def test_out_of_memory_is_recorded_as_oom():
    # A naive 4 x 2048 x 2048 score matrix needs 64 MB; the child may allocate 16 MB more.
    row = measure_cell("attention-naive", 2048, "infer", batch=4, params=None, repeats=1,
                       warmup=0, device="cpu", kind="attention", impl="naive", d_model=32,
                       n_heads=1, memory_limit_mb=16)
    assert row.status == "oom", row
    assert row.time_ms is None


def test_timeout_is_recorded_as_timeout():
    row = measure_cell("lstm", 8, "train", batch=1, params=3_000, device="cpu", timeout_s=0.05)
    assert row.status == "timeout"
    assert "time-out" in row.error


def test_a_cell_over_the_free_memory_is_skipped_with_its_estimate(monkeypatch):
    monkeypatch.setattr(harness.system, "free_memory_mb", lambda device="cpu": 0.001)
    rep = run_bench(["tcn"], [64], modes=("infer",), **TINY)  # never spawned
    (row,) = rep.results
    assert row.status == "skipped" and row.pid is None
    assert row.estimate_mb > 0.001 and "free memory" in row.error


def test_bad_input_raises_a_clear_error():
    with pytest.raises(SeqSelectError, match="unknown model"):
        run_bench(["no-such-model"], [8], **TINY)
    with pytest.raises(SeqSelectError, match="modes"):
        run_bench(["lstm"], [8], modes=("fly",), **TINY)
    with pytest.raises(SeqSelectError, match="lengths"):
        run_bench(["lstm"], [0], **TINY)


def test_run_bench_is_a_plain_function_of_the_package():
    assert seqselect.run_bench is run_bench
    assert not callable(seqselect.bench)  # a module, not a callable-package trick
    assert seqselect.bench.fit_exponent([1, 2], [1, 2]) == pytest.approx(1.0)


def test_unknown_settings_raise():
    with pytest.raises(TypeError, match="repeat"):
        run_bench(["lstm"], [8], repeat=3, **TINY)
    with pytest.raises(TypeError, match="no_such"):
        measure_cell("lstm", 8, "infer", no_such=1)


def test_the_plain_subprocess_start_works_too(monkeypatch):
    monkeypatch.setenv("SEQSELECT_BENCH_START", "subprocess")
    row = measure_cell("tcn", 8, "infer", batch=1, params=3_000, repeats=1, warmup=0,
                       device="cpu", count_flops=False)
    assert row.status == "ok", row
    assert row.flops is None and row.pid != os.getpid()


def test_a_model_that_cannot_be_built_is_recorded_and_the_run_goes_on():
    rep = run_bench(["transformer"], [8], modes=("train",), **{**TINY, "params": 10})
    (row,) = rep.results
    assert row.status == "error" and "params" in row.error


@pytest.mark.parametrize("overrides, runs", [({}, True), ({"max_len": 16}, False)],
                         ids=["planned", "user"])
def test_fixed_length_models_run_up_to_their_instance_max_len(monkeypatch, overrides, runs):
    """Linformer's card says max_len 4096, but the plan builds it for the longest length
    asked (or the user's max_len): cells are judged against that instance."""
    settings = BenchSettings(batch=2, params=None, d_output=1, memory_check=False)
    plan = harness.plan_model("linformer", settings, overrides, [8, 5000])
    ran = []

    def fake_measure(settings, name, length, mode, **kw):
        ran.append(length)
        return BenchCell(model=name, length=length, batch=settings.batch, mode=mode,
                         status="ok")

    monkeypatch.setattr(harness, "measure_with", fake_measure)
    row = harness.run_planned_cell(plan, "train", 5000, [], settings)
    assert (row.status == "ok") is runs and (ran == [5000]) is runs
    if not runs:
        assert row.status == "unsupported" and "max_len=16" in row.error


def test_a_stream_at_a_sample_rate_reports_its_real_time_factor():
    report = run_bench(["wavenet"], [12], modes=("stream",), sample_rate=8_000,
                       **{**TINY, "params": None})
    (cell,) = report.results
    assert cell.status == "ok", cell.error
    # per-sample streaming: rtf is the row's own per-step seconds times the rate
    assert cell.sample_rate == 8_000
    # (the row keeps time_ms to 0.001 ms, the rtf unrounded)
    assert cell.rtf == pytest.approx(cell.time_ms / 1000 * 8_000, abs=0.0005e-3 * 8_000)
    assert report.settings["sample_rate"] == 8_000
    row = report.to_dict()["results"][0]
    assert row["rtf"] == cell.rtf
    plain = run_bench(["wavenet"], [12], modes=("stream",), **{**TINY, "params": None})
    assert plain.results[0].rtf is None and "rtf" not in plain.to_dict()["results"][0]
