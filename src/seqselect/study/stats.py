"""A study's summary across datasets: each model's mean rank, wins/ties/losses of every
pair, pairwise Wilcoxon signed-rank tests with Holm's correction (scipy), and the
critical-difference diagram (aeon's ``plot_critical_difference``).

Scores are each model's mean test score on a dataset (reported, never used to select:
each bake-off selected on validation). Models are compared on the datasets where both
have a score; the mean rank and the diagram use the datasets where every model has one.
"""

from __future__ import annotations

import io
import itertools
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["Pair", "Summary", "critical_difference_png", "holm", "rank_row", "summarize"]

#: Scores closer than this are a tie.
TIE = 1e-9


def rank_row(scores: dict[str, float], higher: bool) -> dict[str, float]:
    """Ranks of ``scores`` on one dataset: 1 is the best, ties get the mean rank."""
    names = list(scores)
    values = np.array([scores[n] for n in names], dtype=float)
    ranks = stats.rankdata(-values if higher else values, method="average")
    return {n: float(r) for n, r in zip(names, ranks, strict=True)}


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment of ``p_values`` (same order), capped at 1."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    m = len(p_values)
    adjusted = [1.0] * m
    running = 0.0
    for step, i in enumerate(order):
        running = max(running, min(1.0, (m - step) * p_values[i]))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class Pair:
    """``a`` against ``b`` over the datasets both have: wins, ties, losses of ``a``, the
    two-sided Wilcoxon signed-rank p-value and its Holm adjustment over all pairs."""

    a: str
    b: str
    wins: int
    ties: int
    losses: int
    n: int
    p: float | None
    p_holm: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Summary:
    models: list[str]  # by mean rank, best first
    datasets: list[str]  # those every model has a score on (else: every dataset, ranking
    # only the models every dataset has)
    mean_rank: dict[str, float]
    pairs: list[Pair]
    metric: str
    higher: bool
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # dataset -> model -> s
    alpha: float = 0.05

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": self.models, "datasets": self.datasets, "mean_rank": self.mean_rank,
            "pairs": [p.to_dict() for p in self.pairs], "metric": self.metric,
            "higher_is_better": self.higher, "scores": self.scores, "alpha": self.alpha,
            "ranks_on": "mean test score per dataset (each bake-off selected on validation)",
        }


def _wilcoxon(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 2:
        return None
    if np.all(np.abs(a - b) <= TIE):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns about small samples; p says it
        return float(stats.wilcoxon(a, b, zero_method="zsplit").pvalue)


def _pair(a: str, b: str, scores: dict[str, dict[str, float]], higher: bool) -> Pair:
    both = [d for d, s in scores.items() if a in s and b in s]
    x = np.array([scores[d][a] for d in both], dtype=float)
    y = np.array([scores[d][b] for d in both], dtype=float)
    diff = (x - y) if higher else (y - x)
    return Pair(a, b, wins=int((diff > TIE).sum()), ties=int((np.abs(diff) <= TIE).sum()),
                losses=int((diff < -TIE).sum()), n=len(both), p=_wilcoxon(x, y))


def summarize(scores: dict[str, dict[str, float]], metric: str, higher: bool,
              alpha: float = 0.05) -> Summary:
    """The summary of ``scores`` (dataset -> model -> score; NaN/None are missing)."""
    clean = {d: {m: float(v) for m, v in s.items() if v is not None and math.isfinite(v)}
             for d, s in scores.items()}
    models = sorted({m for s in clean.values() for m in s})
    ranked = models
    complete = [d for d, s in clean.items() if models and all(m in s for m in models)]
    if not complete:
        # No dataset has every model (auto shortlists differ by dataset): rank the models
        # every dataset has, on every dataset; the others get pairwise counts only.
        ranked = [m for m in models if all(m in s for s in clean.values())]
        complete = list(clean) if len(ranked) >= 2 else []
    ranks = [rank_row({m: clean[d][m] for m in ranked}, higher) for d in complete]
    mean_rank = {m: float(np.mean([r[m] for r in ranks])) if ranks and m in ranked
                 else math.nan for m in models}
    order = sorted(models, key=lambda m: (not math.isfinite(mean_rank[m]),
                                          mean_rank[m] if math.isfinite(mean_rank[m]) else 0, m))
    pairs = [_pair(a, b, clean, higher) for a, b in itertools.combinations(order, 2)]
    tested = [i for i, p in enumerate(pairs) if p.p is not None]
    adjusted = holm([pairs[i].p for i in tested])
    for i, p_holm in zip(tested, adjusted, strict=True):
        pairs[i] = Pair(**{**pairs[i].to_dict(), "p_holm": p_holm})
    return Summary(order, complete, mean_rank, pairs, metric, higher, clean, alpha)


def critical_difference_png(summary: Summary) -> bytes | None:
    """aeon's critical-difference diagram of the complete datasets (PNG), or None with
    fewer than 3 models (aeon's Friedman test needs three) or 2 datasets."""
    models = [m for m in summary.models if math.isfinite(summary.mean_rank[m])]
    if len(models) < 3 or len(summary.datasets) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from aeon.visualisation import plot_critical_difference

    table = np.array([[summary.scores[d][m] for m in models] for d in summary.datasets])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig, _ = plot_critical_difference(
            table, models, lower_better=not summary.higher, alpha=summary.alpha,
            test="wilcoxon", correction="holm",
        )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()
