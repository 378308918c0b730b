"""When a claim holds: each rule kind compares a measured value with the guide's.

A rule is ``(rule, guide, measured) -> (verdict, why)``; :data:`RULES` maps each kind in
``claims.json`` to its function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _within_factor(rule: dict, guide: Any, measured: Any) -> tuple[str, str]:
    factor = float(rule["factor"])
    ratio = measured / guide
    verdict = "holds" if 1 / factor <= ratio <= factor else "does-not-hold"
    return verdict, f"measured / guide = {ratio:.2f} (holds within x{factor:g} either way)"


def _in_range(rule: dict, guide: Any, measured: Any) -> tuple[str, str]:
    lo, hi = guide
    t = float(rule.get("tolerance", 1.0))
    verdict = "holds" if lo / t <= measured <= hi * t else "does-not-hold"
    return verdict, (f"{measured:.2f} against {lo:g}-{hi:g} "
                     f"(tolerance x{t:g}: {lo / t:.2f}-{hi * t:.2f})")


def _equals(rule: dict, guide: Any, measured: Any) -> tuple[str, str]:
    verdict = "holds" if measured == guide else "does-not-hold"
    return verdict, f"fastest measured: {measured}"


def _exponent_near(rule: dict, guide: Any, measured: Any) -> tuple[str, str]:
    t = float(rule["tolerance"])
    lo, hi = (guide, guide) if rule["kind"] == "exponent" else guide
    verdict = "holds" if lo - t <= measured <= hi + t else "does-not-hold"
    want = f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"
    return verdict, f"exponent {measured:.2f} against {want} ± {t:g}"


RULES: dict[str, Callable[[dict, Any, Any], tuple[str, str]]] = {
    "within_factor": _within_factor,
    "range": _in_range,
    "equals": _equals,
    "exponent": _exponent_near,
    "exponent_range": _exponent_near,
}
# expect_oom judges the cell's status, not a value: see judge_out_of_memory.
RULE_KINDS = (*RULES, "expect_oom")

__all__ = ["RULES", "RULE_KINDS"]
