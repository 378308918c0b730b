"""``seqselect bench`` and ``seqselect verify-claims`` through the CLI."""

import csv
import json

from typer.testing import CliRunner

from seqselect.bench import ROW_KEYS, judge
from seqselect.bench.claims import load_claims
from seqselect.bench.verify import verify_claims
from seqselect.cli import app

runner = CliRunner()


def test_bench_writes_json_and_csv(tmp_path):
    result = runner.invoke(app, [
        "bench", "--models", "tcn", "--lengths", "8", "--modes", "infer", "--batch", "1",
        "--params", "3000", "--repeats", "1", "--warmup", "0", "--device", "cpu",
        "--json", str(tmp_path / "b.json"), "--csv", str(tmp_path / "b.csv"),
    ])
    assert result.exit_code == 0, result.output
    assert "tcn" in result.output and "Scaling exponents" in result.output
    data = json.loads((tmp_path / "b.json").read_text())
    assert [r["status"] for r in data["results"]] == ["ok"]
    assert set(ROW_KEYS) <= set(data["results"][0])
    with (tmp_path / "b.csv").open() as f:
        assert len(list(csv.DictReader(f))) == 1


def test_bench_bad_model_exits_2():
    result = runner.invoke(app, ["bench", "--models", "lstmm", "--lengths", "8"])
    assert result.exit_code == 2
    assert "unknown model" in result.output


def test_verify_claims_lists_claims():
    result = runner.invoke(app, ["verify-claims", "--list"])
    assert result.exit_code == 0, result.output
    assert "train-speed-tcn" in result.output


def test_verify_claims_runs_a_small_claims_document(monkeypatch, tmp_path):
    monkeypatch.setattr(judge, "BUSY_LOAD", 1e9)  # judge timings even on a busy test machine
    data = load_claims()
    data["settings"]["quick"].update(batch=1, params=3000, repeats=1, warmup=0,
                                     length_scale=0.01)
    data["claims"] = [c for c in data["claims"]
                      if c["id"] in ("tcn-2-3x-train", "attention-arithmetic-1000")]
    cache = tmp_path / "cells.jsonl"
    report = verify_claims(quick=True, claims=data, device="cpu", progress=False, cache=cache)
    verdicts = {c["id"]: c for c in report.claims}
    assert verdicts["attention-arithmetic-1000"]["verdict"] == "holds"
    speed = verdicts["tcn-2-3x-train"]
    assert speed["verdict"] in ("holds", "does-not-hold")  # both cells ran
    assert speed["measured"] > 0 and "quick" in speed["why"]
    assert "QUICK" in report.settings["description"]
    assert {c.model for c in report.cells} == {"lstm", "tcn"}
    md = report.to_markdown()
    assert "tcn-2-3x" not in md and "TCN trains 2-3x faster" in md
    # Started again with the same cache, nothing runs again: the same rows come back.
    again = verify_claims(quick=True, claims=data, device="cpu", progress=False, cache=cache)
    assert [c.pid for c in again.cells] == [c.pid for c in report.cells]
    assert again.claims == report.claims


def test_bench_sample_rate_adds_the_rtf_column(tmp_path):
    out = tmp_path / "bench.json"
    result = runner.invoke(app, [
        "bench", "--models", "tcn", "--lengths", "8", "--batch", "1", "--params", "0",
        "--modes", "stream", "--repeats", "1", "--warmup", "0", "--no-flops",
        "--sample-rate", "16000", "--json", str(out),
    ])
    assert result.exit_code == 0, result.output
    assert "RTF" in result.output and "16,000 Hz" in result.output
    (row,) = json.loads(out.read_text())["results"]
    assert row["sample_rate"] == 16_000 and row["rtf"] > 0
