"""The report's figures, drawn with matplotlib's Agg backend and returned as PNG bytes.

Every function takes the bake-off's records (leaderboard rows, trials; benchmark cells
as stored), returns ``bytes`` or None when there is nothing to draw, and never shows a
window. Names drawn in a figure have
their ``$`` escaped, so they never start mathtext.
"""

from __future__ import annotations

import io
import math
from typing import Any

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt

from seqselect.bakeoff.decide import TEST_ROLES
from seqselect.bakeoff.records import LeaderboardRow, ScalingCell, Trial

__all__ = [
    "escape_mathtext", "learning_curves", "pareto", "pareto_front", "scaling", "seed_spread",
]

_RC = {"figure.dpi": 100, "savefig.bbox": "tight", "font.size": 9}


def escape_mathtext(text: Any) -> str:
    """Text for a label: a ``$`` in a name must not start mathtext."""
    return str(text).replace("$", r"\$")


def _colors(names: list[str]) -> dict[str, Any]:
    cmap = plt.get_cmap("tab10")
    return {n: cmap(i % 10) for i, n in enumerate(names)}


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def pareto_front(points: list[tuple[str, float, float]], higher_better: bool) -> list[str]:
    """Names on the front of (cost, score): no other point is at least as cheap and at
    least as good, and strictly better in one."""
    front = []
    for name, cost, score in points:
        dominated = False
        for other, c2, s2 in points:
            if other == name:
                continue
            better = s2 >= score if higher_better else s2 <= score
            strictly = (s2 > score if higher_better else s2 < score) or c2 < cost
            if c2 <= cost and better and strictly:
                dominated = True
                break
        if not dominated:
            front.append(name)
    return front


def pareto(
    leaderboard: list[LeaderboardRow], metric: str, higher_better: bool, winner: str | None
) -> bytes | None:
    """Validation metric (mean ± std, what selects) against single-sequence latency; the
    front joined; baselines drawn as squares."""
    rows = [r for r in leaderboard if _finite(r.val_value) and _finite(r.latency_ms)]
    if not rows:
        return None
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        colors = _colors([r.model for r in leaderboard])
        for r in rows:
            won = r.model == winner
            baseline = r.kind == "baseline"
            label = escape_mathtext(r.model + (" (baseline)" if baseline else ""))
            ax.errorbar(
                r.latency_ms, r.val_value, yerr=r.val_std or 0.0, fmt="s" if baseline else "o",
                ms=8 if won else 6, color=colors[r.model], capsize=3, label=label,
                markeredgecolor="black" if won else None,
            )
            ax.annotate(
                escape_mathtext(r.model), (r.latency_ms, r.val_value),
                textcoords="offset points", xytext=(6, 4), fontsize=8,
            )
        front = pareto_front(
            [(r.model, r.latency_ms, r.val_value) for r in rows], higher_better
        )
        pts = sorted((r.latency_ms, r.val_value) for r in rows if r.model in front)
        if len(pts) > 1:
            ax.step(
                [p[0] for p in pts], [p[1] for p in pts], where="post", color="gray", ls="--",
                lw=1, label="Pareto front",
            )
        ax.set_xscale("log")
        ax.set_xlabel("latency per sequence, ms (log scale; left is faster)")
        direction = "higher" if higher_better else "lower"
        ax.set_ylabel(escape_mathtext(f"validation {metric} ({direction} is better)"))
        title = f"validation {metric} vs latency: the front holds what nothing beats on both"
        ax.set_title(escape_mathtext(title))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        return _png(fig)


