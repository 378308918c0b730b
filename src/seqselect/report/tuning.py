"""The report's ``--tune`` section: each candidate's search — validation score against
configuration number (pruned ones marked), the chosen configuration, and Optuna's
parameter importances where it can compute them (two or more COMPLETE configurations
whose values differ)."""

from __future__ import annotations

import io
import warnings
from typing import Any

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt
import optuna

from seqselect.bakeoff.tune import replay
from seqselect.bakeoff.tune_store import ConfigRow
from seqselect.formatting import format_number
from seqselect.models.search_spaces import Param
from seqselect.report.plots import escape_mathtext

__all__ = ["importances", "search_history", "tuning_sections"]

_STATE_STYLE = {"COMPLETE": ("o", "#1565c0"), "PRUNED": ("x", "#b26a00"), "FAIL": ("s", "#c62828")}


def _rows(search: dict[str, Any]) -> list[ConfigRow]:
    return [
        ConfigRow(
            model=r["model"], number=r["number"], state=r["state"], params=r["params"],
            value=r["value"], intermediate={int(k): v for k, v in r["intermediate"].items()},
            config=r.get("config") or {}, wall_s=r.get("wall_s") or 0.0,
        )
        for r in search.get("history", [])
    ]


def search_history(tuning: dict[str, Any], metric: str) -> bytes | None:
    """PNG: validation score vs configuration number, one panel per candidate."""
    if not tuning:
        return None
    models = list(tuning)
    fig, axes = plt.subplots(1, len(models), figsize=(3.6 * len(models), 2.8), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        for row in _rows(tuning[model]):
            if row.value is None:
                continue
            marker, color = _STATE_STYLE.get(row.state, ("o", "gray"))
            ax.scatter([row.number], [row.value], marker=marker, color=color, label=row.state)
        chosen = tuning[model].get("chosen") or {}
        if chosen.get("number") is not None:
            ax.scatter([chosen["number"]], [chosen["value"]], s=140, facecolors="none",
                       edgecolors="#2e7d32", linewidths=2, label="chosen")
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))
        if unique:
            ax.legend(unique.values(), unique.keys(), fontsize=7)
        ax.set_title(escape_mathtext(model))
        ax.set_xlabel("configuration")
        ax.set_ylabel(f"validation {escape_mathtext(metric)}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _space_of(rows: list[ConfigRow]) -> tuple[Param, ...]:
    """The searched parameters as the rows hold them (ranges from their own values)."""
    names = dict.fromkeys(k for r in rows for k in r.params)
    space = []
    for name in names:
        values = [r.params[name] for r in rows if name in r.params]
        if all(isinstance(v, float) for v in values):
            low, high = min(values), max(values)
            space.append(Param(name, "train", "float", low, max(high, low + 1e-12)))
        else:
            space.append(Param(name, "model", "categorical", choices=tuple(dict.fromkeys(values))))
    return tuple(space)


def importances(search: dict[str, Any], higher: bool) -> dict[str, float] | None:
    """Optuna's parameter importances of one search (None where not computable)."""
    rows = [r for r in _rows(search) if r.state == "COMPLETE"]
    if len(rows) < 2 or len({r.value for r in rows}) < 2:  # nothing to explain
        return None
    try:
        study = replay(rows, _space_of(rows), "maximize" if higher else "minimize", seed=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = optuna.importance.get_param_importances(study)
        return {k: float(v) for k, v in found.items()}
    # Optuna refuses (a constant score, a single distinct value per parameter): the
    # report says "not computable" rather than invent one.
    except (RuntimeError, ValueError, ZeroDivisionError):
        return None


def _png(png: bytes | None, alt: str) -> str:
    import base64

    if not png:
        return f'<p class="muted">{alt}: nothing to plot.</p>'
    return f'<img alt="{alt}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def tuning_sections(result, escape) -> list[str]:
    """The HTML of the section ([] without a search); ``escape`` the page's escaper."""
    tuning = getattr(result, "tuning", None) or {}
    if not tuning:
        return []
    from seqselect.vocabulary import higher_is_better

    higher = higher_is_better(result.metric)
    rows = []
    for model, search in tuning.items():
        chosen = search.get("chosen") or {}
        weights = importances(search, higher)
        weight_text = (
            ", ".join(f"{escape(k)} {format_number(v, 2)}" for k, v in weights.items())
            if weights else "not computable (under 2 finished configurations that differ)"
        )
        params = " ".join(f"{escape(k)}={escape(format_number(v, 3))}"
                          for k, v in (chosen.get("params") or {}).items())
        rows.append(
            f'<tr><td class="l">{escape(model)}</td><td>{escape(chosen.get("number"))}</td>'
            f'<td>{escape(format_number(chosen.get("value"), 4))}</td>'
            f'<td>{escape(chosen.get("n_configs"))}</td><td>{escape(chosen.get("n_pruned"))}</td>'
            f'<td class="l">{params or "defaults"}</td><td class="l">{weight_text}</td></tr>'
        )
    head = "".join(f"<th{' class=l' if i in (0, 5, 6) else ''}>{h}</th>" for i, h in enumerate(
        ("model", "chosen #", "validation", "tried", "pruned", "configuration", "importance")))
    png = search_history(tuning, result.metric)
    return [
        "<h2>Hyper-parameter search (--tune)</h2>",
        '<p class="muted">Each candidate searched for the same wall time; configurations '
        "scored on validation only (the protocol's fold 0, or the validation split); the "
        "seeds then trained the chosen one.</p>",
        f'<table class="search"><tr>{head}</tr>{"".join(rows)}</table>',
        _png(png, "Search history"),
    ]
