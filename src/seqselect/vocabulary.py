"""The words every layer shares: tasks and which way a metric points.

One place says what a task is and whether a metric is better high or low, so the data
loaders, the models, the trainer, the bake-off, the report and the CLI cannot drift apart.

Two task vocabularies exist because two questions are asked:

* a *dataset task* says what the user wants from the data: ``classify`` (one label per
  sequence), ``regress`` (one or more real targets per sequence) or ``forecast`` (the next
  ``horizon`` values of a series, trained as regression on windows);
* a *model task* says what shape the network's output has (``create_model(task=...)``):
  ``classify``/``regress`` give ``(B, d_output)``, ``per_step`` gives ``(B, L, d_output)``.

Synthetic tasks with one target per step (copy memory, selective copy) are dataset tasks
``classify`` whose model task is ``per_step``.
"""

from __future__ import annotations

from typing import Literal

DataTask = Literal["classify", "regress", "forecast"]
ModelTask = Literal["classify", "regress", "per_step"]

#: What a dataset can ask for.
DATA_TASKS: tuple[str, ...] = ("classify", "regress", "forecast")
#: What ``create_model(task=...)`` builds.
MODEL_TASKS: tuple[str, ...] = ("classify", "regress", "per_step")
#: Every task word the trainer accepts (a dataset task or a model task).
TRAIN_TASKS: tuple[str, ...] = ("classify", "regress", "forecast", "per_step")

#: Metrics where higher is better; every other metric (losses, errors) is lower-better.
HIGHER_IS_BETTER: frozenset[str] = frozenset({"accuracy", "macro_f1", "f1", "r2", "auc"})

#: task -> the leaderboard's metric for it. Forecasting ranks by MASE (lower is better:
#: the error relative to each window's in-sample seasonal naive error, so series of any
#: scale compare, and the seasonal naive baseline sits on the same scale); MSE and sMAPE
#: are reported beside it.
TASK_METRIC: dict[str, str] = {
    "classify": "accuracy",
    "per_step": "accuracy",
    "regress": "mse",
    "forecast": "mase",
}


def higher_is_better(metric: str) -> bool:
    """Is a larger value of ``metric`` better (accuracy) or worse (mse, loss)?"""
    return metric in HIGHER_IS_BETTER


def model_task_for(data_task: str, *, per_step: bool = False) -> str:
    """The ``create_model(task=...)`` that serves a dataset task.

    Forecasting trains a regression head on windows; per-step targets need a per-step head.
    """
    if data_task not in DATA_TASKS:
        raise ValueError(
            f"unknown dataset task {data_task!r}; expected one of {', '.join(DATA_TASKS)}"
        )
    if per_step:
        return "per_step"
    return "regress" if data_task == "forecast" else data_task


def ranking_task(data_task: str | None, model_task: str | None = None) -> str:
    """The task word whose metric ranks models of a dataset: ``forecast`` for forecasting
    (MASE, although its head is a regression), else the model task (``per_step``
    classification ranks by accuracy), else the dataset task, else ``classify``."""
    if data_task == "forecast":
        return "forecast"
    return model_task or data_task or "classify"


def task_metric(task: str) -> tuple[str, bool]:
    """``(name, higher_is_better)`` of the leaderboard metric for a dataset or model task."""
    if task not in TASK_METRIC:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASK_METRIC)}")
    metric = TASK_METRIC[task]
    return metric, higher_is_better(metric)
