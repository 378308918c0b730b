"""The CLI leaderboard's new columns (peak memory, bf16, sMAPE beside MASE) within 80
columns, and the per-trial progress line naming the run's ranking metric."""

from __future__ import annotations

from rich.console import Console

from seqselect.bakeoff.records import LeaderboardRow, Trial, Winner
from seqselect.bakeoff.result import BakeoffResult
from seqselect.cli import bakeoff as bakeoff_cli


def _row(model: str, rank: int, val: float, test: float, **kw) -> LeaderboardRow:
    metric = kw.pop("metric", "accuracy")
    return LeaderboardRow(
        model=model, metric=metric, value=test, std=kw.pop("std", 0.004), n_seeds=3,
        val_value=val, val_std=kw.pop("val_std", 0.0112), n_val=15, status="ok", rank=rank,
        **kw,
    )


def _classification() -> BakeoffResult:
    """A typical 6-row run: three baselines (the longest names), three networks, one in
    bf16 on the row, one whose seeds differed (read from its trials: no row field)."""
    rows = [
        _row("minirocket", 1, 0.98, 0.9867, kind="baseline", train_s=0.91, latency_ms=0.412,
             peak_mb=78.32),
        _row("multirocket_hydra", 2, 0.975, 0.9844, kind="baseline", train_s=3.91,
             latency_ms=1.412, peak_mb=1234.5),
        _row("lstm", 3, 0.96, 0.9711, train_s=13.8, latency_ms=0.78, peak_mb=0.929,
             params=19_700, precision="bf16"),
        _row("tcn", 4, 0.95, 0.9580, train_s=12.1, latency_ms=0.479, peak_mb=0.859,
             params=19_400, precision="fp32", n_diverged=1),
        _row("cnn1d", 5, 0.94, 0.9708, train_s=11.7, latency_ms=0.181, peak_mb=1.136,
             params=20_100),
        _row("majority", 6, 0.5, 0.4985, kind="baseline", train_s=4e-5, latency_ms=3.7e-6,
             peak_mb=0.0),
    ]
    trials = [
        Trial(model="cnn1d", seed=s, status="ok", role="refit", extra={"precision": p})
        for s, p in enumerate(("bf16", "fp32", "float32"))
    ]
    winner = Winner(model="minirocket", metric="accuracy", kind="baseline")
    return BakeoffResult(
        run="ucr-ItalyPowerDemand-1", dataset={"name": "ucr:ItalyPowerDemand"}, profile={},
        advisor={}, metric="accuracy", leaderboard=rows, winner=winner, trials=trials,
    )


def _forecast() -> BakeoffResult:
    """A forecasting run ranked by MASE, every row with its test sMAPE mean."""
    specs = (
        ("lstm", 2.412, 2.582, 95.54, "bf16", 19_600, 0.954),
        ("cnn1d", 2.748, 2.691, 99.49, "fp32", 20_400, 1.247),
        ("seasonal_naive", 2.858, 1.710, 13.41, None, None, 0.0),
        ("tcn", 3.330, 2.811, 99.08, "fp32", 19_700, 1.013),
        ("auto_ets", 5.627, 5.250, 128.48, None, None, 0.0),
    )
    rows = [
        _row(model, rank, val, test, metric="mase", std=0.143, val_std=0.098,
             kind="network" if precision else "baseline", precision=precision,
             params=params, peak_mb=peak, train_s=1.1, latency_ms=0.366,
             metrics={"mase": test, "smape": smape, "mse": 0.2, "n": 46.0})
        for rank, (model, val, test, smape, precision, params, peak) in enumerate(specs, 1)
    ]
    return BakeoffResult(
        run="forecast-Solar-1", dataset={"name": "forecast:Solar"}, profile={}, advisor={},
        metric="mase", leaderboard=rows, winner=Winner(model="lstm", metric="mase"), trials=[],
    )


def _render(result: BakeoffResult) -> list[str]:
    screen = Console(width=80, record=True, color_system=None)
    screen.print(bakeoff_cli.leaderboard_table(result))
    return screen.export_text().splitlines()


def _line(lines: list[str], rank: int, model: str) -> str:
    return next(line for line in lines if line.startswith(f"{rank} {model} "))


