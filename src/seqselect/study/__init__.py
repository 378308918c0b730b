"""``seqselect study``: bake-offs over many datasets and rank statistics across them.

:func:`run_study` runs (or resumes) one bake-off per dataset and returns a
:class:`StudyResult`; :mod:`~seqselect.study.stats` holds the summary (mean ranks,
wins/ties/losses, Wilcoxon + Holm, the critical-difference diagram),
:mod:`~seqselect.study.html` the page.
"""

from seqselect.study.run import StudyResult, run_study
from seqselect.study.stats import Summary, summarize

__all__ = ["StudyResult", "Summary", "run_study", "summarize"]
