"""``verify-claims``: re-measure every quantitative claim of the guide on this machine.

The claims live in ``claims.json`` beside this file, each with the guide's number, how it
is measured (``measure``) and when it holds (``rule``). This module

1. resolves the cells the claims need (model cells and bare-attention cells), at the
   guide's settings or, with ``quick=True``, scaled down (and says so);
2. runs them through the harness (fresh subprocess per cell, memory check, time-out);
3. judges each claim: ``holds``, ``does-not-hold`` or ``inconclusive``, always with why.

Measure kinds: ``relative_time`` (time as % of a baseline's), ``speedup`` (baseline time
/ model time), ``fastest`` (which model is fastest), ``peak_memory`` (MB),
``out_of_memory`` (does the cell run out of memory), ``arithmetic`` (B * L^2 * bytes, the
guide's own sum), ``attention_memory`` (a bare attention's peak, naive or fused) and
``exponent`` (fitted log-log slope of time, memory or FLOPs in L). Rule kinds:
``within_factor``, ``range``, ``equals``, ``expect_oom``, ``exponent``, ``exponent_range``.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from seqselect.bench import memory
from seqselect.bench.fit import fit_exponent, fit_exponent_offset, local_exponent
from seqselect.bench.harness import environment, measure_cell, resolve_device, run_cells
from seqselect.errors import SeqSelectError

log = logging.getLogger(__name__)

VERDICTS = ("holds", "does-not-hold", "inconclusive")
MEASURE_KINDS = (
    "relative_time", "speedup", "fastest", "peak_memory", "out_of_memory", "arithmetic",
    "attention_memory", "exponent",
)
RULE_KINDS = ("within_factor", "range", "equals", "expect_oom", "exponent", "exponent_range")


def load_claims() -> dict[str, Any]:
    """The claims data file shipped with the package (``seqselect/bench/claims.json``)."""
    text = resources.files("seqselect.bench").joinpath("claims.json").read_text()
    return json.loads(text)


# ---- which cells -------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """The settings one verification runs at (the guide's, or scaled down by quick)."""

    quick: bool
    batch: int
    params: int
    repeats: int
    warmup: int
    length_scale: float
    timeout_s: float

    def length(self, guide_length: int) -> int:
        return max(2, round(guide_length * self.length_scale))

    def describe(self) -> str:
        tag = "QUICK (scaled down, not the guide's settings)" if self.quick else "the guide's settings"
        return (f"{tag}: lengths x{self.length_scale:g}, batch {self.batch}, "
                f"params {self.params:,}, {self.repeats} timed repeats after {self.warmup} warm-up")


def settings_for(data: dict[str, Any], quick: bool) -> Settings:
    s = data["settings"]["quick" if quick else "full"]
    return Settings(quick=quick, batch=int(s["batch"]), params=int(s["params"]),
                    repeats=int(s["repeats"]), warmup=int(s["warmup"]),
                    length_scale=float(s["length_scale"]), timeout_s=float(s["timeout_s"]))


def resolve_model(name: str, aliases: dict[str, list[str]], registered: Sequence[str]) -> str | None:
    """A model name, or an alias (``sparse``, ``ssm``) -> its first registered member."""
    if name in aliases:
        return next((m for m in aliases[name] if m in registered), None)
    return name if name in registered else None


def _measure_models(measure: dict[str, Any]) -> list[str]:
    if "models" in measure:
        return list(measure["models"])
    names = [measure[k] for k in ("model", "baseline") if k in measure]
    return names


def _attention_setting(measure: dict[str, Any], st: Settings) -> tuple[int, int]:
    """(batch, length) of an attention cell: scaled in quick mode unless the measure says
    ``quick_scale: false`` (cheap enough at the guide's own setting)."""
    if st.quick and measure.get("quick_scale", True):
        return st.batch, st.length(measure["length"])
    return int(measure["batch"]), int(measure["length"])


def _attention_cells(measure: dict[str, Any], st: Settings) -> list[dict[str, Any]]:
    impls = [measure["impl"], *([measure["compare_impl"]] if "compare_impl" in measure else [])]
    batch, length = _attention_setting(measure, st)
    return [
        {"impl": impl, "batch": batch, "length": length,
         "d_model": measure.get("d_model", 512), "n_heads": measure.get("n_heads", 1),
         "repeats": measure.get("repeats", 1), "warmup": measure.get("warmup", 0)}
        for impl in impls
    ]


def plan_cells(data: dict[str, Any], st: Settings, registered: Sequence[str]):
    """The model cells ``(model, mode, length)`` (sorted so each model's lengths ascend)
    and the attention cells every claim needs, with unresolved names left out."""
    aliases = data["settings"].get("aliases", {})
    model_cells: set[tuple[str, str, int]] = set()
    attention: dict[tuple, dict[str, Any]] = {}
    for claim in data["claims"]:
        m = claim["measure"]
        if m["kind"] == "arithmetic":
            continue
        if "impl" in m:
            for cell in _attention_cells(m, st):
                attention[(cell["impl"], cell["batch"], cell["length"], cell["d_model"],
                           cell["n_heads"])] = cell
            continue
        lengths = m.get("lengths") or [m["length"]]
        for name in _measure_models(m):
            model = resolve_model(name, aliases, registered)
            if model is not None:
                model_cells.update((model, m["mode"], st.length(n)) for n in lengths)
    return sorted(model_cells), list(attention.values())


# ---- verdicts ----------------------------------------------------------------------------
@dataclass
class VerifyReport:
    """Verdicts per claim plus everything needed to audit them (settings, environment,
    every cell row)."""

    settings: dict[str, Any]
    environment: dict[str, Any]
    claims: list[dict[str, Any]]
    cells: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "environment": self.environment,
                "claims": self.claims, "cells": self.cells}

    def counts(self) -> dict[str, int]:
        return {v: sum(c["verdict"] == v for c in self.claims) for v in VERDICTS}

    def to_markdown(self) -> str:
        env = self.environment
        lines = [
            "# The guide's claims, measured",
            "",
            f"Settings: {self.settings['description']}.",
            f"Machine: {env.get('cpu')} ({env.get('threads')} threads), device "
            f"{env.get('device')}{' ' + env['gpu'] if env.get('gpu') else ''}, torch {env.get('torch')}.",
            "",
            "| claim | guide | measured | verdict | why |",
            "|---|---|---|---|---|",
        ]
        for c in self.claims:
            cells = [c["text"], c["guide_text"], format_measured(c), f"**{c['verdict']}**", c["why"]]
            lines.append("| " + " | ".join(str(x).replace("|", "\\|") for x in cells) + " |")
        n = self.counts()
        lines += ["", f"{n['holds']} hold, {n['does-not-hold']} do not hold, "
                      f"{n['inconclusive']} inconclusive."]
        return "\n".join(lines) + "\n"


