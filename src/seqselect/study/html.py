"""A study as one self-contained HTML page: the mean ranks, the critical-difference
diagram (aeon), every pair's wins/ties/losses and Wilcoxon p-values (Holm-adjusted), the
score of every model on every dataset, and each dataset's characteristics. Every string
from the user or the data goes through :func:`html.escape`; nothing loads from the network.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from seqselect.errors import SeqSelectError
from seqselect.formatting import format_number
from seqselect.study.stats import critical_difference_png

__all__ = ["render_study_html", "write_study_html"]

_CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}h1{font-size:1.6em}
h2{font-size:1.2em;margin:28px 0 8px;border-bottom:1px solid #d5d9e0}
table{border-collapse:collapse;background:#fff;font-size:.9em;margin:6px 0}
th,td{border:1px solid #d5d9e0;padding:5px 8px;text-align:right}th{background:#eef1f5}
td.l,th.l{text-align:left}.muted{color:#5a6270;font-size:.88em}.sig{color:#2e7d32;font-weight:600}
img{max-width:100%;background:#fff;border:1px solid #d5d9e0}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _n(value: Any, digits: int = 4) -> str:
    return _e(format_number(value, digits))


def _table(head: list[str], rows: list[list[str]], cls: str) -> str:
    top = "".join(f'<th class="{"l" if i == 0 else ""}">{_e(h)}</th>' for i, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(f'<td class="{"l" if i == 0 else ""}">{c}</td>'
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f'<table class="{cls}"><tr>{top}</tr>{body}</table>'


def _ranks(doc: dict[str, Any]) -> str:
    summary = doc["summary"]
    rows = [[_e(m), _n(summary["mean_rank"][m], 3)] for m in summary["models"]]
    return _table(["model", "mean rank"], rows, "ranks")


def _pairs(doc: dict[str, Any]) -> str:
    summary = doc["summary"]
    rows = []
    for p in summary["pairs"]:
        sig = p["p_holm"] is not None and p["p_holm"] < summary["alpha"]
        mark = '<span class="sig">yes</span>' if sig else "no"
        rows.append([_e(f"{p['a']} vs {p['b']}"), _e(f"{p['wins']}/{p['ties']}/{p['losses']}"),
                     _e(p["n"]), _n(p["p"], 3), _n(p["p_holm"], 3), mark])
    head = ["pair", "wins/ties/losses", "datasets", "Wilcoxon p", "Holm p",
            f"significant at {summary['alpha']}"]
    return _table(head, rows, "pairs")


def _scores(doc: dict[str, Any]) -> str:
    models = doc["summary"]["models"]
    rows = []
    for d in doc["datasets"]:
        cells = [_e(d["dataset"])]
        for m in models:
            score, rank = d["scores"].get(m), d["ranks"].get(m)
            cells.append("-" if score is None else f"{_n(score)} ({_n(rank, 2)})")
        rows.append(cells)
    return _table(["dataset", *models], rows, "scores")


def _characteristics(doc: dict[str, Any]) -> str:
    keys = ["task", "data_type", "length", "n_train", "n_classes", "n_channels"]
    rows = [[_e(d["dataset"]), *(_n(d["characteristics"].get(k)) for k in keys)]
            for d in doc["datasets"]]
    return _table(["dataset", *keys], rows, "characteristics")


def render_study_html(doc: dict[str, Any]) -> str:
    """The page for a study (``StudyResult.to_dict()``)."""
    png = critical_difference_png(_summary_of(doc))
    figure = (f'<img alt="Critical-difference diagram" '
              f'src="data:image/png;base64,{base64.b64encode(png).decode()}">'
              if png else '<p class="muted">Critical-difference diagram: needs 3 models '
              "and 2 datasets every model has a score on.</p>")
    summary = doc["summary"]
    title = f"seqselect study: {doc['study']}"
    body = "\n".join([
        f"<h1>{_e(title)}</h1>",
        f'<p class="muted">{len(doc["datasets"])} dataset(s); ranked on the mean test '
        f"{_e(summary['metric'])} per dataset (each bake-off selected on validation only); "
        f"{len(summary['datasets'])} dataset(s) have a score for every model.</p>",
        "<h2>Mean rank</h2>", _ranks(doc),
        "<h2>Critical-difference diagram</h2>",
        '<p class="muted">aeon: models joined by a bar are not significantly different '
        "(pairwise Wilcoxon signed-rank tests, Holm correction).</p>", figure,
        "<h2>Pairs</h2>", _pairs(doc),
        "<h2>Scores (rank) per dataset</h2>", _scores(doc),
        "<h2>Dataset characteristics</h2>", _characteristics(doc),
    ])
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def _summary_of(doc: dict[str, Any]):
    from seqselect.study.stats import summarize

    s = doc["summary"]
    return summarize(s["scores"], s["metric"], s["higher_is_better"], s["alpha"])


def write_study_html(doc: dict[str, Any], path: str | Path) -> Path:
    out = Path(path)
    if out.exists() and out.is_dir():
        raise SeqSelectError(f"--html {out} is a folder; give a file name such as "
                             f"{out / 'study.html'}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_study_html(doc), encoding="utf-8")
    return out
