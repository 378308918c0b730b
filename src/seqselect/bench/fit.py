"""Scaling exponents: the slope of log(value) against log(length).

A model whose time grows as ``c * L^k`` has slope ``k`` on a log-log plot, so the fitted
slope is the empirical complexity exponent: about 1 for O(L), 2 for O(L^2), and a little
above 1 for O(L log L) over a decade or two of lengths.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def _clean(lengths: Iterable, values: Iterable) -> tuple[list[float], list[float]]:
    """Pairs with a positive length and a positive, finite value (failed cells are None)."""
    xs, ys = [], []
    for n, v in zip(lengths, values, strict=True):
        if n is None or v is None:
            continue
        n, v = float(n), float(v)
        if n > 0 and v > 0 and math.isfinite(n) and math.isfinite(v):
            xs.append(math.log(n))
            ys.append(math.log(v))
    return xs, ys


def fit_exponent(lengths: Sequence, values: Sequence) -> float:
    """Least-squares slope of ``log(value)`` against ``log(length)``.

    Cells that did not produce a value (``None``, NaN, zero or negative, e.g. a skipped,
    out-of-memory or timed-out cell) are ignored. Returns NaN when fewer than two distinct
    lengths remain.

    >>> round(fit_exponent([100, 200, 400], [1.0, 4.0, 16.0]), 6)
    2.0
    """
    xs, ys = _clean(lengths, values)
    if len(set(xs)) < 2:
        return math.nan
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return sxy / sxx


def fit_exponent_offset(lengths: Sequence, values: Sequence) -> float:
    """Exponent ``k`` of ``value = c + a * length^k``: the growth of the length-dependent
    part, with a constant ``c`` (weights, optimizer state, allocator and interpreter
    overheads, fixed per-call costs) taken out.

    A plain log-log slope underestimates ``k`` while the constant is large next to the
    growing part (small lengths); this fit does not. Needs three distinct lengths (falls
    back to :func:`fit_exponent` with two); ``k`` is searched in [0, 3] (least squares in
    ``c >= 0`` and ``a >= 0`` at each ``k``, golden-section refinement after a grid).
    """
    pairs = [(math.exp(x), math.exp(y)) for x, y in zip(*_clean(lengths, values), strict=True)]
    if len({n for n, _ in pairs}) < 3:
        return fit_exponent(lengths, values)
    ns = [n / max(n for n, _ in pairs) for n, _ in pairs]  # scaled for conditioning
    ys = [v for _, v in pairs]

    def sse(k: float) -> float:
        xs = [n**k for n in ns]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        sxx = sum((x - mx) ** 2 for x in xs)
        if sxx == 0:
            return math.inf
        a = max(0.0, sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx)
        c = my - a * mx
        if c < 0:  # an overhead is never negative: fit through the origin instead
            c, a = 0.0, sum(x * y for x, y in zip(xs, ys, strict=True)) / sum(x * x for x in xs)
        return sum((c + a * x - y) ** 2 for x, y in zip(xs, ys, strict=True))

    grid = [i / 100 for i in range(1, 301)]
    best = min(grid, key=sse)
    lo, hi = max(0.0, best - 0.01), min(3.0, best + 0.01)
    phi = (math.sqrt(5) - 1) / 2
    for _ in range(40):
        m1, m2 = hi - phi * (hi - lo), lo + phi * (hi - lo)
        if sse(m1) < sse(m2):
            hi = m2
        else:
            lo = m1
    return (lo + hi) / 2


def local_exponent(lengths: Sequence, values: Sequence) -> float:
    """Slope between the two largest valid lengths: the asymptotic regime, where an
    O(L^2) term has had the most room to dominate the O(L) ones. NaN if fewer than two."""
    xs, ys = _clean(lengths, values)
    pairs = sorted(set(zip(xs, ys, strict=True)))
    if len({x for x, _ in pairs}) < 2:
        return math.nan
    (x0, y0), (x1, y1) = pairs[-2], pairs[-1]
    if x0 == x1:
        return math.nan
    return (y1 - y0) / (x1 - x0)


def extrapolate(lengths: Sequence, values: Sequence, target: float) -> float | None:
    """Value at ``target`` length by the log-log line through the two largest valid
    points (None when fewer than two): how the harness predicts the next cell's memory."""
    xs, ys = _clean(lengths, values)
    pairs = sorted(zip(xs, ys, strict=True))
    if len({x for x, _ in pairs}) < 2:
        return None
    k = local_exponent(lengths, values)
    x1, y1 = pairs[-1]
    return math.exp(y1 + k * (math.log(target) - x1))