def seed_spread(
    trials: list[Trial], models: list[str], metric: str, higher_better: bool
) -> bytes | None:
    """Each seed's test metric per model (dots) with the mean (bar); tested trials only
    (the folds of cross-validation never see the test split)."""
    data = {
        m: [
            t.metrics.get(metric) for t in trials
            if t.model == m and t.status == "ok" and t.role in TEST_ROLES
            and _finite(t.metrics.get(metric))
        ]
        for m in models
    }
    data = {m: v for m, v in data.items() if v}
    if not data:
        return None
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.4, 0.9 + 0.45 * len(data)))
        colors = _colors(models)
        for i, (m, vals) in enumerate(data.items()):
            ax.scatter(vals, [i] * len(vals), color=colors[m], zorder=3, s=28)
            mean = sum(vals) / len(vals)
            ax.plot([mean, mean], [i - 0.3, i + 0.3], color="black", lw=2)
        ax.set_yticks(range(len(data)), [escape_mathtext(m) for m in data])
        ax.invert_yaxis()
        direction = "higher" if higher_better else "lower"
        ax.set_xlabel(
            escape_mathtext(f"test {metric} per seed (bar: mean; {direction} is better)")
        )
        ax.set_title("Spread of test scores over seeds")
        ax.grid(True, axis="x", alpha=0.3)
        return _png(fig)


def learning_curves(trials: list[Trial], models: list[str]) -> bytes | None:
    """Validation metric (or loss) against training time, one line per trial."""
    curves = [t for t in trials if t.history]
    if not curves:
        return None
    has_metric = any(_finite(h.get("val_metric")) for t in curves for h in t.history)
    key = "val_metric" if has_metric else "val_loss"
    train_key = "train_loss"
    with plt.rc_context(_RC):
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.6, 3.6))
        colors = _colors(models)
        labelled: set[str] = set()
        for t in curves:
            xs = [h.get("elapsed_s", h.get("step")) for h in t.history]
            for ax, k in ((ax1, key), (ax2, train_key)):
                pts = [
                    (x, h.get(k)) for x, h in zip(xs, t.history, strict=False)
                    if _finite(x) and _finite(h.get(k))
                ]
                if pts:
                    first = ax is ax1 and t.model not in labelled
                    label = escape_mathtext(t.model) if first else None
                    if label:
                        labelled.add(t.model)
                    ax.plot(
                        [p[0] for p in pts], [p[1] for p in pts],
                        color=colors.get(t.model, "gray"), alpha=0.8, lw=1.2, label=label,
                    )
        ax1.set_title(f"validation {'metric' if key == 'val_metric' else 'loss'}")
        ax2.set_title("training loss")
        for ax in (ax1, ax2):
            ax.set_xlabel("training time, s")
            ax.grid(True, alpha=0.3)
        losses = [h.get(train_key) for t in curves for h in t.history]
        if all((v or 0) > 0 for v in losses if _finite(v)):
            ax2.set_yscale("log")
        if labelled:
            ax1.legend(fontsize=7)
        return _png(fig)


def scaling(cells: list[ScalingCell]) -> bytes | None:
    """Benchmark cells: time and peak memory against sequence length (log-log)."""
    ok = [c for c in cells if c.status == "ok" and _finite(c.length)]
    if not ok:
        return None
    models = sorted({c.model for c in ok})
    modes = sorted({c.mode or "" for c in ok})
    with plt.rc_context(_RC):
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.6, 3.8))
        colors = _colors(models)
        styles = ["-", "--", ":", "-."]
        for m in models:
            for j, mode in enumerate(modes):
                pts = sorted(
                    (c.length, c.ms, c.peak_mb) for c in ok
                    if c.model == m and (c.mode or "") == mode
                )
                label = escape_mathtext(m + (f" ({mode})" if mode else ""))
                style = {"marker": "o", "ms": 3, "ls": styles[j % 4], "color": colors[m]}
                times = [(p[0], p[1]) for p in pts if _finite(p[1]) and p[1] > 0]
                memory = [(p[0], p[2]) for p in pts if _finite(p[2]) and p[2] > 0]
                if times:
                    ax1.plot([p[0] for p in times], [p[1] for p in times], label=label, **style)
                if memory:
                    ax2.plot([p[0] for p in memory], [p[1] for p in memory], label=label, **style)
        for ax, ylabel in ((ax1, "time, ms"), (ax2, "peak memory, MB")):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("sequence length L")
            ax.set_ylabel(ylabel)
            ax.grid(True, which="both", alpha=0.3)
        ax1.set_title("Scaling: time vs length")
        ax2.set_title("Scaling: memory vs length")
        ax1.legend(fontsize=7)
        return _png(fig)
