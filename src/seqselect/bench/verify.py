"""``verify-claims``: re-measure every quantitative claim of the guide on this machine.

1. :mod:`seqselect.bench.claims` plans the cells the claims need (model cells and
   bare-attention cells), at the guide's settings or, with ``quick=True``, scaled down
   (and says so);
2. this module runs them through the harness (fresh subprocess per cell, memory check,
   time-out), keeping finished cells in an optional cache;
3. :mod:`seqselect.bench.judge` judges each claim: ``holds``, ``does-not-hold`` or
   ``inconclusive``, always with why.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqselect import system
from seqselect.bench.claims import (
    AttentionCell,
    VerifySettings,
    flop_cells,
    load_claims,
    plan_cells,
    settings_for,
)
from seqselect.bench.harness import FREE_MEMORY_SHARE, device_name, measure_with, run_cells
from seqselect.bench.judge import VERDICTS, format_measured, judge_claims
from seqselect.bench.progress import ProgressArg
from seqselect.bench.records import BenchCell
from seqselect.bench.settings import BenchSettings
from seqselect.errors import SeqSelectError

log = logging.getLogger(__name__)


@dataclass
class VerifyReport:
    """Verdicts per claim plus everything needed to audit them (settings, environment,
    every measured cell)."""

    settings: dict[str, Any]
    environment: dict[str, Any]
    claims: list[dict[str, Any]]
    cells: list[BenchCell] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "environment": self.environment,
                "claims": self.claims, "cells": [c.to_dict() for c in self.cells]}

    def counts(self) -> dict[str, int]:
        return {v: sum(c["verdict"] == v for c in self.claims) for v in VERDICTS}

    def to_markdown(self) -> str:
        env = self.environment
        gpu = " " + env["gpu"] if env.get("gpu") else ""
        lines = [
            "# The guide's claims, measured",
            "",
            f"Settings: {self.settings['description']}.",
            f"Machine: {env.get('cpu')} ({env.get('threads')} threads), device "
            f"{env.get('device')}{gpu}, torch {env.get('torch')}.",
            "",
            "| claim | guide | measured | verdict | why |",
            "|---|---|---|---|---|",
        ]
        for c in self.claims:
            cells = [c["text"], c["guide_text"], format_measured(c), f"**{c['verdict']}**",
                     c["why"]]
            lines.append("| " + " | ".join(str(x).replace("|", "\\|") for x in cells) + " |")
        n = self.counts()
        lines += ["", f"{n['holds']} hold, {n['does-not-hold']} do not hold, "
                      f"{n['inconclusive']} inconclusive."]
        return "\n".join(lines) + "\n"


class CellCache:
    """Finished cells, one JSON line each, keyed by the cell and the run's settings."""

    def __init__(self, path: str | os.PathLike | None, st: VerifySettings, device: str):
        self.path = None if path is None else Path(path)
        self.tag = [st.batch, st.params, st.repeats, st.warmup, device]
        self.cells: dict[str, BenchCell] = {}
        if self.path is not None and self.path.exists():
            for line in self.path.read_text().splitlines():
                if line.strip():
                    entry = json.loads(line)
                    self.cells[entry["key"]] = BenchCell.from_dict(entry["row"])

    def _key(self, cell: tuple) -> str:
        return json.dumps([*cell, *self.tag])

    def get(self, cell: tuple) -> BenchCell | None:
        return self.cells.get(self._key(cell))

    def put(self, cell: tuple, measured: BenchCell) -> None:
        key = self._key(cell)
        self.cells[key] = measured
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as f:
                f.write(json.dumps({"key": key, "row": measured.to_dict()}, default=str) + "\n")


