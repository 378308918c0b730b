"""The bake-off: the advisor's shortlist trained on your data under an equal budget and
several seeds, measured on your hardware, ranked, and the winner exported.

    >>> import seqselect
    >>> result = seqselect.run_bakeoff("ucr:GunPoint", budget="3m", seeds=3)
    >>> result.winner.model, result.leaderboard[0].value

The stages, in order: :mod:`plan` (request, data, advice, candidates), :mod:`schedule`
(budget shares), :mod:`run` (the trials, on an :mod:`executors` executor, each a
:mod:`trial` measured by :mod:`measure`), :mod:`decide` (leaderboard, winner, verdict)
and :mod:`result`; :mod:`runner` calls them in that order. Beside them: :mod:`records`
(the typed records), :mod:`store` (SQLite), :mod:`candidates`, :mod:`export` and
:mod:`predict`.
"""

from seqselect.bakeoff.export import export_model, load_model
from seqselect.bakeoff.records import LeaderboardRow, Trial, Winner
from seqselect.bakeoff.result import BakeoffResult, result_from_store
from seqselect.bakeoff.runner import bakeoff
from seqselect.bakeoff.store import ResultsStore

__all__ = [
    "BakeoffResult",
    "LeaderboardRow",
    "ResultsStore",
    "Trial",
    "Winner",
    "bakeoff",
    "export_model",
    "load_model",
    "result_from_store",
]
