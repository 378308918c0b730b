"""What one training run produced: the record the bake-off stores and the CLI prints."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["TrainResult"]


@dataclass(frozen=True)
class TrainResult:
    """Everything a run produced; ``to_dict()`` is JSON-ready.

    ``history`` holds one entry per validation point, each with the keys ``step``,
    ``epoch``, ``elapsed_s``, ``train_loss`` (mean since the previous point), ``val_loss``
    and ``val_metric`` (None without a validation split), and ``lr_factor`` (the schedule's
    factor of the base learning rate at that step). ``best_step`` is the step whose weights
    were tested: the best validation point's when they were restored, else the last step.
    ``hparams`` records, besides the arguments, ``precision`` (``"bf16"`` or ``"fp32"``, the
    one that ran), ``restore_best`` (resolved), ``best_val_step``, ``planned_steps`` and
    ``lr_schedule``.
    """

    status: str  # "ok" | "diverged"
    seed: int
    steps: int
    epochs: float  # steps / steps-per-epoch
    train_seconds: float  # wall time of the training loop, validation included
    test_metrics: dict[str, float]
    val_metrics: dict[str, float]
    history: list[dict[str, Any]]
    best_step: int | None
    diverged_at_step: int | None = None
    stopped_by: str = ""  # "epochs" | "steps" | "seconds" | "early_stopping" | "diverged"
    task: str = ""
    task_metric: str = ""
    higher_is_better: bool = True
    budget: dict[str, Any] = field(default_factory=dict)
    hparams: dict[str, Any] = field(default_factory=dict)
    n_params: int = 0
    device: str = "cpu"
    dataset: str = ""
    param_groups: str = ""  # where the optimizer groups came from
    # What the clock decided (seqselect.train.work.WorkRecord.to_dict()), for a replay
    work: dict[str, Any] | None = None

    @property
    def test_score(self) -> float | None:
        """The task metric on the test split (None when the run diverged)."""
        return self.test_metrics.get(self.task_metric)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainResult:
        """The inverse of :meth:`to_dict`; unknown keys raise ``TypeError``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TypeError(f"TrainResult.from_dict: unknown keys {unknown}")
        return cls(**data)
