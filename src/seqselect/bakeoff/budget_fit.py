"""Fit the plan to the budget before any network trains: fewer seeds, then fewer
candidates, when a trial's fixed costs would leave it too little time to learn.

Every trial pays, outside its training loop, what set-up calibrates once per model
(building, the final validation and test passes, the latency measurement, saving). On
long series those costs are seconds per trial: on 100 series of 2,000 steps with an LSTM,
a 60 s bake-off of 3 models x 3 seeds x (fold + refit) gave each trial about 3 s, most of
it fixed cost, so the trials overran the budget and learned nothing (issue 13, item 8).

The rule (:func:`fit_to_budget`): a trial must be able to spend at least
:data:`MIN_TRAIN_FRACTION` of its share, and at least :data:`MIN_TRAIN_S`, training. While
the nominal share does not allow that for the costliest candidate, in this order:

1. drop a seed (down to one; under cross-validation the fold runs stay, one per fold:
   the folds are fixed before the fit, since the baselines have already been scored on
   them and every model must be ranked on the same folds);
2. in an auto shortlist, drop a candidate from its end, the advisor's least preferred
   first, but never the shortlist's guarantee: its pure convolutional and its pure
   recurrent model (:func:`~seqselect.bakeoff.candidates.guarantee_models`), nor the last
   model; models the user named are all kept;
3. when only those are left and still do not fit, keep them: the trials then overrun
   their shares and the run's ``timing`` reports it (a comparison without a recurrent or
   a convolutional model is not the one the guide asks for).

What was dropped and why goes into the run's arguments (``args["budget_fit"]``), the
result and the verdict's reasons, and a resumed run applies the same fit rather than
measuring again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from seqselect.bakeoff.candidates import guarantee_models
from seqselect.bakeoff.plan import Plan
from seqselect.bakeoff.protocol import choose_protocol, phase_seeds
from seqselect.bakeoff.records import Protocol
from seqselect.bakeoff.schedule import nominal_share, phase_weights

__all__ = [
    "MIN_TRAIN_FRACTION", "MIN_TRAIN_S", "BudgetFit", "apply_fit", "fit_to_budget",
]

#: A trial trains for at least this fraction of its share ...
MIN_TRAIN_FRACTION = 0.5
#: ... and at least this many seconds (a floor: the fraction is the rule that bites).
MIN_TRAIN_S = 0.25


@dataclass(frozen=True)
class BudgetFit:
    """What :func:`fit_to_budget` kept: ``seeds`` per model and the ``dropped`` models,
    with the ``reason`` (empty when nothing changed)."""

    seeds: int
    dropped: tuple[str, ...] = ()
    reason: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.reason)

    def to_dict(self) -> dict[str, Any]:
        return {"seeds": self.seeds, "dropped": list(self.dropped), "reason": self.reason}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> BudgetFit:
        return cls(int(doc["seeds"]), tuple(doc.get("dropped", ())), str(doc.get("reason", "")))


def needed_share(overhead_s: float) -> float:
    """The smallest share at which a trial with ``overhead_s`` of fixed cost still trains
    :data:`MIN_TRAIN_FRACTION` of it and at least :data:`MIN_TRAIN_S`."""
    return max(overhead_s + MIN_TRAIN_S, overhead_s / (1.0 - MIN_TRAIN_FRACTION))


def fit_to_budget(
    models: list[str], seeds: int, overhead: dict[str, float], *,
    budget_s: float, slots: int, protocol: Protocol, may_drop: bool = True,
) -> BudgetFit:
    """The seeds and candidates that fit ``budget_s`` (the networks' part of the budget)
    when ``models`` each run the trials of ``protocol`` for ``seeds`` seeds
    (:func:`~seqselect.bakeoff.protocol.phase_seeds`: the fold runs stay one per fold),
    ``slots`` at a time, each role weighing
    :func:`~seqselect.bakeoff.schedule.phase_weights` (the share checked is that of a
    trial of weight 1, the smallest); ``overhead`` is each model's calibrated fixed cost
    per trial. ``may_drop`` False (models the user named): seeds only, never a model.
    The order of what goes: the module docstring."""
    kept, n_seeds = list(models), seeds
    if not kept:
        return BudgetFit(seeds)
    keep = set(guarantee_models(models)) if may_drop else set(models)
    weights = phase_weights(protocol)

    def share() -> float:
        counts = {role: len(kept) * len(s) for role, s in phase_seeds(protocol, n_seeds).items()}
        return nominal_share(budget_s, counts, slots, weights)

    def worst() -> str:
        return max(kept, key=lambda m: overhead.get(m, 0.0))

    while share() < needed_share(overhead.get(worst(), 0.0)):
        spare = [m for m in kept if m not in keep]
        if n_seeds > 1:
            n_seeds -= 1
        elif spare and len(kept) > 1:
            kept.remove(spare[-1])  # the advisor's least preferred the guarantee spares
        else:
            break
    return _fit(models, seeds, kept, n_seeds, overhead, budget_s, share(), may_drop)


def _fit(
    models: list[str], seeds: int, kept: list[str], n_seeds: int,
    overhead: dict[str, float], budget_s: float, share: float, may_drop: bool,
) -> BudgetFit:
    """The :class:`BudgetFit` of keeping ``kept`` with ``n_seeds``, and its reason."""
    dropped = tuple(m for m in models if m not in kept)
    if n_seeds == seeds and not dropped:
        return BudgetFit(seeds)
    costs = ", ".join(f"{m} {overhead.get(m, 0.0):.1f} s" for m in models)
    parts = [f"{seeds} -> {n_seeds} seed(s)"] if n_seeds != seeds else []
    if dropped:
        parts.append("not run: " + ", ".join(dropped))
    reason = (
        f"fitted to the budget ({'; '.join(parts)}): each trial costs, outside training, "
        f"{costs}; with {budget_s:.0f} s for the networks a trial must train at least "
        f"{MIN_TRAIN_FRACTION:.0%} of its share and {MIN_TRAIN_S:g} s (share now "
        f"{share:.1f} s)"
    )
    costliest = max(overhead.get(m, 0.0) for m in kept)
    if share < needed_share(costliest):
        why = " (the shortlist always compares a convolutional and a recurrent model)"
        reason += (
            f"; still short of the {needed_share(costliest):.1f} s its costliest trial "
            f"needs, {', '.join(kept)} kept{why if may_drop else ''}: the trials may "
            "overrun the budget"
        )
    return BudgetFit(n_seeds, dropped, reason)


def apply_fit(plan: Plan, fit: BudgetFit) -> Plan:
    """``plan`` with ``fit``'s seeds, its dropped candidates marked as not run (they take
    no share; the leaderboard says why), and the fit recorded in ``args``."""
    if not fit.changed:
        return plan
    prepared = {
        m: ({**info, "error": "not run: dropped to fit the budget (see the verdict)"}
            if m in fit.dropped else info)
        for m, info in plan.prepared.items()
    }
    args = {**plan.args, "seeds": fit.seeds, "budget_fit": fit.to_dict()}
    # The plan's folds stay (the baselines were scored on them): only the seeds change.
    protocol = choose_protocol(plan.splits, fit.seeds, fold_seed=plan.protocol.fold_seed,
                               n_folds=plan.protocol.n_folds)
    return replace(plan, prepared=prepared, args=args, protocol=protocol)
