"""BenchCell: the JSON row of a cell, and back."""

import json

import pytest

from seqselect.bench.records import ALWAYS_WRITTEN, ROW_KEYS, BenchCell


def test_a_cell_round_trips_through_its_json_row():
    cell = BenchCell(model="tcn", length=256, batch=8, mode="train", status="ok",
                     params=99_000, time_ms=12.5, peak_mb=40.25, flops=10**9, d_model=64,
                     device="cpu", times_ms=[12.0, 12.5, 13.0], pid=123, threads=2,
                     memory_method="peak RSS", phases_s={"setup": 0.1}, estimate_mb=50.0,
                     relative_pct=35.0)
    row = json.loads(json.dumps(cell.to_dict()))
    assert BenchCell.from_dict(row) == cell


def test_row_keys_are_always_written_and_unset_optional_keys_never():
    row = BenchCell(model="lstm", length=8, batch=2, mode="stream", status="unsupported",
                    error="no step()").to_dict()
    assert list(row)[: len(ROW_KEYS) - 1] == [k for k in ROW_KEYS if k != "status"]
    assert set(row) == {*ALWAYS_WRITTEN, "error"}
    assert {"d_model", "device", "relative_pct"} <= ALWAYS_WRITTEN
    assert row["time_ms"] is None and row["status"] == "unsupported"


def test_keys_the_record_does_not_know_are_kept():
    row = {"model": "lstm", "length": 8, "batch": 2, "mode": "train", "status": "ok",
           "time_ms": 1.0, "peak_mb": 2.0, "flops": 3, "params": 4, "from_a_newer_file": 1}
    cell = BenchCell.from_dict(row)
    assert cell.extra == {"from_a_newer_file": 1}
    assert cell.to_dict() == {**row, "d_model": None, "device": None, "relative_pct": None}


def test_the_order_of_keys_is_the_harness_order():
    row = BenchCell(model="tcn", length=8, batch=1, mode="infer", status="ok", params=3000,
                    d_model=16, device="cpu", pid=1, wall_s=0.5, estimate_mb=1.0).to_dict()
    assert list(row) == ["model", "length", "batch", "params", "mode", "time_ms", "peak_mb",
                         "flops", "d_model", "device", "status", "pid", "wall_s",
                         "estimate_mb", "relative_pct"]


def test_the_real_time_factor_is_step_seconds_times_the_rate_over_samples_per_step():
    from seqselect.bench.records import real_time_factor

    # one sample per step at 16 kHz: a 0.05 ms step is 0.8 s of work per second of audio
    assert real_time_factor(0.05, 16_000) == pytest.approx(0.05e-3 * 16_000) == 0.8
    # per frame (hop 160 = 10 ms at 16 kHz): a 2 ms step per 10 ms of audio is 0.2
    assert real_time_factor(2.0, 16_000, samples_per_step=160) == pytest.approx(0.2)
    # twice the rate doubles it; a frame of h samples divides it by h
    assert real_time_factor(1.0, 32_000) == pytest.approx(2 * real_time_factor(1.0, 16_000))
    with pytest.raises(ValueError, match="positive"):
        real_time_factor(1.0, 0)
    cell = BenchCell(model="wavenet", length=64, batch=1, mode="stream", status="ok",
                     time_ms=0.1, sample_rate=16_000, rtf=1.6)
    assert BenchCell.from_dict(json.loads(json.dumps(cell.to_dict()))) == cell
