"""The guide's claims (``claims.json``) and the cells that measure them.

Each claim carries the guide's number, how it is measured (``measure``) and when it
holds (``rule``). This module reads the file, fixes the settings one verification runs
at (the guide's, or scaled down with ``quick``) and plans the model cells and the
bare-attention cells the claims need.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

# Measure kinds whose value is a timing: a busy machine makes them inconclusive.
TIMING_MEASURES = ("relative_time", "speedup", "fastest")


def load_claims() -> dict[str, Any]:
    """The claims data file shipped with the package (``seqselect/bench/claims.json``)."""
    text = resources.files("seqselect.bench").joinpath("claims.json").read_text()
    return json.loads(text)


@dataclass(frozen=True)
class VerifySettings:
    """The settings one verification runs at (the guide's, or scaled down by quick)."""

    quick: bool
    batch: int
    params: int
    repeats: int
    warmup: int
    length_scale: float
    timeout_s: float

    def length(self, guide_length: int) -> int:
        """The length measured for one the guide names (scaled in quick mode)."""
        return max(2, round(guide_length * self.length_scale))

    def describe(self) -> str:
        tag = ("QUICK (scaled down, not the guide's settings)" if self.quick
               else "the guide's settings")
        return (f"{tag}: lengths x{self.length_scale:g}, batch {self.batch}, "
                f"params {self.params:,}, {self.repeats} timed repeats after "
                f"{self.warmup} warm-up")


def settings_for(data: dict[str, Any], quick: bool) -> VerifySettings:
    s = data["settings"]["quick" if quick else "full"]
    return VerifySettings(quick=quick, batch=int(s["batch"]), params=int(s["params"]),
                          repeats=int(s["repeats"]), warmup=int(s["warmup"]),
                          length_scale=float(s["length_scale"]),
                          timeout_s=float(s["timeout_s"]))


@dataclass(frozen=True)
class AttentionCell:
    """A bare attention over ``q, k, v: (B, H, L, E)`` with ``E = d_model / H``."""

    impl: str  # naive (stores the L x L scores) or sdpa (fused)
    batch: int
    length: int
    d_model: int = 512
    n_heads: int = 1
    repeats: int = 1
    warmup: int = 0


def resolve_model(name: str, aliases: dict[str, list[str]],
                  registered: Sequence[str]) -> str | None:
    """A model name, or an alias (``sparse``, ``ssm``) -> its first registered member."""
    if name in aliases:
        return next((m for m in aliases[name] if m in registered), None)
    return name if name in registered else None


def models_named(measure: dict[str, Any]) -> list[str]:
    """The model names (or aliases) a measure reads."""
    if "models" in measure:
        return list(measure["models"])
    return [measure[k] for k in ("model", "baseline") if k in measure]


def rests_on_timings(measure: dict[str, Any]) -> bool:
    """Does this measure's value come from timings?"""
    if measure["kind"] in TIMING_MEASURES:
        return True
    return measure["kind"] == "exponent" and measure["metric"] == "time"


def attention_setting(measure: dict[str, Any], st: VerifySettings) -> tuple[int, int]:
    """(batch, length) of an attention cell: scaled in quick mode unless the measure says
    ``quick_scale: false`` (cheap enough at the guide's own setting)."""
    if st.quick and measure.get("quick_scale", True):
        return st.batch, st.length(measure["length"])
    return int(measure["batch"]), int(measure["length"])


def attention_cells(measure: dict[str, Any], st: VerifySettings) -> list[AttentionCell]:
    """The attention cells of one measure: its ``impl`` and its ``compare_impl``."""
    impls = [measure["impl"], *([measure["compare_impl"]] if "compare_impl" in measure else [])]
    batch, length = attention_setting(measure, st)
    return [
        AttentionCell(impl=impl, batch=batch, length=length,
                      d_model=measure.get("d_model", 512), n_heads=measure.get("n_heads", 1),
                      repeats=measure.get("repeats", 1), warmup=measure.get("warmup", 0))
        for impl in impls
    ]


def plan_cells(data: dict[str, Any], st: VerifySettings, registered: Sequence[str],
               ) -> tuple[list[tuple[str, str, int]], list[AttentionCell]]:
    """The model cells ``(model, mode, length)`` (sorted so each model's lengths ascend)
    and the attention cells every claim needs, with unresolved names left out."""
    aliases = data["settings"].get("aliases", {})
    model_cells: set[tuple[str, str, int]] = set()
    attention: dict[tuple, AttentionCell] = {}
    for claim in data["claims"]:
        m = claim["measure"]
        if m["kind"] == "arithmetic":
            continue
        if "impl" in m:
            for cell in attention_cells(m, st):
                key = (cell.impl, cell.batch, cell.length, cell.d_model, cell.n_heads)
                attention[key] = cell
            continue
        lengths = m.get("lengths") or [m["length"]]
        for name in models_named(m):
            model = resolve_model(name, aliases, registered)
            if model is not None:
                model_cells.update((model, m["mode"], st.length(n)) for n in lengths)
    return sorted(model_cells), list(attention.values())


def flop_cells(data: dict[str, Any], registered: Sequence[str]) -> set[tuple[str, str]]:
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


__all__ = [
    "AttentionCell",
    "VerifySettings",
    "attention_cells",
    "flop_cells",
    "load_claims",
    "models_named",
    "plan_cells",
    "resolve_model",
    "rests_on_timings",
    "settings_for",
]
