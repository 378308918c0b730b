"""A bake-off as one self-contained HTML page (inline CSS, figures as base64 PNG).

Sections: the verdict (winner, reasons, the paired interval, the advisor beside it), the
protocol (what selects, what the test split is for), the leaderboard (validation and test
side by side, baselines marked), the validation-vs-latency Pareto plot, the spread of
test scores over seeds, learning curves, every trial, the data profile, the advisor's
reasoning, benchmark scaling (when the run has cells), the timing against the budget, and
the environment.

Every string that comes from the user or the data (run, dataset, column, class and model
names, error messages) goes through :func:`html.escape`; the page loads nothing from the
network. The page is drawn from a :class:`~seqselect.bakeoff.result.BakeoffResult`; a
``--json`` document is read back into one first.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from seqselect.bakeoff.decide import TEST_ROLES, protocol_sentence, validation_score
from seqselect.bakeoff.records import LeaderboardRow, Trial
from seqselect.bakeoff.result import BakeoffResult
from seqselect.errors import SeqSelectError
from seqselect.formatting import format_number
from seqselect.report import plots
from seqselect.report.columns import companion_metric, row_precision
from seqselect.report.tuning import tuning_sections  # issue 16
from seqselect.vocabulary import higher_is_better

__all__ = ["render_html", "write_html"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;
background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.2em;margin:28px 0 8px;
border-bottom:1px solid #d5d9e0;padding-bottom:4px}
.sub{color:#5a6270;margin:0 0 16px}
.card{background:#fff;border:1px solid #d5d9e0;border-radius:8px;padding:14px 18px;margin:10px 0}
.verdict{border-left:6px solid #2e7d32}.verdict.none{border-left-color:#c62828}
.agree{color:#2e7d32;font-weight:600}.disagree{color:#b26a00;font-weight:600}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9em}
th,td{border:1px solid #d5d9e0;padding:5px 8px;text-align:right;vertical-align:top}
th{background:#eef1f5;cursor:pointer;user-select:none}td.l,th.l{text-align:left}
tr.win td{background:#e8f5e9;font-weight:600}tr.bad td{color:#8a8f98}
tr.baseline td{font-style:italic}.mark{font-size:.8em;color:#5a6270;font-style:normal}
.tied{color:#b26a00;font-weight:600}.apart{color:#2e7d32;font-weight:600}
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


#: How a missing number reads in the page (an en dash, quieter than "-").
_MISSING = "–"


def escape_html(value: Any) -> str:
    """Escaped text for HTML (quotes too, for attributes); None is empty."""
    return html.escape("" if value is None else str(value), quote=True)


def _number(value: Any, digits: int = 4) -> str:
    """A number as the page shows it (escaped: a non-number passes through as text)."""
    return escape_html(format_number(value, digits, missing=_MISSING))


def _cell(value: Any, digits: int = 4, cls: str = "") -> str:
    """A table cell; numbers carry ``data-v`` so the sorter compares values, not text."""
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    sort = f' data-v="{escape_html(value)}"' if is_number else ""
    klass = f' class="{cls}"' if cls else ""
    return f"<td{klass}{sort}>{_number(value, digits)}</td>"


def _figure(png: bytes | None, alt: str) -> str:
    if not png:
        return f'<p class="muted">{escape_html(alt)}: nothing to plot.</p>'
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{escape_html(alt)}" src="data:image/png;base64,{data}">'


def _key_values(items: dict[str, Any]) -> str:
    """A two-column table of ``items``; nested values as JSON."""
    rows = []
    for key, value in items.items():
        if isinstance(value, (dict, list)):
            text = f"<code>{escape_html(json.dumps(value, default=str))}</code>"
        else:
            text = _number(value) if isinstance(value, (int, float)) else escape_html(value)
        rows.append(f"<tr><td>{escape_html(key)}</td><td>{text}</td></tr>")
    return f'<table class="kv">{"".join(rows)}</table>'


def _reason_items(reasons: list[str]) -> str:
    return "".join(f"<li>{escape_html(r)}</li>" for r in reasons)


def _interval(result: BakeoffResult) -> str:
    """The winner against the runner-up on the same test examples, as a line."""
    winner, cmp = result.winner, result.winner.comparison
    if not cmp or not winner.runner_up:
        return ""
    label = (
        '<span class="tied">statistically tied</span>' if cmp.get("tied")
        else '<span class="apart">the interval excludes 0</span>'
    )
    confidence = round(100 * float(cmp.get("confidence") or 0.95))
    return (
        f'<div id="interval">Against {escape_html(winner.runner_up)} on the same '
        f"{_number(cmp.get('n'))} test examples: difference {_number(cmp.get('difference'), 3)}"
        f" {escape_html(cmp.get('metric'))} (positive: the winner is better), "
        f"{confidence}% paired bootstrap interval {_number(cmp.get('ci_low'), 3)} to "
        f"{_number(cmp.get('ci_high'), 3)} — {label}.</div>"
    )


def _verdict(result: BakeoffResult) -> str:
    """The winner's card: its numbers, the advice beside it, the paired interval and the
    verdict's sentences."""
    winner = result.winner
    pick = result.advisor.get("pick")
    reasons = _reason_items(winner.reasons)
    if not winner.model:
        return (
            '<div class="card verdict none"><h2 style="border:0;margin:0">No winner</h2>'
            f"<ul>{reasons}</ul></div>"
        )
    agree = winner.agrees_with_advisor
    if agree is None:
        relation = '<span class="muted">the advisor gave no pick</span>'
    elif agree:
        relation = (
            f'<span class="agree">agrees with the advisor\'s pick ({escape_html(pick)})</span>'
        )
    else:
        relation = (
            f'<span class="disagree">differs from the advisor\'s pick ({escape_html(pick)})</span>'
        )
    kind = ""
    if winner.kind == "baseline":
        kind = ' <span class="mark">(baseline, not a network)</span>'
    exported, seed = result.exported_choice()
    metric = escape_html(result.metric)
    return (
        f'<div class="card verdict"><div class="muted">Winner</div>'
        f'<div style="font-size:1.5em;font-weight:700" id="winner">'
        f"{escape_html(winner.model)}{kind}</div>"
        f"<div>validation {metric} {_number(winner.val_value)} ± {_number(winner.val_std, 2)}"
        f" · test {metric} {_number(winner.value)} ± {_number(winner.std, 2)}"
        f" · latency {_number(winner.latency_ms, 3)} ms · peak {_number(winner.peak_mb, 3)} MB"
        f" · {_number(winner.params)} parameters — {relation}</div>"
        f"{_interval(result)}"
        f'<div class="muted">Exported (with --export): {escape_html(exported or _MISSING)}'
        f" at seed {escape_html(seed)}, the seed with the best validation score.</div>"
        f"<ul>{reasons}</ul></div>"
    )


