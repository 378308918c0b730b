"""The report's leaderboard columns shared with the CLI: each network's precision (from
the row, else from its trials), peak memory, and sMAPE beside MASE for forecasting."""

from __future__ import annotations

import re

from seqselect.bakeoff.records import LeaderboardRow, Trial, Winner
from seqselect.bakeoff.result import BakeoffResult
from seqselect.report import render_html
from seqselect.report.columns import companion_metric, row_precision


def _result(metric: str, rows: list[LeaderboardRow], trials: list[Trial]) -> BakeoffResult:
    return BakeoffResult(
        run="r", dataset={"name": "d", "task": "forecast" if metric == "mase" else "classify"},
        profile={}, advisor={}, metric=metric, leaderboard=rows,
        winner=Winner(model=rows[0].model, metric=metric), trials=trials,
    )


def _forecast_rows() -> list[LeaderboardRow]:
    return [
        LeaderboardRow(model="lstm", metric="mase", value=2.58, std=0.14, val_value=2.41,
                       val_std=0.1, rank=1, status="ok", peak_mb=0.954, precision="bf16",
                       metrics={"mase": 2.58, "smape": 95.54, "mse": 0.23}),
        LeaderboardRow(model="seasonal_naive", metric="mase", value=1.71, std=0.0,
                       val_value=2.86, val_std=0.0, rank=2, status="ok", kind="baseline",
                       peak_mb=0.0, metrics={"mase": 1.71, "smape": 13.41}),
    ]


def _leaderboard(page: str) -> tuple[list[str], dict[str, list[str]]]:
    """The header texts and, per model, its cells' texts (tags stripped)."""
    table = re.search(r'<table id="leaderboard".*?</table>', page, re.S).group(0)
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", table)
    cells = {}
    for row in re.findall(r"<tr class=\"[^\"]*\">(.*?)</tr>", table, re.S):
        texts = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td.*?</td>", row)]
        cells[texts[1].replace("baseline", "").strip()] = texts
    return heads, cells


def test_forecast_report_has_smape_beside_mase_and_each_precision():
    page = render_html(_result("mase", _forecast_rows(), []))
    heads, cells = _leaderboard(page)
    test_at = heads.index("test mase")
    assert heads[test_at + 2] == "test smape (mean)"  # after the test score and its std
    smape_at, peak_at, prec_at = (heads.index(h) for h in
                                  ("test smape (mean)", "peak MB", "precision"))
    assert cells["lstm"][smape_at] == "95.54" and cells["seasonal_naive"][smape_at] == "13.41"
    assert cells["lstm"][peak_at] == "0.954" and cells["seasonal_naive"][peak_at] == "0"
    assert cells["lstm"][prec_at] == "bf16" and cells["seasonal_naive"][prec_at] == "–"
    assert len(heads) == len(cells["lstm"])  # every row has every column
    assert "Test smape (mean over seeds) is reported beside it" in page


def test_classification_report_has_no_companion_column_and_reads_old_trials():
    rows = [
        LeaderboardRow(model="tcn", metric="accuracy", value=0.9, std=0.01, val_value=0.88,
                       val_std=0.02, rank=1, status="ok", peak_mb=1.5,
                       metrics={"accuracy": 0.9}),
        LeaderboardRow(model="gru", metric="accuracy", value=0.8, std=0.01, val_value=0.78,
                       val_std=0.02, rank=2, status="ok", peak_mb=2.25,
                       metrics={"accuracy": 0.8}),
    ]
    trials = [  # a run stored before the row had its field: the trials still say
        Trial(model="tcn", seed=0, status="ok", role="refit", extra={"precision": "float32"}),
        Trial(model="gru", seed=0, status="ok", role="refit", extra={"precision": "bf16"}),
        Trial(model="gru", seed=1, status="ok", role="refit", extra={"precision": "fp32"}),
        Trial(model="gru", seed=2, status="failed", role="refit", extra={"precision": "bf16"}),
    ]
    heads, cells = _leaderboard(render_html(_result("accuracy", rows, trials)))
    assert not any("smape" in h for h in heads)
    prec_at, peak_at = heads.index("precision"), heads.index("peak MB")
    assert cells["tcn"][prec_at] == "fp32" and cells["gru"][prec_at] == "mixed"
    assert cells["gru"][peak_at] == "2.25"


def test_row_precision_prefers_the_row_and_skips_baselines():
    bf16 = LeaderboardRow(model="lstm", metric="accuracy", precision="bf16")
    fp32_trial = Trial(model="lstm", seed=0, status="ok", extra={"precision": "fp32"})
    assert row_precision(bf16, [fp32_trial]) == "bf16"
    bare = LeaderboardRow(model="lstm", metric="accuracy")
    assert row_precision(bare, [fp32_trial]) == "fp32"
    assert row_precision(bare, []) is None
    baseline = LeaderboardRow(model="minirocket", metric="accuracy", kind="baseline")
    assert row_precision(baseline, [Trial(model="minirocket", seed=0, status="ok",
                                          extra={"precision": "fp32"})]) is None


def test_companion_metric_only_when_measured():
    rows = _forecast_rows()
    assert companion_metric("mase", rows) == "smape"
    assert companion_metric("accuracy", rows) is None
    bare = [LeaderboardRow(model="lstm", metric="mase", metrics={"mase": 1.0})]
    assert companion_metric("mase", bare) is None
