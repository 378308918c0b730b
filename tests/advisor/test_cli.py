"""``seqselect recommend``: flags, --json, --from, and exit code 2 on bad values."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from seqselect.advisor import recommend
from seqselect.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["recommend", *args])


def test_json_is_exactly_to_dict():
    result = run("--length", "300", "--data-type", "time-series", "--examples", "200000",
                 "--latency", "batch", "--deployment", "cloud", "--no-pretrained",
                 "--speed-critical", "--multivariate", "--batch-size", "16",
                 "--memory-gb", "4", "--json")
    assert result.exit_code == 0, result.output
    expected = recommend(seq_len=300, data_type="time-series", n_examples=200_000,
                         latency="batch", deployment="cloud", pretrained=False,
                         speed_critical=True, multivariate=True, batch_size=16,
                         memory_gb=4).to_dict()
    assert json.loads(result.stdout) == expected


def test_rich_output_has_every_part():
    result = run("--length", "5000", "--data-type", "time-series", "--examples", "20000",
                 "--memory-gb", "2")
    assert result.exit_code == 0, result.output
    for part in ("Recommended", "Avoid", "Warnings", "Pitfall 2",
                 "Checklist questions left unanswered", "[seqselect]", "longformer"):
        assert part in result.output, part


@pytest.mark.parametrize("args, allowed", [
    (["--data-type", "video"], ["text", "time-series", "audio", "other"]),
    (["--latency", "soon"], ["realtime", "batch", "offline"]),
    (["--deployment", "mars"], ["cloud", "edge", "mobile"]),
    (["--length", "0"], []),
    (["--length", "abc"], []),
    (["--examples", "-3"], []),
    (["--memory-gb", "0"], []),
    (["--batch-size", "0"], []),
])
def test_bad_values_exit_2_with_the_allowed_values(args, allowed):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for value in allowed:
        assert value in result.output


def test_from_file_fills_characteristics_and_flags_override(tmp_path):
    path = tmp_path / "series.csv"
    rows = ["id,t,x,y,label"]
    for i in range(60):
        for t in range(30 + i % 7):
            rows.append(f"{i},{t},{(i * t) % 7 / 7:.3f},{(i + t) % 5 / 5:.3f},{i % 2}")
    path.write_text("\n".join(rows) + "\n")

    result = run("--from", str(path), "--target", "label", "--json")
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert "Sequence length? (< 100 / 100-1k / > 1k)" not in d["unanswered"]
    assert "Dataset size? (< 10k / 10k-100k / > 100k)" not in d["unanswered"]
    assert d["ranked"][0]["model"] in ("tcn", "lstm")  # short, small time series

    result = run("--from", str(path), "--target", "label", "--length", "5000", "--json")
    assert result.exit_code == 0, result.output
    top = json.loads(result.stdout)["ranked"][0]["model"]
    assert top in ("longformer", "bigbird", "linformer", "performer", "s4")


def test_from_missing_file_exits_2(tmp_path):
    result = run("--from", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_measured_bench_json_replaces_estimates(tmp_path):
    report = {"environment": {}, "settings": {}, "results": [
        {"model": "tcn", "length": 300, "batch": 32, "mode": "train", "peak_mb": 123.0,
         "status": "ok"},
        {"model": "transformer", "length": 300, "batch": 32, "mode": "train",
         "peak_mb": None, "status": "oom"},
    ]}
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(report))
    result = run("--length", "300", "--data-type", "time-series", "--measured", str(path),
                 "--json")
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    tcn = next(r for r in d["ranked"] if r["model"] == "tcn")
    assert any("measured peak 129 MB" in r for r in tcn["reasons"])  # 123 MiB
    transformer = next(a for a in d["avoid"] if a["model"] == "transformer")
    assert any("measured: oom" in r for r in transformer["reasons"])


def test_measured_bad_file_exits_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for path in (bad, tmp_path / "missing.json"):
        result = run("--length", "300", "--measured", str(path))
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output


def test_from_an_audio_set_reads_it_as_a_raw_waveform():
    result = run("--from", "audio:tones?n=3&clip_seconds=0.5", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    expected = recommend(data_type="audio", seq_len=8_000, n_examples=10,  # 0.5 s at 16 kHz
                         multivariate=False).to_dict()
    assert out["ranked"] == expected["ranked"]
    names = [r["model"] for r in out["ranked"]]
    assert names[0] == "wavenet" and {"s4", "crnn", "conv_transformer"} <= set(names)
