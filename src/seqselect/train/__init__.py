"""Training and evaluation, the same protocol for every model (see ``trainer``).

``Budget`` is ``seqselect.budget.Budget`` and ``task_metric`` is
``seqselect.vocabulary.task_metric``, re-exported here for callers of the trainer.
"""

from seqselect.budget import Budget
from seqselect.train.evaluate import evaluate
from seqselect.train.loop import LoopSettings, TrainingLoop
from seqselect.train.result import TrainResult
from seqselect.train.trainer import seed_everything, train
from seqselect.vocabulary import task_metric

__all__ = [
    "Budget",
    "LoopSettings",
    "TrainResult",
    "TrainingLoop",
    "evaluate",
    "seed_everything",
    "task_metric",
    "train",
]
