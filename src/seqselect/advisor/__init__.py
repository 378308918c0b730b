"""The advisor: the guide's selection framework as data, applied by ``recommend()``.

* ``rules.json`` — every rule (characteristics table, decision tree, catalog, scenarios,
  quick-reference table, checklist, pitfalls), each naming its guide section, plus
  seqselect's own marked additions;
* :func:`recommend` — ranked models with scores and reasons, what to avoid, warnings,
  unanswered checklist questions;
* :func:`estimate_memory` — analytic training memory per candidate;
* :func:`characteristics_from_profile` — fill the characteristics from a dataset profile.
"""

from seqselect.advisor.characteristics import ALLOWED, validate_characteristics
from seqselect.advisor.engine import recommend
from seqselect.advisor.memory import MemoryEstimate, estimate_memory
from seqselect.advisor.profile import characteristics_from_profile
from seqselect.advisor.recommendation import Candidate, Recommendation
from seqselect.advisor.rules import load_rules, rule_counts

__all__ = [
    "ALLOWED",
    "Candidate",
    "MemoryEstimate",
    "Recommendation",
    "characteristics_from_profile",
    "estimate_memory",
    "load_rules",
    "recommend",
    "rule_counts",
    "validate_characteristics",
]
