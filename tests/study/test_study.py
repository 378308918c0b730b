"""``seqselect study`` end to end on two tiny CSVs: bake-offs stored and resumed, the
summary and characteristics in the store, JSON, the Rich tables, and the HTML page in
headless Chromium."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seqselect.cli import app
from seqselect.study import run_study
from seqselect.study.store import StudyStore

CHROMIUM = Path("/usr/bin/chromium")
# three rows per dataset (aeon's diagram needs three models): two networks, one baseline
FLAGS = dict(models="cnn1d,gru", seeds=1, params=2000, cpus_per_trial=1, baselines="majority",
             target="label")


@pytest.fixture(scope="module")
def study(tmp_path_factory, two_csvs):
    store = tmp_path_factory.mktemp("study") / "runs.db"
    events: list[tuple[str, str]] = []
    result = run_study(two_csvs, name="s1", budget_per_dataset="6s", store=store,
                       on_event=lambda kind, p: events.append((kind, p["dataset"])), **FLAGS)
    return {"result": result, "store": store, "events": events, "csvs": two_csvs}


def test_one_bakeoff_per_dataset_and_the_rows_in_the_store(study):
    result, store = study["result"], study["store"]
    assert [k for k, _ in study["events"]].count("dataset_done") == 2
    rows = StudyStore(store).rows("s1")
    assert [r.dataset for r in rows] == study["csvs"]
    for row in rows:
        assert set(row.scores) == {"cnn1d", "gru", "majority"}
        assert sum(row.ranks.values()) == pytest.approx(6.0)  # 1 + 2 + 3, ties averaged
        assert row.ranks["majority"] == 3.0  # chance on balanced ramps
        assert row.characteristics["length"] in (16, 24)
        assert row.characteristics["task"] == "classify"
    assert set(result.summary.models) == {"cnn1d", "gru", "majority"}
    assert result.summary.models[-1] == "majority"
    assert sum(result.summary.mean_rank.values()) == pytest.approx(6.0)


def test_a_finished_study_is_read_back_not_rerun(study):
    con = sqlite3.connect(study["store"])
    before = con.execute("SELECT name, created, finished FROM runs ORDER BY name").fetchall()
    events: list[str] = []
    again = run_study(study["csvs"], name="s1", budget_per_dataset="6s", store=study["store"],
                      on_event=lambda kind, p: events.append(kind), **FLAGS)
    after = con.execute("SELECT name, created, finished FROM runs ORDER BY name").fetchall()
    con.close()
    assert events == ["dataset_kept", "dataset_kept"]
    assert before == after
    assert again.summary.mean_rank == study["result"].summary.mean_rank


def test_cli_json_table_and_html(study, tmp_path):
    html = tmp_path / "study.html"
    args = ["study", *study["csvs"], "--name", "s1", "--store", str(study["store"]),
            "--budget-per-dataset", "6s", "--models", "cnn1d,gru", "--seeds", "1",
            "--params", "2000", "--target", "label", "--baselines", "majority", "-q"]
    runner = CliRunner()
    out = runner.invoke(app, [*args, "--json", "-"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["summary"]["metric"] == "accuracy" and len(doc["datasets"]) == 2
    shown = runner.invoke(app, [*args, "--html", str(html)], terminal_width=80)
    assert shown.exit_code == 0, shown.output
    assert "mean rank" in shown.stdout and "cnn1d vs gru" in shown.stdout
    assert max(len(line) for line in shown.stdout.splitlines()) <= 80
    page = html.read_text()
    for section in ("Mean rank", "Critical-difference diagram", "Pairs", "Dataset characteristics"):
        assert section in page
    assert "data:image/png;base64," in page  # aeon's diagram: 3 models x 2 datasets
    _check_in_chromium(html, tmp_path)


def test_bad_input_is_one_clear_message(tmp_path):
    runner = CliRunner()
    out = runner.invoke(app, ["study", "a.csv", "a.csv", "--store", str(tmp_path / "r.db")])
    assert out.exit_code == 2 and "given twice" in out.output


def _check_in_chromium(html: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (scripts/install-debian-packages.sh)")
    page = html.read_text().replace(
        "<head>", "<head><script>window.onerror=function(m){document.title='JSERROR '+m};"
        "</script>", 1)
    html.write_text(page)
    dom = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         "--virtual-time-budget=3000", html.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<title>JSERROR" not in dom.stdout, re.search(r"<title>[^<]*", dom.stdout)
    assert 'class="ranks"' in dom.stdout and 'class="pairs"' in dom.stdout
    assert re.search(r'<img alt="Critical-difference diagram" src="data:image/png', dom.stdout)


def test_recommend_reads_the_studys_evidence(study):
    args = ["recommend", "--from", study["csvs"][0], "--target", "label",
            "--measured", str(study["store"]), "--json"]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    measured = json.loads(out.stdout)["measured"]
    # both studied datasets: same type, lengths 16 and 24, 64 training rows each
    assert measured["n_datasets"] == 2 and measured["n_stored"] == 2
    assert measured["models"][-1]["model"] == "majority"
    assert {m["model"] for m in measured["models"]} == {"cnn1d", "gru", "majority"}


@pytest.mark.slow
def test_a_partial_study_resumes_with_the_datasets_left(study):
    store, csvs = study["store"], study["csvs"]
    run_study(csvs[:1], name="part", budget_per_dataset="5s", store=store, **FLAGS)
    events: list[tuple[str, str]] = []
    result = run_study(csvs, name="part", budget_per_dataset="5s", store=store,
                       on_event=lambda kind, p: events.append((kind, p["dataset"])), **FLAGS)
    assert events == [("dataset_kept", csvs[0]), ("dataset_start", csvs[1]),
                      ("dataset_done", csvs[1])]
    assert [r.dataset for r in result.rows] == csvs
