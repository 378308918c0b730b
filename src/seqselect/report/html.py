"""A bake-off as one self-contained HTML page (inline CSS, figures as base64 PNG).

Sections: the verdict (winner, reasons, the advisor beside it), the leaderboard, the
accuracy-vs-latency Pareto plot, the spread over seeds, learning curves, every trial, the
data profile, the advisor's reasoning, benchmark scaling (when the run has cells), the
timing against the budget, and the environment.

Every string that comes from the user or the data (run, dataset, column, class and model
names, error messages) goes through :func:`html.escape`; the page loads nothing from the
network.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

from seqselect.report import plots

__all__ = ["render_html", "write_html"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.2em;margin:28px 0 8px;border-bottom:1px solid #d5d9e0;padding-bottom:4px}
.sub{color:#5a6270;margin:0 0 16px}
.card{background:#fff;border:1px solid #d5d9e0;border-radius:8px;padding:14px 18px;margin:10px 0}
.verdict{border-left:6px solid #2e7d32}.verdict.none{border-left-color:#c62828}
.agree{color:#2e7d32;font-weight:600}.disagree{color:#b26a00;font-weight:600}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9em}
th,td{border:1px solid #d5d9e0;padding:5px 8px;text-align:right;vertical-align:top}
th{background:#eef1f5;cursor:pointer;user-select:none}td.l,th.l{text-align:left}
tr.win td{background:#e8f5e9;font-weight:600}tr.bad td{color:#8a8f98}
.kv td:first-child{text-align:left;color:#5a6270;width:32%}.kv td{text-align:left}
img{max-width:100%;height:auto;background:#fff;border:1px solid #d5d9e0;border-radius:6px}
.muted{color:#5a6270;font-size:.88em}.err{color:#c62828}
ul{margin:6px 0 6px 20px;padding:0}li{margin:2px 0}
code{background:#eef1f5;padding:1px 4px;border-radius:3px}
"""

# Click a column header to sort the table; no network, no framework.
_JS = """
document.querySelectorAll('table.sortable th').forEach(function(th, i){
  th.addEventListener('click', function(){
    var table = th.closest('table'), body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var dir = th.dataset.dir === 'asc' ? -1 : 1; th.dataset.dir = dir === 1 ? 'asc' : 'desc';
    rows.sort(function(a, b){
      var x = a.cells[i].dataset.v !== undefined ? a.cells[i].dataset.v : a.cells[i].textContent;
      var y = b.cells[i].dataset.v !== undefined ? b.cells[i].dataset.v : b.cells[i].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      if (!isNaN(nx) && !isNaN(ny)) return dir * (nx - ny);
      return dir * String(x).localeCompare(String(y));
    });
    rows.forEach(function(r){ body.appendChild(r); });
  });
});
"""


