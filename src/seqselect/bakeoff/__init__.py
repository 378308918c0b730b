"""The bake-off: the advisor's shortlist trained on your data under an equal budget and
several seeds, measured on your hardware, ranked, and the winner exported.

    >>> import seqselect
    >>> result = seqselect.bakeoff("ucr:GunPoint", budget="3m", seeds=3)
    >>> result.winner["model"], result.leaderboard[0]["accuracy"]

Pieces: :mod:`runner` (orchestration, leaderboard, winner), :mod:`candidates`,
:mod:`trial` (one training run), :mod:`executors` (local, ray), :mod:`store` (SQLite),
:mod:`measure` (latency, memory), :mod:`export` and :mod:`predict`.
"""

import sys
import types
from typing import Any

from seqselect.bakeoff.export import export_model, load_model
from seqselect.bakeoff.runner import BakeoffResult, bakeoff, result_from_store
from seqselect.bakeoff.store import ResultsStore

__all__ = [
    "BakeoffResult",
    "ResultsStore",
    "bakeoff",
    "export_model",
    "load_model",
    "result_from_store",
]


class _CallableModule(types.ModuleType):
    """``seqselect.bakeoff(...)`` runs :func:`~seqselect.bakeoff.runner.bakeoff` (the
    package stays a package: ``seqselect.bakeoff.store`` etc. still import)."""

    def __call__(self, *args: Any, **kwargs: Any) -> BakeoffResult:
        return bakeoff(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
