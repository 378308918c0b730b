"""seqselect: choose the right neural architecture for sequential data, with evidence.

Public API (stable)::

    seqselect.list_models() -> list[str]
    seqselect.model_card(name) -> ModelCard
    seqselect.create_model(name, *, d_output, d_input=None, vocab_size=None,
                           task="classify", causal=False, params=None, **overrides)
"""

from seqselect.advisor import Recommendation, recommend
from seqselect.bakeoff import BakeoffResult
from seqselect.bakeoff import bakeoff as run_bakeoff
from seqselect.bench import BenchReport, run_bench
from seqselect.models import (
    ModelCard,
    count_parameters,
    create_model,
    list_models,
    model_card,
    register_model,
)
from seqselect.system import keep_numba_off_torch_openmp
from seqselect.version import __version__

# before aeon or librosa runs a parallel numba function (why: see its docstring)
keep_numba_off_torch_openmp()

__all__ = [
    "BakeoffResult",
    "BenchReport",
    "ModelCard",
    "Recommendation",
    "__version__",
    "bakeoff",
    "count_parameters",
    "create_model",
    "list_models",
    "model_card",
    "recommend",
    "register_model",
    "run_bakeoff",
    "run_bench",
]
