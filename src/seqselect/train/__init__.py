"""Training and evaluation, the same protocol for every model (see ``trainer``)."""

from seqselect.train.metrics import TASK_METRICS, task_metric
from seqselect.train.trainer import (
    Budget,
    TrainResult,
    evaluate,
    resolve_device,
    seed_everything,
    train,
)

__all__ = [
    "TASK_METRICS",
    "Budget",
    "TrainResult",
    "evaluate",
    "resolve_device",
    "seed_everything",
    "task_metric",
    "train",
]