def describe_measure(measure: dict[str, Any]) -> str:
    """One line saying how a claim is measured, e.g. ``train time tcn / lstm at L=1000``."""
    m = measure
    kind = m["kind"]
    if kind == "relative_time":
        return f"{m['mode']} time {m['model']} / {m['baseline']} x 100 at L={m['length']}"
    if kind == "speedup":
        return f"{m['mode']} time {m['baseline']} / {m['model']} at L={m['length']}"
    if kind == "fastest":
        return f"fastest {m['mode']} at L={m['length']} among {', '.join(m['models'])}"
    if kind == "peak_memory":
        return f"{m['mode']} peak memory of {m['model']} at L={m['length']}"
    if kind == "out_of_memory":
        what = f"{m['impl']} attention" if "impl" in m else f"{m['model']} {m['mode']}"
        return f"does {what} at L={m['length']} run out of memory"
    if kind == "arithmetic":
        return f"{m['batch']} x {m['length']}^2 x {m['bytes']} bytes"
    if kind == "attention_memory":
        return f"peak memory of {m['impl']} attention, B={m['batch']}, L={m['length']}, E={m.get('d_model', 512)}"
    if kind == "exponent":
        return f"{m['metric']} exponent of {m['model']} {m['mode']} over L={m['lengths']}"
    return kind


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