def run_attention(cell: AttentionCell, settings: BenchSettings) -> BenchCell:
    """One bare-attention cell, skipped when the naive L x L matrices cannot fit."""
    base = BenchCell(model=None, impl=cell.impl, batch=cell.batch, length=cell.length,
                     mode="infer", status="error", params=0)
    # naive: the scores and their softmax coexist; fused: a few blocks.
    estimate = (2 * cell.batch * cell.n_heads * cell.length**2 * 4 / system.MB
                if cell.impl == "naive" else 0.0)
    free = system.free_memory_mb(settings.device)
    if free is not None and estimate > FREE_MEMORY_SHARE * free:
        return dataclasses.replace(
            base, status="skipped", estimate_mb=round(estimate, 1),
            error=f"estimated {estimate:,.0f} MB exceeds the free memory ({free:,.0f} MB)")
    cell_settings = dataclasses.replace(settings, batch=cell.batch, params=None,
                                        repeats=cell.repeats, warmup=cell.warmup,
                                        count_flops=False)
    measured = measure_with(cell_settings, f"attention-{cell.impl}", cell.length, "infer",
                            kind="attention",
                            attention={"impl": cell.impl, "d_model": cell.d_model,
                                       "n_heads": cell.n_heads})
    return dataclasses.replace(measured, impl=cell.impl, estimate_mb=round(estimate, 1))


def _select_claims(data: dict[str, Any], only: Sequence[str] | None) -> dict[str, Any]:
    if not only:
        return data
    unknown = sorted(set(only) - {c["id"] for c in data["claims"]})
    if unknown:
        raise SeqSelectError(f"unknown claim id(s): {', '.join(unknown)}")
    return {**data, "claims": [c for c in data["claims"] if c["id"] in set(only)]}


def _measure_model_cells(data: dict, registered: Sequence[str],
                         model_cells: list, settings: BenchSettings, store: CellCache,
                         progress: ProgressArg) -> list[BenchCell]:
    """Cached cells, then the missing ones; the FLOP-counting pass costs one more step
    per cell, so only cells some claim reads FLOPs of count them."""
    wants = flop_cells(data, registered)
    done = [c for key in model_cells if (c := store.get(("model", *key))) is not None]
    for count_flops in (True, False):
        todo = [key for key in model_cells
                if ((key[0], key[1]) in wants) == count_flops
                and store.get(("model", *key)) is None]
        done += run_cells(
            todo, dataclasses.replace(settings, count_flops=count_flops), progress=progress,
            on_cell=lambda c: store.put(("model", c.model, c.mode, c.length), c),
        )
    return done


def verify_claims(
    quick: bool = False,
    *,
    device: str = "auto",
    threads: int | None = None,
    only: Sequence[str] | None = None,
    progress: ProgressArg = True,
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

    data = _select_claims(claims or load_claims(), only)
    st = settings_for(data, quick)
    if timeout_s is not None:
        st = dataclasses.replace(st, timeout_s=float(timeout_s))
    device = device_name(device)
    settings = BenchSettings(batch=st.batch, params=st.params, repeats=st.repeats,
                             warmup=st.warmup, device=device, threads=threads,
                             timeout_s=st.timeout_s)
    registered = list_models()
    model_cells, attention_cells = plan_cells(data, st, registered)
    log.info("verify-claims: %d model cells, %d attention cells", len(model_cells),
             len(attention_cells))
    store = CellCache(cache, st, device)
    cells = _measure_model_cells(data, registered, model_cells, settings, store, progress)
    attention = []
    for cell in attention_cells:
        key = ("attention", cell.impl, cell.batch, cell.length)
        measured = store.get(key)
        if measured is None:
            measured = run_attention(cell, settings)
            store.put(key, measured)
        attention.append(measured)
    verdicts = judge_claims(data, st, registered, cells, attention)
    run_settings = {**dataclasses.asdict(st), "description": st.describe(), "device": device,
                    "why_params": data["settings"].get("why_params", "")}
    environment = {**system.describe_environment(device, threads), "dtype": "float32"}
    return VerifyReport(settings=run_settings, environment=environment, claims=verdicts,
                        cells=[*cells, *attention])


__all__ = ["CellCache", "VerifyReport", "run_attention", "verify_claims"]
