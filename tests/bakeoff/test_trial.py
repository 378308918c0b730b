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