class _Judge:
    """Evaluates claims against measured rows."""

    def __init__(self, data: dict, st: Settings, registered: Sequence[str], rows: list[dict],
                 attention_rows: list[dict]):
        self.aliases = data["settings"].get("aliases", {})
        self.st = st
        self.registered = registered
        self.rows = {(r["model"], r["mode"], r["length"]): r for r in rows}
        self.attention = {(r["impl"], r["batch"], r["length"]): r for r in attention_rows}

    # helpers
    def model(self, name: str) -> str:
        resolved = resolve_model(name, self.aliases, self.registered)
        if resolved is None:
            looked = ", ".join(self.aliases.get(name, [name]))
            raise _Inconclusive(f"no registered model for {name!r} (looked for {looked})")
        return resolved

    def row(self, model: str, mode: str, guide_length: int, need_ok: bool = True) -> dict:
        r = self.rows.get((model, mode, self.st.length(guide_length)))
        if r is None:
            raise _Inconclusive(f"{model} {mode} L={self.st.length(guide_length)} was not measured")
        if need_ok and r["status"] != "ok":
            raise _Inconclusive(_cell_failure(r))
        return r

    def where(self, length: int) -> str:
        return f"L={self.st.length(length)}, batch {self.st.batch}"

    # measures -> (value, context sentence, extra)
    def measure(self, m: dict) -> tuple[Any, str]:
        kind = m["kind"]
        if kind in ("relative_time", "speedup"):
            model, base = self.model(m["model"]), self.model(m["baseline"])
            a, b = self.row(model, m["mode"], m["length"]), self.row(base, m["mode"], m["length"])
            ctx = (f"{model} {a['time_ms']:.1f} ms vs {base} {b['time_ms']:.1f} ms per "
                   f"{m['mode']} step at {self.where(m['length'])}")
            if kind == "relative_time":
                return 100.0 * a["time_ms"] / b["time_ms"], ctx
            return b["time_ms"] / a["time_ms"], ctx
        if kind == "fastest":
            models = [self.model(n) for n in m["models"]]
            rows = [self.row(n, m["mode"], m["length"]) for n in models]
            ranked = sorted(rows, key=lambda r: r["time_ms"])
            ctx = "; ".join(f"{r['model']} {r['time_ms']:.1f} ms" for r in ranked)
            return ranked[0]["model"], f"{m['mode']} at {self.where(m['length'])}: {ctx}"
        if kind == "peak_memory":
            model = self.model(m["model"])
            r = self.row(model, m["mode"], m["length"], need_ok=False)
            if not _has_peak(r):
                raise _Inconclusive(_cell_failure(r))
            note = "" if r["status"] == "ok" else f" (the peak of the runs done before: {r['error']})"
            return r["peak_mb"], (f"{model} {m['mode']} peak {r['peak_mb']:.0f} MB at "
                                  f"{self.where(m['length'])}, {r.get('params') or 0:,} parameters{note}")
        if kind == "arithmetic":
            value = m["batch"] * m["length"] ** 2 * m["bytes"] / 1e6
            return value, (f"{m['batch']} x {m['length']}^2 x {m['bytes']} bytes = "
                           f"{value * 1e6:.3g} bytes = {value:,.0f} MB ({value * 1e6 / memory.MB:,.0f} MiB) "
                           "for ONE head of ONE layer; a model with H heads and N layers "
                           f"stores H x N of them for training (8 heads: {8 * value / 1000:.2f} GB per layer)")
        if kind == "attention_memory":
            r = self._attention_row(m, m["impl"])
            return r["peak_mb"], (f"{m['impl']} attention peak {r['peak_mb']:.0f} MB at "
                                  f"B={r['batch']}, L={r['length']}, E={m.get('d_model', 512)}")
        if kind == "exponent":
            model = self.model(m["model"])
            rows = [self.row(model, m["mode"], n, need_ok=False) for n in m["lengths"]]
            # Memory may come from cells that timed out after complete runs; times may not.
            ok = [r for r in rows if r["status"] == "ok" or (m["metric"] == "memory" and _has_peak(r))]
            if len(ok) < 2:
                bad = next((r for r in rows if r["status"] != "ok"), None)
                raise _Inconclusive("fewer than two lengths measured" + (f": {_cell_failure(bad)}" if bad else ""))
            key = {"time": "time_ms", "memory": "peak_mb", "flops": "flops"}
            fit = _FITS[m.get("fit", "global")][0]

            def slope(metric: str) -> float:
                return fit([r["length"] for r in ok], [r[key[metric]] for r in ok])

            value = slope(m["metric"])
            if math.isnan(value):
                raise _Inconclusive(f"no {m['metric']} to fit")
            series = ", ".join(f"L={r['length']}: {_fmt(r[key[m['metric']]], m['metric'])}" for r in ok)
            how = _FITS[m.get("fit", "global")][1]
            ctx = f"{model} {m['mode']} {m['metric']} ({how}): {series}"
            if m.get("also"):
                ctx += f"; {m['also']} exponent {slope(m['also']):.2f}"
            return value, ctx
        raise SeqSelectError(f"unknown measure kind {kind!r}")

    def _attention_row(self, m: dict, impl: str) -> dict:
        r = self.attention.get((impl, *_attention_setting(m, self.st)))
        if r is None:
            raise _Inconclusive(f"{impl} attention was not measured")
        if r["status"] != "ok":
            raise _Inconclusive(_cell_failure(r))
        return r

    def judge(self, claim: dict) -> dict[str, Any]:
        out = {k: claim[k] for k in ("id", "section", "text", "guide", "guide_text", "unit")}
        m, rule = claim["measure"], claim["rule"]
        try:
            if rule["kind"] == "expect_oom":
                verdict, measured, why = self._oom(claim)
            else:
                measured, ctx = self.measure(m)
                guide = claim["guide"]
                scaled = self.st.quick and m.get("quick_scale", True)
                if scaled and m["kind"] == "attention_memory":
                    # The guide's number is B * L^2 * 4 bytes: rescale it to the quick cell.
                    batch, length = self.st.batch, self.st.length(m["length"])
                    scale = (batch * length**2) / (m["batch"] * m["length"] ** 2)
                    guide = guide * scale
                    ctx += f"; quick mode: the guide's formula at these settings gives {guide:.1f} MB"
                verdict, why = _apply_rule(rule, guide, measured)
                why = f"{why}. {ctx}"
                if self.st.quick and m["kind"] == "peak_memory":
                    verdict = "inconclusive"
                    why = ("quick mode: absolute memory compares with the guide only at its "
                           f"settings (n={m['length']}, batch 32); run without --quick. {ctx}")
        except _Inconclusive as exc:
            verdict, measured, why = "inconclusive", None, str(exc)
        if verdict == "does-not-hold" and claim.get("explain"):
            why = f"{why}. Why: {claim['explain']}"
        if verdict != "inconclusive" and _times(m):
            busy = self.busy(m)
            if busy:
                verdict, why = "inconclusive", f"{busy}. {why}"
        quick_cell = m["kind"] != "arithmetic" and m.get("quick_scale", True)
        if self.st.quick and verdict != "inconclusive" and quick_cell:
            why = f"{why} [quick settings]"
        out.update(measured=_round(measured), verdict=verdict, why=why)
        return out

    def busy(self, m: dict) -> str:
        """Why timings of this claim's cells cannot be trusted ('' when they can)."""
        names = _measure_models(m)
        lengths = m.get("lengths") or [m.get("length")]
        loads = [
            r["load_avg"] for r in self.rows.values()
            if r.get("load_avg") is not None
            and any(r["model"] == resolve_model(n, self.aliases, self.registered) for n in names)
            and r["length"] in {self.st.length(n) for n in lengths}
        ]
        cpus = os.cpu_count() or 1
        if loads and max(loads) > BUSY_LOAD * cpus:
            return (f"the machine was busy while these cells ran (load average up to "
                    f"{max(loads):.1f} on {cpus} CPUs), so their timings say little; rerun on an "
                    "idle machine")
        return ""

    def _oom(self, claim: dict) -> tuple[str, Any, str]:
        m = claim["measure"]
        needed = m.get("needed_mb")
        if "impl" in m:
            batch, length = _attention_setting(m, self.st)
            r = self.attention.get((m["impl"], batch, length))
            what = f"{m['impl']} attention at B={batch}, L={length}"
        else:
            model = self.model(m["model"])
            r = self.rows.get((model, m["mode"], self.st.length(m["length"])))
            what = f"{model} {m['mode']} at {self.where(m['length'])}"
        if r is None:
            raise _Inconclusive(f"{what} was not measured")
        if self.st.quick:
            raise _Inconclusive(
                f"quick mode measures {what}, not the guide's setting; run without --quick"
                + (f" (here it {'ran in ' + format(r['peak_mb'], '.0f') + ' MB' if r['status'] == 'ok' else 'ended ' + r['status']})")
            )
        compare = ""
        if "compare_impl" in m:
            c = self.attention.get((m["compare_impl"], *_attention_setting(m, self.st)))
            if c is not None and c["status"] == "ok":
                compare = f"; {m['compare_impl']} attention: {c['peak_mb']:.0f} MB"
        if r["status"] == "oom":
            return "holds", "out of memory", f"{what} ran out of memory here ({r.get('error', '')[:160]})"
        if r["status"] == "skipped":
            return "holds", "out of memory", f"{what} not attempted: {r.get('error')}"
        if not _has_peak(r):
            raise _Inconclusive(_cell_failure(r))
        need = f" of the claimed {needed / 1000:g} GB" if needed else ""
        share = f" ({100 * r['peak_mb'] / needed:.0f}%{need})" if needed else ""
        if r["status"] == "ok":
            how = f"{r['time_ms'] / 1000:.1f} s per step"
        else:
            runs = r["partial"]["runs_done"]
            how = f"{runs} complete run(s) before the {r['status']}, {r['partial']['run_ms'][0] / 1000:.0f} s each"
        return ("does-not-hold", r["peak_mb"], f"{what} ran in {r['peak_mb']:.0f} MB{share}, {how}{compare}")


