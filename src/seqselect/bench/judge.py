"""Judge the guide's claims against measured cells: ``holds``, ``does-not-hold`` or
``inconclusive``, always with why.

Each measure kind has one entry in :data:`MEASURES` (how it is described and how its
value is read from the cells) and each rule kind one in :data:`seqselect.bench.rules.RULES`
(when a value holds): a new kind is one new entry, not a branch in several if-chains.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from seqselect.bench.claims import (
    VerifySettings,
    attention_setting,
    models_named,
    resolve_model,
    rests_on_timings,
)
from seqselect.bench.fit import fit_exponent, fit_exponent_offset, local_exponent
from seqselect.bench.records import BenchCell
from seqselect.bench.rules import RULE_KINDS, RULES
from seqselect.errors import SeqSelectError
from seqselect.system import MB

VERDICTS = ("holds", "does-not-hold", "inconclusive")
# A cell's timing is not trusted when the 1-minute load average exceeds this many
# runnable processes per CPU: other work was competing for the cores.
BUSY_LOAD = 1.25
_FITS = {
    "global": (fit_exponent, "least-squares log-log slope"),
    "local": (local_exponent, "slope between the two largest lengths"),
    "offset": (fit_exponent_offset, "k of c + a L^k"),
}
_METRIC_KEYS = {"time": "time_ms", "memory": "peak_mb", "flops": "flops"}


class Inconclusive(Exception):
    """A claim cannot be judged (a cell missing or failed): its message says why."""


def has_peak(cell: BenchCell) -> bool:
    """The cell finished, or completed at least one run before it timed out or was
    killed (every run allocates alike, so that peak is the cell's)."""
    return cell.peak_mb is not None and (cell.ok or bool(cell.partial))


def failure_reason(cell: BenchCell) -> str:
    name = cell.model or f"{cell.impl} attention"
    return (f"{name} {cell.mode or 'infer'} L={cell.length} ended {cell.status}: "
            f"{cell.error or ''}").strip()


def format_metric_value(value: float | None, metric: str) -> str:
    """One point of an exponent's series: ``1.2 GFLOP``, ``400 MB``, ``12.5 ms``."""
    if value is None:
        return "-"
    if metric == "flops":
        return f"{value / 1e9:.3g} GFLOP"
    if metric == "memory":
        return f"{value:.0f} MB"
    return f"{value:.1f} ms"


class ClaimJudge:
    """Reads claims' values from measured cells and judges them."""

    def __init__(self, data: dict, st: VerifySettings, registered: Sequence[str],
                 cells: Sequence[BenchCell], attention_cells: Sequence[BenchCell]):
        self.aliases = data["settings"].get("aliases", {})
        self.st = st
        self.registered = registered
        self.cells = {(c.model, c.mode, c.length): c for c in cells}
        self.attention = {(c.impl, c.batch, c.length): c for c in attention_cells}

    def model(self, name: str) -> str:
        resolved = resolve_model(name, self.aliases, self.registered)
        if resolved is None:
            looked = ", ".join(self.aliases.get(name, [name]))
            raise Inconclusive(f"no registered model for {name!r} (looked for {looked})")
        return resolved

    def cell(self, model: str, mode: str, guide_length: int, need_ok: bool = True) -> BenchCell:
        length = self.st.length(guide_length)
        cell = self.cells.get((model, mode, length))
        if cell is None:
            raise Inconclusive(f"{model} {mode} L={length} was not measured")
        if need_ok and not cell.ok:
            raise Inconclusive(failure_reason(cell))
        return cell

    def attention_cell(self, m: dict, impl: str) -> BenchCell:
        cell = self.attention.get((impl, *attention_setting(m, self.st)))
        if cell is None:
            raise Inconclusive(f"{impl} attention was not measured")
        if not cell.ok:
            raise Inconclusive(failure_reason(cell))
        return cell

    def where(self, length: int) -> str:
        return f"L={self.st.length(length)}, batch {self.st.batch}"

    def judge(self, claim: dict) -> dict[str, Any]:
        """The claim's verdict record: its fields plus ``measured``, ``verdict``, ``why``."""
        out = {k: claim[k] for k in ("id", "section", "text", "guide", "guide_text", "unit")}
        m = claim["measure"]
        try:
            if claim["rule"]["kind"] == "expect_oom":
                verdict, measured, why = judge_out_of_memory(self, claim)
            else:
                verdict, measured, why = self._judge_value(claim)
        except Inconclusive as exc:
            verdict, measured, why = "inconclusive", None, str(exc)
        if verdict == "does-not-hold" and claim.get("explain"):
            why = f"{why}. Why: {claim['explain']}"
        if verdict != "inconclusive" and rests_on_timings(m):
            busy = self.busy(m)
            if busy:
                verdict, why = "inconclusive", f"{busy}. {why}"
        quick_cell = m["kind"] != "arithmetic" and m.get("quick_scale", True)
        if self.st.quick and verdict != "inconclusive" and quick_cell:
            why = f"{why} [quick settings]"
        measured = round(measured, 3) if isinstance(measured, float) else measured
        out.update(measured=measured, verdict=verdict, why=why)
        return out

    def _judge_value(self, claim: dict) -> tuple[str, Any, str]:
        m, rule = claim["measure"], claim["rule"]
        measured, ctx = MEASURES[m["kind"]].value(self, m)
        guide = claim["guide"]
        if self.st.quick and m.get("quick_scale", True) and m["kind"] == "attention_memory":
            # The guide's number is B * L^2 * 4 bytes: rescale it to the quick cell.
            batch, length = self.st.batch, self.st.length(m["length"])
            guide = guide * (batch * length**2) / (m["batch"] * m["length"] ** 2)
            ctx += f"; quick mode: the guide's formula at these settings gives {guide:.1f} MB"
        verdict, why = RULES[rule["kind"]](rule, guide, measured)
        why = f"{why}. {ctx}"
        if self.st.quick and m["kind"] == "peak_memory":
            verdict = "inconclusive"
            why = ("quick mode: absolute memory compares with the guide only at its "
                   f"settings (n={m['length']}, batch 32); run without --quick. {ctx}")
        return verdict, measured, why

    def busy(self, m: dict) -> str:
        """Why timings of this claim's cells cannot be trusted ('' when they can)."""
        models = {resolve_model(n, self.aliases, self.registered) for n in models_named(m)}
        lengths = {self.st.length(n) for n in (m.get("lengths") or [m.get("length")])}
        loads = [c.load_avg for c in self.cells.values()
                 if c.load_avg is not None and c.model in models and c.length in lengths]
        cpus = os.cpu_count() or 1
        if loads and max(loads) > BUSY_LOAD * cpus:
            return (f"the machine was busy while these cells ran (load average up to "
                    f"{max(loads):.1f} on {cpus} CPUs), so their timings say little; rerun "
                    "on an idle machine")
        return ""


# ---- measures: kind -> how it reads, and its value from the cells ------------------------
def _time_pair(judge: ClaimJudge, m: dict) -> tuple[BenchCell, BenchCell, str]:
    model, base = judge.model(m["model"]), judge.model(m["baseline"])
    a = judge.cell(model, m["mode"], m["length"])
    b = judge.cell(base, m["mode"], m["length"])
    ctx = (f"{model} {a.time_ms:.1f} ms vs {base} {b.time_ms:.1f} ms per "
           f"{m['mode']} step at {judge.where(m['length'])}")
    return a, b, ctx


def _relative_time(judge: ClaimJudge, m: dict) -> tuple[float, str]:
    a, b, ctx = _time_pair(judge, m)
    return 100.0 * a.time_ms / b.time_ms, ctx


def _speedup(judge: ClaimJudge, m: dict) -> tuple[float, str]:
    a, b, ctx = _time_pair(judge, m)
    return b.time_ms / a.time_ms, ctx


def _fastest(judge: ClaimJudge, m: dict) -> tuple[str, str]:
    cells = [judge.cell(judge.model(n), m["mode"], m["length"]) for n in m["models"]]
    ranked = sorted(cells, key=lambda c: c.time_ms)
    ctx = "; ".join(f"{c.model} {c.time_ms:.1f} ms" for c in ranked)
    return ranked[0].model, f"{m['mode']} at {judge.where(m['length'])}: {ctx}"


def _peak_memory(judge: ClaimJudge, m: dict) -> tuple[float, str]:
    model = judge.model(m["model"])
    c = judge.cell(model, m["mode"], m["length"], need_ok=False)
    if not has_peak(c):
        raise Inconclusive(failure_reason(c))
    note = "" if c.ok else f" (the peak of the runs done before: {c.error})"
    return c.peak_mb, (f"{model} {m['mode']} peak {c.peak_mb:.0f} MB at "
                       f"{judge.where(m['length'])}, {c.params or 0:,} parameters{note}")


def _arithmetic(judge: ClaimJudge, m: dict) -> tuple[float, str]:
    value = m["batch"] * m["length"] ** 2 * m["bytes"] / 1e6
    return value, (f"{m['batch']} x {m['length']}^2 x {m['bytes']} bytes = "
                   f"{value * 1e6:.3g} bytes = {value:,.0f} MB "
                   f"({value * 1e6 / MB:,.0f} MiB) for ONE head of ONE layer; a model with "
                   "H heads and N layers stores H x N of them for training (8 heads: "
                   f"{8 * value / 1000:.2f} GB per layer)")


def _attention_memory(judge: ClaimJudge, m: dict) -> tuple[float, str]:
    c = judge.attention_cell(m, m["impl"])
    return c.peak_mb, (f"{m['impl']} attention peak {c.peak_mb:.0f} MB at "
                       f"B={c.batch}, L={c.length}, E={m.get('d_model', 512)}")


def _exponent(judge: ClaimJudge, m: dict) -> tuple[float, str]:
    model = judge.model(m["model"])
    cells = [judge.cell(model, m["mode"], n, need_ok=False) for n in m["lengths"]]
    # Memory may come from cells that timed out after complete runs; times may not.
    ok = [c for c in cells if c.ok or (m["metric"] == "memory" and has_peak(c))]
    if len(ok) < 2:
        bad = next((c for c in cells if not c.ok), None)
        raise Inconclusive("fewer than two lengths measured"
                           + (f": {failure_reason(bad)}" if bad else ""))
    fit, how = _FITS[m.get("fit", "global")]

    def slope(metric: str) -> float:
        key = _METRIC_KEYS[metric]
        return fit([c.length for c in ok], [getattr(c, key) for c in ok])

    value = slope(m["metric"])
    if math.isnan(value):
        raise Inconclusive(f"no {m['metric']} to fit")
    key = _METRIC_KEYS[m["metric"]]
    series = ", ".join(f"L={c.length}: {format_metric_value(getattr(c, key), m['metric'])}"
                       for c in ok)
    ctx = f"{model} {m['mode']} {m['metric']} ({how}): {series}"
    if m.get("also"):
        ctx += f"; {m['also']} exponent {slope(m['also']):.2f}"
    return value, ctx


def _out_of_memory_value(judge: ClaimJudge, m: dict) -> tuple[Any, str]:
    raise Inconclusive("out-of-memory claims are judged by their rule, expect_oom")


def _describe_oom(m: dict) -> str:
    what = f"{m['impl']} attention" if "impl" in m else f"{m['model']} {m['mode']}"
    return f"does {what} at L={m['length']} run out of memory"


@dataclass(frozen=True)
class Measure:
    """One measure kind: a line saying how it is measured, and its value from the cells."""

    describe: Callable[[dict], str]
    value: Callable[[ClaimJudge, dict], tuple[Any, str]]


MEASURES: dict[str, Measure] = {
    "relative_time": Measure(
        lambda m: f"{m['mode']} time {m['model']} / {m['baseline']} x 100 at L={m['length']}",
        _relative_time),
    "speedup": Measure(
        lambda m: f"{m['mode']} time {m['baseline']} / {m['model']} at L={m['length']}",
        _speedup),
    "fastest": Measure(
        lambda m: f"fastest {m['mode']} at L={m['length']} among {', '.join(m['models'])}",
        _fastest),
    "peak_memory": Measure(
        lambda m: f"{m['mode']} peak memory of {m['model']} at L={m['length']}", _peak_memory),
    "out_of_memory": Measure(_describe_oom, _out_of_memory_value),
    "arithmetic": Measure(lambda m: f"{m['batch']} x {m['length']}^2 x {m['bytes']} bytes",
                          _arithmetic),
    "attention_memory": Measure(
        lambda m: (f"peak memory of {m['impl']} attention, B={m['batch']}, L={m['length']}, "
                   f"E={m.get('d_model', 512)}"),
        _attention_memory),
    "exponent": Measure(
        lambda m: f"{m['metric']} exponent of {m['model']} {m['mode']} over L={m['lengths']}",
        _exponent),
}
MEASURE_KINDS = tuple(MEASURES)


def describe_measure(measure: dict[str, Any]) -> str:
    """One line saying how a claim is measured, e.g. ``train time tcn / lstm at L=1000``."""
    entry = MEASURES.get(measure["kind"])
    return entry.describe(measure) if entry is not None else measure["kind"]




def judge_out_of_memory(judge: ClaimJudge, claim: dict) -> tuple[str, Any, str]:
    """(verdict, measured, why) of an ``expect_oom`` claim: does the cell run out?"""
    m = claim["measure"]
    st = judge.st
    if "impl" in m:
        batch, length = attention_setting(m, st)
        cell = judge.attention.get((m["impl"], batch, length))
        what = f"{m['impl']} attention at B={batch}, L={length}"
    else:
        model = judge.model(m["model"])
        cell = judge.cells.get((model, m["mode"], st.length(m["length"])))
        what = f"{model} {m['mode']} at {judge.where(m['length'])}"
    if cell is None:
        raise Inconclusive(f"{what} was not measured")
    if st.quick:
        here = (f"ran in {cell.peak_mb:.0f} MB" if cell.ok else f"ended {cell.status}")
        raise Inconclusive(f"quick mode measures {what}, not the guide's setting; run "
                           f"without --quick (here it {here})")
    if cell.status == "oom":
        return ("holds", "out of memory",
                f"{what} ran out of memory here ({(cell.error or '')[:160]})")
    if cell.status == "skipped":
        return "holds", "out of memory", f"{what} not attempted: {cell.error}"
    if not has_peak(cell):
        raise Inconclusive(failure_reason(cell))
    return "does-not-hold", cell.peak_mb, f"{what} ran in {cell.peak_mb:.0f} MB" + _oom_detail(
        judge, m, cell)


def _oom_detail(judge: ClaimJudge, m: dict, cell: BenchCell) -> str:
    """The share of the claimed need, how long a run took, and the compared impl's peak."""
    needed = m.get("needed_mb")
    need = f" of the claimed {needed / 1000:g} GB" if needed else ""
    share = f" ({100 * cell.peak_mb / needed:.0f}%{need})" if needed else ""
    if cell.ok:
        how = f"{cell.time_ms / 1000:.1f} s per step"
    else:
        runs = cell.partial["runs_done"]
        first_s = cell.partial["run_ms"][0] / 1000
        how = f"{runs} complete run(s) before the {cell.status}, {first_s:.0f} s each"
    compare = ""
    if "compare_impl" in m:
        other = judge.attention.get((m["compare_impl"], *attention_setting(m, judge.st)))
        if other is not None and other.ok:
            compare = f"; {m['compare_impl']} attention: {other.peak_mb:.0f} MB"
    return f"{share}, {how}{compare}"


def judge_claims(data: dict[str, Any], st: VerifySettings, registered: Sequence[str],
                 cells: Sequence[BenchCell],
                 attention_cells: Sequence[BenchCell]) -> list[dict[str, Any]]:
    """One verdict per claim from measured cells: ``{"id", "text", "guide", "measured",
    "verdict", "why", ...}``."""
    for claim in data["claims"]:
        if claim["measure"]["kind"] not in MEASURES:
            raise SeqSelectError(f"unknown measure kind {claim['measure']['kind']!r}")
        if claim["rule"]["kind"] not in RULE_KINDS:
            raise SeqSelectError(f"unknown rule kind {claim['rule']['kind']!r}")
    judge = ClaimJudge(data, st, registered, cells, attention_cells)
    return [judge.judge(c) for c in data["claims"]]


def format_measured(claim: dict[str, Any]) -> str:
    """The measured value for display, in the claim's unit."""
    v, unit = claim.get("measured"), claim.get("unit", "")
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if unit.startswith("%"):
        return f"{v:.0f}%"
    if unit == "x faster":
        return f"{v:.2f}x"
    if unit.startswith("MB"):
        return f"{v / 1000:.2f} GB" if v >= 1000 else f"{v:.0f} MB"
    if unit == "exponent":
        return f"{v:.2f}"
    return f"{v:g}"


__all__ = [
    "BUSY_LOAD",
    "MEASURES",
    "MEASURE_KINDS",
    "VERDICTS",
    "ClaimJudge",
    "Inconclusive",
    "describe_measure",
    "format_measured",
    "judge_claims",
]