def _protocol(result: BakeoffResult) -> str:
    """The selection rule in words: what selects, and what the test split is for."""
    protocol = result.protocol
    why = f" Why: {escape_html(protocol.reason)}." if protocol and protocol.reason else ""
    return (
        f'<div class="card" id="protocol"><p><b>{escape_html(protocol_sentence(protocol))}.'
        f"</b>{why}</p><ul>"
        "<li><b>What selects</b>: validation data only — the validation split, or, on a "
        "small training split, cross-validation inside it with every fold scored. Early "
        "stopping, the "
        "checkpoint, the training length of a refit, the ranking, the winner, the seed to "
        "export and every tie-break read validation scores.</li>"
        "<li><b>What the test split is for</b>: each trial is tested once, after training, "
        "to report its test score; no choice is made on it.</li>"
        "<li><b>Baselines</b> (marked) are rows like the networks, fitted and measured the "
        "same way; when one wins, the verdict says so and the best network is exported.</li>"
        "<li><b>Tied</b> means the paired bootstrap interval of the difference between the "
        "winner and the runner-up, on the same test examples and combined over seeds, "
        "includes 0.</li></ul></div>"
    )


_LEADERBOARD_HEAD = (
    ("rank", ""), ("model", "l"), ("validation {metric}", ""), ("± std", ""), ("n val", ""),
    ("test {metric}", ""), ("± std", ""),
)
_LEADERBOARD_TAIL = (
    ("seeds", ""), ("train s", ""), ("latency ms (1 seq)", ""), ("batch ms", ""),
    ("step ms", ""), ("peak MB", ""), ("params", ""), ("precision", "l"), ("status", "l"),
)