class _Inconclusive(Exception):
    pass


# A cell's timing is not trusted when the 1-minute load average exceeds this many
# runnable processes per CPU: other work was competing for the cores.
BUSY_LOAD = 1.25

_FITS = {
    "global": (fit_exponent, "least-squares log-log slope"),
    "local": (local_exponent, "slope between the two largest lengths"),
    "offset": (fit_exponent_offset, "k of c + a L^k"),
}


def _times(m: dict) -> bool:
    """Does this measure rest on timings?"""
    if m["kind"] in ("relative_time", "speedup", "fastest"):
        return True
    return m["kind"] == "exponent" and m["metric"] == "time"


def _has_peak(r: dict) -> bool:
    """The cell finished, or completed at least one run before it timed out or was
    killed (every run allocates alike, so that peak is the cell's)."""
    return r.get("peak_mb") is not None and (r["status"] == "ok" or bool(r.get("partial")))


def _cell_failure(r: dict) -> str:
    name = r.get("model") or f"{r.get('impl')} attention"
    return f"{name} {r.get('mode', 'infer')} L={r.get('length')} ended {r['status']}: {r.get('error') or ''}".strip()


def _fmt(v: float | None, metric: str) -> str:
    if v is None:
        return "-"
    if metric == "flops":
        return f"{v / 1e9:.3g} GFLOP"
    if metric == "memory":
        return f"{v:.0f} MB"
    return f"{v:.1f} ms"