def e(value: Any) -> str:
    """Escaped text for HTML (quotes too, for attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return e(value)
        return f"{value:.{digits}g}" if abs(value) < 1e5 else f"{value:,.0f}"
    return e(value)


def _cell(value: Any, digits: int = 4, cls: str = "") -> str:
    sort = f' data-v="{e(value)}"' if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
    klass = f' class="{cls}"' if cls else ""
    return f"<td{klass}{sort}>{_num(value, digits)}</td>"


def _img(png: bytes | None, alt: str) -> str:
    if not png:
        return f'<p class="muted">{e(alt)}: nothing to plot.</p>'
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{e(alt)}" src="data:image/png;base64,{data}">'


def _kv(items: dict[str, Any]) -> str:
    rows = []
    for key, value in items.items():
        if isinstance(value, (dict, list)):
            text = f"<code>{e(json.dumps(value, default=str))}</code>"
        else:
            text = _num(value) if isinstance(value, (int, float)) else e(value)
        rows.append(f"<tr><td>{e(key)}</td><td>{text}</td></tr>")
    return f'<table class="kv">{"".join(rows)}</table>'


def _higher_better(metric: str) -> bool:
    from seqselect.bakeoff.runner import higher_is_better

    return higher_is_better(metric)


def _verdict(doc: dict[str, Any]) -> str:
    w = doc.get("winner") or {}
    metric = doc.get("metric", "accuracy")
    adv = doc.get("advisor") or {}
    pick = adv.get("pick")
    if not w.get("model"):
        reasons = "".join(f"<li>{e(r)}</li>" for r in w.get("reasons", []))
        return f'<div class="card verdict none"><h2 style="border:0;margin:0">No winner</h2><ul>{reasons}</ul></div>'
    agree = w.get("agrees_with_advisor")
    if agree is None:
        relation = '<span class="muted">the advisor gave no pick</span>'
    elif agree:
        relation = f'<span class="agree">agrees with the advisor\'s pick ({e(pick)})</span>'
    else:
        relation = f'<span class="disagree">differs from the advisor\'s pick ({e(pick)})</span>'
    reasons = "".join(f"<li>{e(r)}</li>" for r in w.get("reasons", []))
    return (
        f'<div class="card verdict"><div class="muted">Winner</div>'
        f'<div style="font-size:1.5em;font-weight:700" id="winner">{e(w["model"])}</div>'
        f"<div>{e(metric)} {_num(w.get(metric))} ± {_num(w.get(metric + '_std'), 2)} · latency "
        f"{_num(w.get('latency_ms'), 3)} ms · peak {_num(w.get('peak_mb'), 3)} MB · "
        f"{_num(w.get('params'))} parameters · seed {e(w.get('seed'))} — {relation}</div>"
        f"<ul>{reasons}</ul></div>"
    )


def _leaderboard(doc: dict[str, Any]) -> str:
    metric = doc.get("metric", "accuracy")
    winner = (doc.get("winner") or {}).get("model")
    excluded = (doc.get("winner") or {}).get("excluded", {})
    head = [
        ("rank", ""), ("model", "l"), (f"{metric} mean", ""), ("± std", ""), ("seeds", ""),
        ("train s", ""), ("latency ms (1 seq)", ""), ("batch ms", ""), ("step ms", ""),
        ("peak MB", ""), ("params", ""), ("status", "l"),
    ]
    ths = "".join(f'<th class="{c}">{e(h)}</th>' for h, c in head)
    rows = []
    for r in doc.get("leaderboard", []):
        status = r.get("status", "")
        if r["model"] in excluded and r.get(metric) is not None:
            status = f"excluded: {excluded[r['model']]}"
        elif r.get("errors"):
            status = f"{status}: {r['errors'][0]}"
        cls = "win" if r["model"] == winner else ("bad" if r.get(metric) is None or r["model"] in excluded else "")
        rows.append(
            f'<tr class="{cls}">{_cell(r.get("rank"))}<td class="l">{e(r["model"])}</td>'
            f"{_cell(r.get(metric))}{_cell(r.get(metric + '_std'), 2)}{_cell(r.get('n_seeds'))}"
            f"{_cell(r.get('train_s'), 3)}{_cell(r.get('latency_ms'), 3)}{_cell(r.get('batch_latency_ms'), 3)}"
            f"{_cell(r.get('step_latency_ms'), 3)}{_cell(r.get('peak_mb'), 3)}{_cell(r.get('params'))}"
            f'<td class="l">{e(status)}</td></tr>'
        )
    return (
        f'<table id="leaderboard" class="sortable"><thead><tr>{ths}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
        f'<p class="muted">{e(metric)}: mean over seeds on the whole test set '
        f"({'higher' if _higher_better(metric) else 'lower'} is better). Latency: median forward time for one "
        "sequence; batch: for a batch of 32; step: one streaming step (causal streaming models only). "
        "Peak MB: weights plus the peak memory growth of a batch-32 forward. Click a header to sort."
        + (" Regression errors are on standardised targets (training mean 0, std 1)."
           if ((doc.get("dataset") or {}).get("input") or {}).get("target_normalization") else "")
        + "</p>"
    )


def _trials(doc: dict[str, Any]) -> str:
    metric = doc.get("metric", "accuracy")
    rows = []
    for t in doc.get("trials", []):
        err = t.get("error") or ""
        rows.append(
            f'<tr><td class="l">{e(t["model"])}</td>{_cell(t.get("seed"))}<td class="l">{e(t.get("status"))}</td>'
            f"{_cell((t.get('metrics') or {}).get(metric))}{_cell(t.get('train_s'), 3)}"
            f"{_cell((t.get('extra') or {}).get('epochs'))}{_cell((t.get('extra') or {}).get('steps'))}"
            f"{_cell(t.get('latency_ms'), 3)}{_cell(t.get('peak_mb'), 3)}{_cell(t.get('params'))}"
            f'<td class="l err">{e(err)}</td></tr>'
        )
    head = ["model", "seed", "status", metric, "train s", "epochs", "steps", "latency ms", "peak MB", "params", "error"]
    ths = "".join(f'<th class="{"l" if h in ("model", "status", "error") else ""}">{e(h)}</th>' for h in head)
    return f'<table id="trials" class="sortable"><thead><tr>{ths}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _advisor(doc: dict[str, Any]) -> str:
    adv = doc.get("advisor") or {}
    parts = []
    if adv.get("error"):
        parts.append(f'<p class="err">The advisor could not answer: {e(adv["error"])}</p>')
    mode = adv.get("mode")
    short = adv.get("shortlist") or []
    if short:
        how = "the advisor's shortlist plus the baseline" if mode == "auto" else "chosen by the user (--models)"
        base = f" (baseline: {e(adv.get('baseline'))})" if adv.get("baseline") else ""
        parts.append(f"<p>Candidates: <b>{e(', '.join(short))}</b> — {e(how)}{base}. Advisor's pick: <b>{e(adv.get('pick') or '–')}</b>.</p>")
    ranked = adv.get("ranked") or []
    if ranked:
        items = []
        for r in ranked[:8]:
            if isinstance(r, dict):
                reasons = r.get("reasons") or []
                rs = "".join(f"<li>{e(x if not isinstance(x, dict) else x.get('text', json.dumps(x)))}</li>" for x in reasons[:6])
                items.append(f"<li><b>{e(r.get('model'))}</b> (score {_num(r.get('score'), 3)})<ul>{rs}</ul></li>")
            else:
                items.append(f"<li>{e(r)}</li>")
        parts.append(f"<ol>{''.join(items)}</ol>")
    avoid = adv.get("avoid") or []
    if avoid:
        items = "".join(
            f"<li><b>{e(a.get('model'))}</b>: {e('; '.join(str(x) for x in (a.get('reasons') or [])[:3]))}</li>" if isinstance(a, dict) else f"<li>{e(a)}</li>"
            for a in avoid
        )
        parts.append(f"<p>Avoid:</p><ul>{items}</ul>")
    warnings = adv.get("warnings") or []
    if warnings:
        parts.append("<p>Warnings:</p><ul>" + "".join(f"<li>{e(w if not isinstance(w, dict) else w.get('text', json.dumps(w)))}</li>" for w in warnings) + "</ul>")
    if not parts:
        parts.append('<p class="muted">No advisor output was recorded.</p>')
    return "".join(parts)


def _timing(doc: dict[str, Any]) -> str:
    t = doc.get("timing") or {}
    if not t:
        return '<p class="muted">No timing recorded.</p>'
    ok = t.get("within_budget")
    verdict = "within" if ok else "OVER"
    return (
        f"<p>Trials took <b>{_num(t.get('trials_s'), 4)} s</b> of a {_num(t.get('budget_s'), 4)} s budget "
        f"(+{int(100 * t.get('tolerance', 0.1))}% allowed): <b>{verdict}</b> budget. Set-up (loading, profiling, "
        f"starting workers) took {_num(t.get('setup_s'), 3)} s. Share per trial {_num(t.get('share_s'), 3)} s; "
        f"{_num(t.get('trials_run'))} trial(s) run now, {_num(t.get('trials_resumed'))} kept from before.</p>"
    )


def render_html(doc: dict[str, Any]) -> str:
    """The page for a bake-off document (``BakeoffResult.to_dict()``)."""
    metric = doc.get("metric", "accuracy")
    hb = _higher_better(metric)
    dataset = doc.get("dataset") or {}
    models = [r["model"] for r in doc.get("leaderboard", [])]
    winner = (doc.get("winner") or {}).get("model")
    trials = doc.get("trials", [])
    figs = {
        "pareto": plots.pareto(doc.get("leaderboard", []), metric, hb, winner),
        "spread": plots.seed_spread(trials, models, metric, hb),
        "curves": plots.learning_curves(trials, models),
        "scaling": plots.scaling(doc.get("bench") or []),
    }
    title = f"seqselect bake-off: {doc.get('run', '')}"
    args = doc.get("args") or {}
    constraints = {k: v for k, v in ((doc.get("winner") or {}).get("constraints") or {}).items() if v is not None}
    sections = [
        f"<h1>{e(title)}</h1>",
        f'<p class="sub">Dataset <b>{e(dataset.get("name"))}</b> ({e(dataset.get("task"))}; '
        f"{_num(dataset.get('n_train'))} train / {_num(dataset.get('n_val'))} val / {_num(dataset.get('n_test'))} test) · "
        f"{_num(len(models))} candidates × {_num(args.get('seeds'))} seeds · budget {_num(args.get('budget_s'))} s"
        + (f" · constraints {e(', '.join(f'{k}={v}' for k, v in constraints.items()))}" if constraints else "")
        + "</p>",
        _verdict(doc),
        "<h2>Leaderboard</h2>",
        _leaderboard(doc),
        "<h2>Accuracy vs latency (Pareto)</h2>" if metric == "accuracy" else f"<h2>{e(metric)} vs latency (Pareto)</h2>",
        _img(figs["pareto"], "Pareto plot"),
        "<h2>Spread over seeds</h2>",
        _img(figs["spread"], "Spread over seeds"),
        "<h2>Learning curves</h2>",
        _img(figs["curves"], "Learning curves"),
        "<h2>Trials</h2>",
        _trials(doc),
        "<h2>Data profile</h2>",
        _kv(doc.get("profile") or {}),
        "<h2>The advisor's reasoning</h2>",
        _advisor(doc),
    ]
    if figs["scaling"]:
        sections += ["<h2>Benchmark scaling</h2>", _img(figs["scaling"], "Scaling plots")]
    sections += [
        "<h2>Time against the budget</h2>",
        _timing(doc),
        "<h2>Environment</h2>",
        _kv(doc.get("environment") or {}),
        f'<p class="muted">Store: {e(doc.get("store"))} · run {e(doc.get("run"))}. '
        f"Re-render with <code>seqselect report {e(doc.get('run'))} --store {e(doc.get('store'))} --html FILE</code>.</p>",
    ]
    body = "\n".join(sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main><script>{_JS}</script></body></html>\n"
    )


def write_html(doc: dict[str, Any] | Any, path: str | Path) -> Path:
    """Render ``doc`` (a dict or a ``BakeoffResult``) to ``path``; returns the path."""
    if hasattr(doc, "to_dict"):
        doc = doc.to_dict()
    out = Path(path)
    if out.exists() and out.is_dir():
        from seqselect.errors import SeqSelectError

        raise SeqSelectError(f"--html {out} is a folder; give a file name such as {out / 'report.html'}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(doc), encoding="utf-8")
    return out