def _leaderboard_row(
    row: LeaderboardRow, winner: str | None, excluded: dict[str, str],
    beside: str | None = None, precision: str | None = None,
) -> str:
    """One model's ``<tr>``; ``beside``: the companion metric's column (its test mean),
    ``precision``: what the model trained in (empty for a baseline)."""
    status = row.status
    if row.model in excluded and row.value is not None:
        status = f"excluded: {excluded[row.model]}"
    elif row.errors:
        status = f"{status}: {row.errors[0]}"
    if row.model == winner:
        cls = "win"
    else:
        cls = "bad" if row.val_value is None or row.model in excluded else ""
    mark = ""
    if row.kind == "baseline":
        cls, mark = f"{cls} baseline".strip(), ' <span class="mark">baseline</span>'
    companion = _cell(row.metrics.get(beside)) if beside else ""
    return (
        f'<tr class="{cls}">{_cell(row.rank)}'
        f'<td class="l">{escape_html(row.model)}{mark}</td>'
        f"{_cell(row.val_value)}{_cell(row.val_std, 2)}{_cell(row.n_val)}"
        f"{_cell(row.value)}{_cell(row.std, 2)}{companion}{_cell(row.n_seeds)}"
        f"{_cell(row.train_s, 3)}{_cell(row.latency_ms, 3)}{_cell(row.batch_latency_ms, 3)}"
        f"{_cell(row.step_latency_ms, 3)}{_cell(row.peak_mb, 3)}{_cell(row.params)}"
        f'<td class="l precision">{escape_html(precision or _MISSING)}</td>'
        f'<td class="l">{escape_html(status)}</td></tr>'
    )


def _leaderboard_head(metric: str, beside: str | None) -> str:
    """The header cells, the companion metric's (e.g. test smape) after the test score."""
    middle = ((f"test {beside} (mean)", ""),) if beside else ()
    return "".join(
        f'<th class="{cls}">{escape_html(head.format(metric=metric))}</th>'
        for head, cls in (*_LEADERBOARD_HEAD, *middle, *_LEADERBOARD_TAIL)
    )


def _leaderboard(result: BakeoffResult) -> str:
    metric = result.metric
    beside = companion_metric(metric, result.leaderboard)
    winner, excluded = result.winner.model, result.winner.excluded
    rows = "".join(
        _leaderboard_row(r, winner, excluded, beside, row_precision(r, result.trials))
        for r in result.leaderboard
    )
    direction = "higher" if higher_is_better(metric) else "lower"
    standardised = (result.dataset.get("input") or {}).get("target_normalization")
    companion = (
        f" Test {escape_html(beside)} (mean over seeds) is reported beside it, not used to "
        "rank." if beside else ""
    )
    return (
        f'<table id="leaderboard" class="sortable"><thead><tr>'
        f"{_leaderboard_head(metric, beside)}</tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        f'<p class="muted">Ranked by validation {escape_html(metric)} ({direction} is '
        "better): mean ± std over the cross-validation folds x seeds, or over seeds on the "
        "validation split. Test: mean ± std over seeds on the whole test set, read once per "
        f"trial, reported only.{companion} Latency: median forward time for one "
        "sequence; batch: for a batch of 32; step: one streaming step (causal streaming "
        "models only). Peak MB: weights plus the peak memory growth of a batch-32 forward "
        "(baselines: the growth of peak RSS while predicting). Precision: what a network "
        "trained in — bf16 (bfloat16 autocast), fp32, or mixed when its seeds differed. "
        "Click a header to sort."
        + (" Regression errors are on standardised targets (training mean 0, std 1)."
           if standardised else "")
        + "</p>"
    )


def _trial_row(trial: Trial, metric: str) -> str:
    role = trial.role + (f" {trial.fold}" if trial.fold is not None else "")
    test = trial.metrics.get(metric) if trial.role in TEST_ROLES else None
    return (
        f'<tr><td class="l">{escape_html(trial.model)}</td>'
        f'<td class="l">{escape_html(trial.kind)}</td><td class="l">{escape_html(role)}</td>'
        f'{_cell(trial.seed)}<td class="l">{escape_html(trial.status)}</td>'
        f"{_cell(validation_score(trial, metric))}{_cell(test)}{_cell(trial.train_s, 3)}"
        f"{_cell(trial.extra.get('epochs'))}{_cell(trial.extra.get('steps'))}"
        f"{_cell(trial.latency_ms, 3)}{_cell(trial.peak_mb, 3)}{_cell(trial.params)}"
        f'<td class="l err">{escape_html(trial.error or "")}</td></tr>'
    )