def _round(v: Any) -> Any:
    return round(v, 3) if isinstance(v, float) else v


def _apply_rule(rule: dict, guide: Any, measured: Any) -> tuple[str, str]:
    kind = rule["kind"]
    if kind == "within_factor":
        f = float(rule["factor"])
        ratio = measured / guide
        verdict = "holds" if 1 / f <= ratio <= f else "does-not-hold"
        return verdict, f"measured / guide = {ratio:.2f} (holds within x{f:g} either way)"
    if kind == "range":
        lo, hi = guide
        t = float(rule.get("tolerance", 1.0))
        verdict = "holds" if lo / t <= measured <= hi * t else "does-not-hold"
        return verdict, f"{measured:.2f} against {lo:g}-{hi:g} (tolerance x{t:g}: {lo / t:.2f}-{hi * t:.2f})"
    if kind == "equals":
        verdict = "holds" if measured == guide else "does-not-hold"
        return verdict, f"fastest measured: {measured}"
    if kind in ("exponent", "exponent_range"):
        t = float(rule["tolerance"])
        lo, hi = (guide, guide) if kind == "exponent" else guide
        verdict = "holds" if lo - t <= measured <= hi + t else "does-not-hold"
        want = f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"
        return verdict, f"exponent {measured:.2f} against {want} ± {t:g}"
    raise SeqSelectError(f"unknown rule kind {kind!r}")


