"""The HTML report: self-contained, every user string escaped, and rendered in headless
Chromium with the leaderboard visible and no console errors (a screenshot is saved)."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from seqselect.report import render_html, write_html

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
EVIL = '<script>alert("x")</script>&"\'$x$'


def _doc() -> dict:
    """A bake-off document as BakeoffResult.to_dict() gives it, with hostile names."""
    trials = []
    for model, accs, lat in (
        ("tcn", (0.9, 0.92), 2.0),
        ("lstm", (0.85, 0.88), 5.0),
        ("transformer", (None, None), None),
        ("minirocket", (0.95, 0.95), 0.5),
    ):
        for seed, acc in enumerate(accs):
            ok = acc is not None
            trials.append(
                {
                    "model": model,
                    "seed": seed,
                    "status": "ok" if ok else "failed",
                    "metrics": {"accuracy": acc} if ok else {},
                    "val_metrics": {"accuracy": acc - 0.02} if ok else {},
                    "kind": "baseline" if model == "minirocket" else "network",
                    "role": "refit",
                    "train_s": 3.0 if ok else None,
                    "latency_ms": lat,
                    "batch_latency_ms": lat and lat * 3,
                    "step_latency_ms": 0.2 if model == "lstm" else None,
                    "peak_mb": 1.5 if ok else None,
                    "params": 5000,
                    "error": None if ok else f"RuntimeError: {EVIL}",
                    "history": [
                        {
                            "step": s,
                            "elapsed_s": s * 0.5,
                            "train_loss": 1 / (s + 1),
                            "val_loss": 1 / (s + 2),
                            "val_metric": 0.5 + s / 20,
                        }
                        for s in range(6)
                    ]
                    if ok
                    else [],
                    "extra": {"epochs": 3, "steps": 30},
                }
            )
    board = [
        {
            "model": "minirocket",
            "kind": "baseline",
            "val_accuracy": 0.93,
            "val_accuracy_std": 0.0,
            "n_val": 2,
            "accuracy": 0.95,
            "accuracy_std": 0.0,
            "n_seeds": 2,
            "train_s": 0.8,
            "latency_ms": 0.5,
            "batch_latency_ms": 1.5,
            "step_latency_ms": None,
            "peak_mb": 3.0,
            "params": None,
            "status": "ok",
            "rank": 1,
            "errors": [],
        },
        {
            "model": "tcn",
            "kind": "network",
            "val_accuracy": 0.89,
            "val_accuracy_std": 0.014,
            "n_val": 2,
            "accuracy": 0.91,
            "accuracy_std": 0.014,
            "n_seeds": 2,
            "train_s": 3.0,
            "latency_ms": 2.0,
            "batch_latency_ms": 6.0,
            "step_latency_ms": None,
            "peak_mb": 1.5,
            "params": 5000,
            "status": "ok",
            "rank": 2,
            "best_seed": 1,
            "errors": [],
        },
        {
            "model": "lstm",
            "kind": "network",
            "val_accuracy": 0.845,
            "val_accuracy_std": 0.02,
            "n_val": 2,
            "accuracy": 0.865,
            "accuracy_std": 0.02,
            "n_seeds": 2,
            "train_s": 3.0,
            "latency_ms": 5.0,
            "batch_latency_ms": 15.0,
            "step_latency_ms": 0.2,
            "peak_mb": 1.5,
            "params": 5000,
            "status": "ok",
            "rank": 3,
            "errors": [],
        },
        {
            "model": "transformer",
            "accuracy": None,
            "accuracy_std": None,
            "n_seeds": 0,
            "train_s": None,
            "latency_ms": None,
            "batch_latency_ms": None,
            "step_latency_ms": None,
            "peak_mb": None,
            "params": 5000,
            "status": "failed",
            "rank": None,
            "errors": [f"RuntimeError: {EVIL}"],
        },
    ]
    return {
        "run": f"run {EVIL}",
        "dataset": {
            "name": f"data {EVIL}.csv",
            "task": "classify",
            "n_train": 80,
            "n_val": 20,
            "n_test": 40,
        },
        "profile": {
            "name": f"data {EVIL}.csv",
            "columns": [EVIL],
            "class_balance": {EVIL: 0.5, "b": 0.5},
        },
        "advisor": {
            "pick": "lstm",
            "shortlist": ["tcn", "lstm", "transformer"],
            "mode": "auto",
            "baseline": "lstm",
            "ranked": [{"model": "tcn", "score": 5, "reasons": [f"because {EVIL}"]}],
            "avoid": [],
            "warnings": [EVIL],
        },
        "metric": "accuracy",
        "leaderboard": board,
        "winner": {
            "model": "minirocket",
            "kind": "baseline",
            "accuracy": 0.95,
            "accuracy_std": 0.0,
            "val_accuracy": 0.93,
            "val_accuracy_std": 0.0,
            "latency_ms": 0.5,
            "peak_mb": 3.0,
            "params": None,
            "seed": 0,
            "best_network": "tcn",
            "runner_up": "tcn",
            "comparison": {
                "metric": "accuracy", "difference": 0.04, "ci_low": -0.0125, "ci_high": 0.0875,
                "p_value": 0.2, "method": "paired bootstrap", "n": 40, "tied": True,
                "value_a": 0.95, "value_b": 0.91, "confidence": 0.95, "n_boot": 2000,
                "n_seeds_a": 2, "n_seeds_b": 2,
            },
            "reasons": [f"a non-deep model wins on this data {EVIL}"],
            "excluded": {"transformer": f"no usable trial ({EVIL})"},
            "agrees_with_advisor": False,
            "advisor_pick": "lstm",
            "constraints": {"max_latency_ms": None},
        },
        "trials": trials,
        "timing": {
            "budget_s": 10,
            "setup_s": 1.0,
            "trials_s": 9.5,
            "within_budget": True,
            "tolerance": 0.1,
            "share_s": 1.6,
            "trials_run": 6,
            "trials_resumed": 0,
        },
        "environment": {
            "torch": "2.x",
            "device": "cpu",
            "cores": 2,
            "threads_per_trial": 1,
            "cpu": EVIL,
        },
        "args": {"seeds": 2, "budget_s": 10},
        "protocol": {"kind": "cv", "n_folds": 5, "n_pool": 80, "n_val": 16,
                     "reason": f"80 training sequences {EVIL}"},
        "store": f"/tmp/{EVIL}/runs.db",
        "bench": [
            {
                "model": m,
                "length": n,
                "mode": "infer",
                "status": "ok",
                "ms": n * k / 100,
                "peak_mb": n * k / 50,
            }
            for m, k in (("tcn", 1), ("transformer", 3))
            for n in (64, 128, 256)
        ],
    }


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(_doc())


def test_every_user_string_is_escaped(page):
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    # The only script is the page's own table sorter, and nothing is fetched from outside.
    assert page.count("<script>") == 1
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)


def test_leaderboard_shows_validation_and_test_and_marks_baselines(page):
    table = re.search(r'<table id="leaderboard".*?</table>', page, re.S).group(0)
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", table)
    assert heads.index("validation accuracy") < heads.index("test accuracy")
    rows = re.findall(r"<tr class=\"([^\"]*)\">(.*?)</tr>", table, re.S)
    by_model = {re.search(r'<td class="l">([^<]*)', cells).group(1).strip(): (cls, cells)
                for cls, cells in rows}
    cls, cells = by_model["minirocket"]
    assert "baseline" in cls and "win" in cls and '<span class="mark">baseline</span>' in cells
    values = re.findall(r'data-v="([^"]*)"', by_model["tcn"][1])
    assert values[:6] == ["2", "0.89", "0.014", "2", "0.91", "0.014"]  # rank, val, test
    assert "baseline" not in by_model["tcn"][0]


def test_verdict_shows_the_interval_and_the_protocol_is_stated(page):
    verdict = page[page.index('class="card verdict"'):page.index('id="protocol"')]
    assert "(baseline, not a network)" in verdict
    assert "95% paired bootstrap interval -0.0125 to 0.0875" in verdict
    assert "statistically tied" in verdict
    assert "Exported (with --export): tcn at seed 1" in verdict
    protocol = page[page.index('id="protocol"'):page.index("<h2>Leaderboard")]
    assert "5-fold cross-validation inside the 80 training sequences" in protocol
    assert "What selects" in protocol and "What the test split is for" in protocol
    assert "&lt;script&gt;" in protocol  # the reason is escaped too
    legacy = copy.deepcopy(_doc())
    del legacy["protocol"]
    assert "protocol not recorded" in render_html(legacy)


def test_report_sections_are_present(page):
    for heading in (
        "Protocol",
        "Leaderboard",
        "Pareto",
        "Spread over seeds",
        "Learning curves",
        "Data profile",
        "The advisor",
        "Benchmark scaling",
        "Environment",
        "Time against the budget",
    ):
        assert heading in page, heading
    assert page.count("data:image/png;base64,") == 4  # pareto, spread, curves, scaling
    assert "3 networks + 1 baseline(s) × 2 seeds" in page
    no_bench = copy.deepcopy(_doc())
    no_bench["bench"] = []
    no_bench["trials"] = []  # (and no curves: the page says so instead of a figure)
    lean = render_html(no_bench)
    assert "Benchmark scaling" not in lean and "Learning curves: nothing to plot" in lean


def _chromium() -> Path | None:
    if CHROMIUM.exists():
        return CHROMIUM
    script = ROOT / "scripts" / "install-debian-packages.sh"
    try:  # it may fail for another package; what matters here is whether Chromium is there
        subprocess.run(["bash", str(script)], check=False, timeout=600, capture_output=True)
    except (subprocess.SubprocessError, OSError):
        return None
    return CHROMIUM if CHROMIUM.exists() else None


@pytest.fixture(scope="module")
def chromium():
    path = _chromium()
    if path is None:
        pytest.skip(
            "Chromium is not installed and scripts/install-debian-packages.sh could not install it"
        )
    return path


def _browser(chromium: Path, tmp_path: Path, *args: str, url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(chromium),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


def test_write_html_refuses_a_folder(tmp_path):
    from seqselect.errors import SeqSelectError

    with pytest.raises(SeqSelectError, match="is a folder"):
        write_html({"run": "x", "leaderboard": [], "trials": []}, tmp_path)


def test_report_renders_in_chromium(chromium, tmp_path, request, page):
    # An error handler that turns any script error into the page title, read back from the DOM.
    html = page.replace(
        "<head>",
        "<head><script>window.onerror=function(m){document.title='JSERROR '+m};</script>",
        1,
    )
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    url = path.as_uri()
    dom = _browser(chromium, tmp_path, "--dump-dom", "--virtual-time-budget=3000", url=url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'id="leaderboard"' in dom.stdout and ">tcn<" in dom.stdout and ">lstm<" in dom.stdout
    assert "<title>JSERROR" not in dom.stdout, re.search(r"<title>[^<]*", dom.stdout).group(0)
    assert "<script>alert" not in dom.stdout
    assert not _console_errors(dom.stderr), _console_errors(dom.stderr)
    shot = tmp_path / "report.png"
    result = _browser(
        chromium,
        tmp_path,
        f"--screenshot={shot}",
        "--window-size=1200,1600",
        "--hide-scrollbars",
        url=url,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.is_file() and shot.stat().st_size > 20_000
    assert not _console_errors(result.stderr), _console_errors(result.stderr)
    keep = request.config.getoption("--basetemp", None)
    if keep:  # pragma: no cover - for a person looking at the page
        shutil.copy(shot, Path(keep) / "report.png")