def _trials(result: BakeoffResult) -> str:
    metric = result.metric
    rows = "".join(_trial_row(t, metric) for t in result.trials)
    head = [
        "model", "kind", "role", "seed", "status", f"validation {metric}", f"test {metric}",
        "train s", "epochs", "steps", "latency ms", "peak MB", "params", "error",
    ]
    left = ("model", "kind", "role", "status", "error")
    ths = "".join(
        f'<th class="{"l" if h in left else ""}">{escape_html(h)}</th>' for h in head
    )
    return (
        f'<table id="trials" class="sortable"><thead><tr>{ths}</tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _advice_text(item: Any) -> str:
    """An advisor reason or warning: a string, or a dict with its ``text``."""
    return item.get("text", json.dumps(item)) if isinstance(item, dict) else item


def _candidates_sentence(advice: dict[str, Any]) -> str:
    short = advice.get("shortlist") or []
    if advice.get("mode") == "auto":
        how = "the advisor's shortlist plus the baseline"
    else:
        how = "chosen by the user (--models)"
    base = f" (baseline: {escape_html(advice.get('baseline'))})" if advice.get("baseline") else ""
    return (
        f"<p>Candidates: <b>{escape_html(', '.join(short))}</b> — {escape_html(how)}{base}. "
        f"Advisor's pick: <b>{escape_html(advice.get('pick') or _MISSING)}</b>.</p>"
    )


def _ranked_list(ranked: list[Any]) -> str:
    items = []
    for entry in ranked[:8]:
        if isinstance(entry, dict):
            reasons = _reason_items([_advice_text(x) for x in (entry.get("reasons") or [])[:6]])
            items.append(
                f"<li><b>{escape_html(entry.get('model'))}</b> "
                f"(score {_number(entry.get('score'), 3)})<ul>{reasons}</ul></li>"
            )
        else:
            items.append(f"<li>{escape_html(entry)}</li>")
    return f"<ol>{''.join(items)}</ol>"


def _avoid_list(avoid: list[Any]) -> str:
    items = []
    for entry in avoid:
        if isinstance(entry, dict):
            why = "; ".join(str(x) for x in (entry.get("reasons") or [])[:3])
            items.append(f"<li><b>{escape_html(entry.get('model'))}</b>: {escape_html(why)}</li>")
        else:
            items.append(f"<li>{escape_html(entry)}</li>")
    return f"<p>Avoid:</p><ul>{''.join(items)}</ul>"


def _advisor(result: BakeoffResult) -> str:
    advice = result.advisor
    parts = []
    if advice.get("error"):
        parts.append(
            f'<p class="err">The advisor could not answer: {escape_html(advice["error"])}</p>'
        )
    if advice.get("shortlist"):
        parts.append(_candidates_sentence(advice))
    if advice.get("ranked"):
        parts.append(_ranked_list(advice["ranked"]))
    if advice.get("avoid"):
        parts.append(_avoid_list(advice["avoid"]))
    warnings = advice.get("warnings") or []
    if warnings:
        items = _reason_items([_advice_text(w) for w in warnings])
        parts.append(f"<p>Warnings:</p><ul>{items}</ul>")
    if not parts:
        parts.append('<p class="muted">No advisor output was recorded.</p>')
    return "".join(parts)


def _timing(result: BakeoffResult) -> str:
    timing = result.timing
    if not timing:
        return '<p class="muted">No timing recorded.</p>'
    verdict = "within" if timing.get("within_budget") else "OVER"
    return (
        f"<p>The bake-off took <b>{_number(timing.get('total_s'), 4)} s</b> of a "
        f"{_number(timing.get('budget_s'), 4)} s budget "
        f"(+{int(100 * timing.get('tolerance', 0.1))}% allowed): <b>{verdict}</b> budget. "
        f"Set-up (start-up, loading, profiling) took {_number(timing.get('setup_s'), 3)} s, "
        f"the trials {_number(timing.get('trials_s'), 4)} s, the closing (deciding, exporting)"
        f" {_number((timing.get('actual_s') or {}).get('closing'), 3)} s. "
        f"Share per trial {_number(timing.get('share_s'), 3)} s; "
        f"{_number(timing.get('trials_run'))} trial(s) run now, "
        f"{_number(timing.get('trials_resumed'))} kept from before.</p>"
    )


def _subtitle(result: BakeoffResult) -> str:
    dataset = result.dataset
    n_baselines = sum(row.kind == "baseline" for row in result.leaderboard)
    n_networks = len(result.leaderboard) - n_baselines
    constraints = {k: v for k, v in result.winner.constraints.items() if v is not None}
    shown = ", ".join(f"{k}={v}" for k, v in constraints.items())
    return (
        f'<p class="sub">Dataset <b>{escape_html(dataset.get("name"))}</b> '
        f"({escape_html(dataset.get('task'))}; "
        f"{_number(dataset.get('n_train'))} train / {_number(dataset.get('n_val'))} val / "
        f"{_number(dataset.get('n_test'))} test) · "
        f"{_number(n_networks)} networks + {_number(n_baselines)} baseline(s) × "
        f"{_number(result.args.get('seeds'))} seeds · "
        f"budget {_number(result.args.get('budget_s'))} s"
        + (f" · constraints {escape_html(shown)}" if constraints else "")
        + "</p>"
    )


def _figures(result: BakeoffResult, models: list[str]) -> dict[str, bytes | None]:
    metric, better_high = result.metric, higher_is_better(result.metric)
    return {
        "pareto": plots.pareto(result.leaderboard, metric, better_high, result.winner.model),
        "spread": plots.seed_spread(result.trials, models, metric, better_high),
        "curves": plots.learning_curves(result.trials, models),
        "scaling": plots.scaling(result.bench),
    }


def _sections(result: BakeoffResult, title: str) -> list[str]:
    metric = result.metric
    models = [r.model for r in result.leaderboard]
    figures = _figures(result, models)
    pareto_title = "Accuracy" if metric == "accuracy" else escape_html(metric)
    sections = [
        f"<h1>{escape_html(title)}</h1>",
        _subtitle(result),
        _verdict(result),
        "<h2>Protocol: how the winner was chosen</h2>",
        _protocol(result),
        "<h2>Leaderboard</h2>",
        _leaderboard(result),
        f"<h2>Validation {pareto_title.lower()} vs latency (Pareto)</h2>",
        _figure(figures["pareto"], "Pareto plot"),
        "<h2>Spread over seeds (test)</h2>",
        _figure(figures["spread"], "Spread over seeds"),
        "<h2>Learning curves</h2>",
        _figure(figures["curves"], "Learning curves"),
        "<h2>Trials</h2>",
        _trials(result),
        "<h2>Data profile</h2>",
        _key_values(result.profile),
        "<h2>The advisor's reasoning</h2>",
        _advisor(result),
    ]
    if figures["scaling"]:
        sections += ["<h2>Benchmark scaling</h2>", _figure(figures["scaling"], "Scaling plots")]
    sections += tuning_sections(result, escape_html)  # issue 16: the --tune searches
    store, run = escape_html(result.store), escape_html(result.run)
    sections += [
        "<h2>Time against the budget</h2>",
        _timing(result),
        "<h2>Environment</h2>",
        _key_values(result.environment),
        f'<p class="muted">Store: {store} · run {run}. Re-render with '
        f"<code>seqselect report {run} --store {store} --html FILE</code>.</p>",
    ]
    return sections


def _as_result(doc: BakeoffResult | dict[str, Any]) -> BakeoffResult:
    return doc if isinstance(doc, BakeoffResult) else BakeoffResult.from_dict(doc)


def render_html(doc: BakeoffResult | dict[str, Any]) -> str:
    """The page for a bake-off (a result, or its ``--json`` document)."""
    result = _as_result(doc)
    title = f"seqselect bake-off: {result.run}"
    body = "\n".join(_sections(result, title))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape_html(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main><script>{_JS}</script></body></html>\n"
    )


def write_html(doc: BakeoffResult | dict[str, Any], path: str | Path) -> Path:
    """Render ``doc`` (a result or its ``--json`` document) to ``path``; returns the path."""
    out = Path(path)
    if out.exists() and out.is_dir():
        raise SeqSelectError(
            f"--html {out} is a folder; give a file name such as {out / 'report.html'}"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(doc), encoding="utf-8")
    return out