def judge_claims(data: dict[str, Any], st: Settings, registered: Sequence[str],
                 rows: list[dict], attention_rows: list[dict]) -> list[dict[str, Any]]:
    """One verdict per claim from measured rows: ``{"id", "text", "guide", "measured",
    "verdict", "why", ...}``."""
    judge = _Judge(data, st, registered, rows, attention_rows)
    return [judge.judge(c) for c in data["claims"]]


# ---- the run -----------------------------------------------------------------------------
def verify_claims(
    quick: bool = False,
    *,
    device: str = "auto",
    threads: int | None = None,
    only: Sequence[str] | None = None,
    progress: bool | Callable[[dict], None] = True,
    timeout_s: float | None = None,
    claims: dict[str, Any] | None = None,
    cache: str | os.PathLike | None = None,
) -> VerifyReport:
    """Measure the cells the guide's claims need and judge every claim.

    Args:
        quick: scale lengths and batch down (``claims.json`` ``settings.quick``); the
            report says so, and absolute-memory and out-of-memory claims, which only
            compare at the guide's settings, become inconclusive.
        only: claim ids to check (default: all).
        timeout_s: per cell (default from the settings: 1200 s full, 180 s quick).
        claims: a claims document (default: the shipped ``claims.json``).
        cache: a JSON-lines file that keeps every finished cell; a run that is stopped
            and started again with the same file (and settings) runs only what is missing.
    """
    from seqselect.models import list_models

    data = claims or load_claims()
    if only:
        unknown = sorted(set(only) - {c["id"] for c in data["claims"]})
        if unknown:
            raise SeqSelectError(f"unknown claim id(s): {', '.join(unknown)}")
        data = {**data, "claims": [c for c in data["claims"] if c["id"] in set(only)]}
    st = settings_for(data, quick)
    if timeout_s is not None:
        st = Settings(**{**st.__dict__, "timeout_s": float(timeout_s)})
    device = resolve_device(device)
    registered = list_models()
    model_cells, attention_cells = plan_cells(data, st, registered)
    log.info("verify-claims: %d model cells, %d attention cells", len(model_cells), len(attention_cells))
    store = _CellCache(cache, st, device)
    # The FLOP-counting pass costs one more step per cell: only where a claim reads FLOPs.
    flop_keys = _flop_cells(data, st, registered)
    rows = [r for c in model_cells if (r := store.get(("model", *c))) is not None]
    for wants_flops in (True, False):
        cells = [c for c in model_cells
                 if ((c[0], c[1]) in flop_keys) == wants_flops and store.get(("model", *c)) is None]
        rows += run_cells(
            cells, batch=st.batch, params=st.params, repeats=st.repeats, warmup=st.warmup,
            device=device, threads=threads, timeout_s=st.timeout_s, progress=progress,
            count_flops=wants_flops, on_row=lambda r: store.put(("model", r["model"], r["mode"], r["length"]), r),
        )
    attention_rows = []
    for cell in attention_cells:
        key = ("attention", cell["impl"], cell["batch"], cell["length"])
        row = store.get(key)
        if row is None:
            row = _run_attention(cell, device, threads, st.timeout_s)
            store.put(key, row)
        attention_rows.append(row)
    verdicts = judge_claims(data, st, registered, rows, attention_rows)
    settings = {**st.__dict__, "description": st.describe(), "device": device,
                "why_params": data["settings"].get("why_params", "")}
    return VerifyReport(settings=settings, environment=environment(device, threads),
                        claims=verdicts, cells=[*rows, *attention_rows])


