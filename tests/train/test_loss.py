"""training_loss(): what each model task optimises, and what it leaves out."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqselect.data import IGNORE_INDEX
from seqselect.train.loss import training_loss


def test_classify_is_cross_entropy_and_regress_is_mse():
    logits, y = torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0])
    mask = torch.ones(2, 3, dtype=torch.bool)
    assert training_loss(logits, y, mask, "classify") == pytest.approx(
        float(F.cross_entropy(logits, y)))
    pred, target = torch.tensor([[1.0], [3.0]]), torch.tensor([[0.0], [0.0]])
    assert float(training_loss(pred, target, mask, "regress")) == pytest.approx(5.0)


def test_per_step_classes_skip_padding_and_ignored_steps():
    logits = torch.randn(2, 3, 4)
    y = torch.tensor([[1, IGNORE_INDEX, 2], [3, 0, 0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    scored = torch.tensor([[True, False, True], [True, True, False]])
    expected = F.cross_entropy(logits[scored], y[scored])
    assert float(training_loss(logits, y, mask, "per_step")) == pytest.approx(float(expected))


def test_per_step_real_targets_average_over_real_steps_and_outputs():
    out = torch.zeros(1, 2, 2)
    y = torch.tensor([[[1.0, 3.0], [50.0, 50.0]]])  # the second step is padding
    mask = torch.tensor([[True, False]])
    assert float(training_loss(out, y, mask, "per_step")) == pytest.approx((1 + 9) / 2)


def test_label_smoothing_is_the_mix_of_the_nll_and_the_mean_negative_log_probability():
    torch.manual_seed(0)
    logits, y = torch.randn(5, 4), torch.tensor([0, 3, 1, 1, 2])
    eps = 0.1
    log_p = torch.log_softmax(logits, dim=-1)
    nll = -log_p[torch.arange(5), y].mean()
    uniform = -log_p.mean()
    smoothed = training_loss(logits, y, torch.ones(5, 1, dtype=torch.bool), "classify",
                             label_smoothing=eps)
    assert float(smoothed) == pytest.approx(float((1 - eps) * nll + eps * uniform), rel=1e-6)