def _note(lines: list[str], rank: int, model: str) -> str:
    """The row's note, with the lines it wrapped onto (until the next row)."""
    start = lines.index(_line(lines, rank, model))
    note_at = next(line for line in lines if " note" in line).index("note")
    parts = [lines[start][note_at:]]
    for line in lines[start + 1:]:
        if line[:note_at].strip():  # the next row (or the caption) begins
            break
        parts.append(line[note_at:])
    return " ".join(p.strip() for p in parts if p.strip())


def test_classification_leaderboard_fits_80_columns_with_peak_memory_and_bf16():
    result = _classification()
    lines = _render(result)
    text = "\n".join(lines)
    assert max(len(line) for line in lines) <= 80
    assert "…" not in text  # no column was cut to fit
    header = "\n".join(lines[:4])
    assert "peak" in header and "MB" in header and "sMAPE" not in text
    peaks = {"minirocket": "78.3", "multirocket_hydra": "1,234", "lstm": "0.93",
             "tcn": "0.86", "cnn1d": "1.14", "majority": "0"}
    for row in result.leaderboard:
        line = _line(lines, row.rank, row.model)
        assert f"{row.val_value:.3f}±{row.val_std:.3f}" in line
        assert f"{row.value:.3f}±{row.std:.3f}" in line
        assert f" {peaks[row.model]} " in line, (row.model, line)
    assert _note(lines, 3, "lstm") == "bf16"
    assert "bf16" not in _note(lines, 4, "tcn") and "1 diverged" in _note(lines, 4, "tcn")
    assert _note(lines, 5, "cnn1d") == "bf16/fp32"  # from its trials: bf16, fp32, float32
    assert _note(lines, 1, "minirocket") == "baseline, winner"
    assert _note(lines, 2, "multirocket_hydra") == "baseline"
    flat = " ".join(line.strip() for line in lines)
    assert "bf16: trained in bfloat16 (other networks in float32)" in flat


def test_no_bf16_row_means_no_bf16_note_or_caption():
    result = _classification()
    result.leaderboard = [r for r in result.leaderboard if r.model in ("tcn", "majority")]
    text = "\n".join(_render(result))
    assert "bf16" not in text and "bfloat16" not in text


def test_forecast_leaderboard_shows_smape_beside_mase_within_80_columns():
    result = _forecast()
    lines = _render(result)
    text = "\n".join(lines)
    assert max(len(line) for line in lines) <= 80 and "…" not in text
    header = next(line for line in lines if "validation" in line and "test" in line)
    assert header.index("test") < header.index("sMAPE") < header.index(" s ")
    expected = {"lstm": "95.5", "cnn1d": "99.5", "seasonal_naive": "13.4", "tcn": "99.1",
                "auto_ets": "128"}
    for row in result.leaderboard:
        line = _line(lines, row.rank, row.model)
        after_test = line.split(f"{row.value:.3f}±{row.std:.3f}", 1)[1]
        assert after_test.split()[0] == expected[row.model], line
    assert "bf16" in _note(lines, 1, "lstm") and "baseline" in _note(lines, 3, "seasonal_naive")
    flat = " ".join(line.strip() for line in lines)
    assert "test sMAPE: mean over seeds" in flat


def test_trial_line_names_the_ranking_metric_on_validation_and_test():
    forecast = Trial(model="lstm", seed=0, status="ok", role="trial",
                     metrics={"mse": 0.23, "mae": 0.36, "mase": 2.582, "smape": 95.5},
                     val_metrics={"mse": 0.2, "mase": 2.412})
    line = bakeoff_cli._trial_line(forecast)
    assert line.endswith("seed 0: ok, mase validation 2.412, test 2.582")
    assert "mse" not in line
    fold = Trial(model="tcn", seed=1, status="ok", role="fold", fold=1,
                 metrics={"accuracy": 0.9, "cross_entropy": 0.3})
    assert bakeoff_cli._trial_line(fold).endswith("seed 1 fold 1: ok, accuracy validation 0.9")
    refit = Trial(model="gru", seed=2, status="ok", role="refit", metrics={"mse": 0.125})
    assert bakeoff_cli._trial_line(refit).endswith("seed 2: ok, mse test 0.125")
    failed = Trial(model="s4", seed=0, status="failed", error="RuntimeError: out of memory")
    assert bakeoff_cli._trial_line(failed).endswith(": failed (RuntimeError: out of memory)")