class _CellCache:
    """Finished cells, one JSON line each, keyed by the cell and the run's settings."""

    def __init__(self, path: str | os.PathLike | None, st: Settings, device: str):
        self.path = None if path is None else Path(path)
        self.tag = [st.batch, st.params, st.repeats, st.warmup, device]
        self.rows: dict[str, dict] = {}
        if self.path is not None and self.path.exists():
            for line in self.path.read_text().splitlines():
                if line.strip():
                    entry = json.loads(line)
                    self.rows[entry["key"]] = entry["row"]

    def _key(self, cell: tuple) -> str:
        return json.dumps([*cell, *self.tag])

    def get(self, cell: tuple) -> dict | None:
        return self.rows.get(self._key(cell))

    def put(self, cell: tuple, row: dict) -> None:
        key = self._key(cell)
        self.rows[key] = row
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as f:
                f.write(json.dumps({"key": key, "row": row}, default=str) + "\n")


def _flop_cells(data: dict[str, Any], st: Settings, registered: Sequence[str]) -> set[tuple[str, str]]:
    """(model, mode) pairs whose FLOPs some claim reads."""
    aliases = data["settings"].get("aliases", {})
    out = set()
    for c in data["claims"]:
        m = c["measure"]
        if m["kind"] == "exponent" and "flops" in (m["metric"], m.get("also")):
            model = resolve_model(m["model"], aliases, registered)
            if model is not None:
                out.add((model, m["mode"]))
    return out


def _run_attention(cell: dict[str, Any], device: str, threads: int | None, timeout_s: float) -> dict:
    """One bare-attention cell, skipped when the naive L x L matrices cannot fit."""
    B, L, H = cell["batch"], cell["length"], cell["n_heads"]
    base = {"model": None, "impl": cell["impl"], "batch": B, "length": L, "mode": "infer",
            "time_ms": None, "peak_mb": None, "flops": None, "params": 0}
    # naive: the scores and their softmax coexist; fused: a few blocks.
    estimate = (2 * B * H * L * L * 4 / memory.MB) if cell["impl"] == "naive" else 0.0
    free = memory.free_memory_mb(device)
    if free is not None and estimate > 0.9 * free:
        return {**base, "status": "skipped", "estimate_mb": round(estimate, 1),
                "error": f"estimated {estimate:,.0f} MB exceeds the free memory ({free:,.0f} MB)"}
    row = measure_cell(
        f"attention-{cell['impl']}", L, "infer", batch=B, params=None, repeats=cell["repeats"],
        warmup=cell["warmup"], device=device, threads=threads, timeout_s=timeout_s,
        kind="attention", impl=cell["impl"], d_model=cell["d_model"], n_heads=H,
        count_flops=False,
    )
    return {**base, **row, "impl": cell["impl"], "estimate_mb": round(estimate, 1)}


__all__ = [
    "MEASURE_KINDS",
    "RULE_KINDS",
    "VERDICTS",
    "Settings",
    "VerifyReport",
    "describe_measure",
    "format_measured",
    "judge_claims",
    "load_claims",
    "plan_cells",
    "settings_for",
    "verify_claims",
]
