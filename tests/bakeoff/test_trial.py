"""One bake-off trial's stored predictions (seqselect.bakeoff.trial.predict_labels)."""

from __future__ import annotations

import torch
from torch import nn

from seqselect.bakeoff.trial import predict_labels
from seqselect.data.types import SequenceData


def test_per_step_classification_predictions_are_class_ids_per_step_not_logits():
    class PerStep(nn.Module):  # (B, L, C) -> (B, L, O): class = the input step's value
        def forward(self, x, mask=None):
            return nn.functional.one_hot(x[..., 0].long(), 7).float()

    x = torch.randint(0, 7, (5, 9, 1)).float()
    data = SequenceData(x, torch.ones(5, 9, dtype=torch.bool), torch.zeros(5, 9).long())
    ids = predict_labels(PerStep(), data, "per_step", "cpu", task="classify")
    assert ids == x[..., 0].long().tolist()  # (N, L) ids, a few bytes a step
    values = predict_labels(PerStep(), data, "per_step", "cpu", task="regress")
    assert len(values[0][0]) == 7  # a per-step regression keeps its values


class _Clock:
    """``time.perf_counter`` stand-in: each reading is one second after the last."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 1.0
        return self.now


def _classify_splits(n_train: int, length: int = 12):
    from seqselect.data.types import DatasetSplits

    def part(n):
        return SequenceData(torch.randn(n, length, 2), torch.ones(n, length, dtype=torch.bool),
                            torch.arange(n) % 3)

    return DatasetSplits(name="toy", task="classify", model_task="classify", train=part(n_train),
                         val=part(4), test=part(4), d_output=3, d_input=2)


def test_the_calibrated_training_step_is_a_real_step_scaled_to_the_batch(monkeypatch):
    """One step on 8 rows, timed, scaled to the batch's rows: the set-up sees a model whose
    single step would eat its share (a fake clock: one second per reading)."""
    import seqselect.bakeoff.trial as trial
    from seqselect.models import create_model

    torch.manual_seed(0)
    model = create_model("lstm", d_input=2, d_output=3, task="classify", d_model=8)
    before = [p.detach().clone() for p in model.parameters()]
    monkeypatch.setattr(trial.time, "perf_counter", _Clock())
    splits = _classify_splits(50)
    seconds = trial.training_step_seconds(model, splits, {"batch_size": 32}, "cpu")
    assert seconds == 32 / 8  # one second for 8 rows, a batch of 32
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert not model.training
    small = _classify_splits(6)  # the batch is the whole (smaller) training split
    assert trial.training_step_seconds(model, small, {"batch_size": 32}, "cpu") == 1.0
