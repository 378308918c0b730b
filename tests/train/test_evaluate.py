"""evaluate(): every example, padding ignored, per-step scoring, task words, device moves."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from seqselect.data import IGNORE_INDEX, SequenceData
from seqselect.train import evaluate
from seqselect.train.evaluate import example_losses, model_task_of, to_device


def test_evaluation_covers_the_whole_set_with_a_partial_batch(tiny, toy_splits):
    s = toy_splits(n=77)  # 27 test examples
    m = evaluate(tiny(2, 3), s.test, "classify", batch_size=5)  # 5 full batches + 2
    assert m["n"] == 27
    model = tiny(2, 3)
    assert evaluate(model, s.test, "classify", batch_size=5) == pytest.approx(
        evaluate(model, s.test, "classify", batch_size=100))


def test_masked_padding_does_not_change_metrics(tiny, toy_splits):
    s = toy_splits()
    model = tiny(2, 3)
    m1 = evaluate(model, s.test, "classify")
    noisy = SequenceData(s.test.x.clone(), s.test.mask, s.test.y)
    noisy.x[~noisy.mask] = 123.0
    assert evaluate(model, noisy, "classify") == m1


def test_evaluation_leaves_the_training_mode_as_it_was(tiny, toy_splits):
    model = tiny(2, 3).train()
    evaluate(model, toy_splits().test, "classify")
    assert model.training
    evaluate(model.eval(), toy_splits().test, "classify")
    assert not model.training


def test_per_example_losses_are_the_terms_of_the_cross_entropy(tiny, toy_splits):
    s = toy_splits(n=77)
    model = tiny(2, 3).train()
    losses = example_losses(model, s.test, batch_size=5)  # partial last batch too
    assert losses.shape == (27,) and model.training
    assert losses.mean() == pytest.approx(evaluate(model, s.test, "classify")["cross_entropy"],
                                          abs=1e-6)
    # Each term is -log p(true class) of that sequence alone.
    one = s.test.subset(torch.arange(3, 4))
    with torch.no_grad():
        logits = model.eval()(one.x, mask=one.mask)
    assert losses[3] == pytest.approx(float(-torch.log_softmax(logits, -1)[0, one.y[0]]),
                                      abs=1e-6)
    assert example_losses(model, s.test.subset(torch.arange(0)), batch_size=5).shape == (0,)


def test_task_words_map_to_model_tasks():
    assert model_task_of("forecast") == "regress"
    assert [model_task_of(t) for t in ("classify", "regress", "per_step")] == [
        "classify", "regress", "per_step"]
    with pytest.raises(ValueError, match="unknown task"):
        model_task_of("cluster")


class Echo(nn.Module):
    """Returns fixed per-step logits ``(B, L, O)`` whatever the input."""

    def __init__(self, logits: torch.Tensor):
        super().__init__()
        self.logits = nn.Parameter(logits)

    def forward(self, x, mask=None):
        return self.logits[: x.shape[0]]


def test_per_step_classes_score_only_real_steps_not_ignored():
    # Two sequences of 3 steps; the second's last step is padding, the first's middle ignored.
    logits = torch.tensor([
        [[5.0, 0.0], [5.0, 0.0], [0.0, 5.0]],
        [[0.0, 5.0], [5.0, 0.0], [5.0, 0.0]],
    ])
    y = torch.tensor([[0, IGNORE_INDEX, 1], [1, 1, 1]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    data = SequenceData(torch.zeros(2, 3, 1), mask, y)
    m = evaluate(Echo(logits), data, "per_step")
    assert m["n_steps"] == 4 and m["n"] == 2  # 2 scored in the first, 2 real in the second
    assert m["accuracy"] == 0.75  # only step 2 of the second sequence is wrong
    assert m["sequence_accuracy"] == 0.5


def test_per_step_real_targets_use_real_steps():
    out = torch.tensor([[[1.0], [2.0]], [[3.0], [4.0]]])
    y = torch.tensor([[[1.0], [0.0]], [[3.0], [100.0]]])
    mask = torch.tensor([[True, True], [True, False]])
    m = evaluate(Echo(out), SequenceData(torch.zeros(2, 2, 1), mask, y), "per_step")
    assert m["mse"] == pytest.approx(4.0 / 3) and m["n"] == 2


def test_an_empty_split_gives_nan_metrics_with_n_zero(tiny, toy_splits):
    empty = toy_splits().test.subset(torch.arange(0))
    m = evaluate(tiny(2, 3), empty, "classify")
    assert m["n"] == 0 and set(m) == {"accuracy", "macro_f1", "cross_entropy", "n"}
    assert set(evaluate(tiny(2, 1), empty, "forecast")) == {"mse", "mae", "mase", "smape", "n"}
    assert set(evaluate(tiny(2, 1), empty, "regress")) == {"mse", "mae", "n"}


def test_to_device_gives_no_model_mask_when_nothing_is_padded(toy_splits):
    s = toy_splits()
    full = s.train.subset(torch.tensor([1, 2, 3]))  # every 4th sequence is padded
    assert to_device(full, torch.device("cpu")).model_mask is None
    padded = to_device(s.train.subset(torch.tensor([0, 1])), torch.device("cpu"))
    assert padded.model_mask is not None and padded.mask.shape == (2, 6)


class SeasonalNaiveNet(nn.Module):
    """Outputs the seasonal naive forecast of its window: ``(B, W, C) -> (B, H * K)``."""

    def __init__(self, season: int, horizon: int, channels: tuple[int, ...]):
        super().__init__()
        self.season, self.horizon, self.channels = season, horizon, list(channels)
        self.unused = nn.Linear(1, 1)  # a parameter, so evaluate can find a device

    def forward(self, x, mask=None):
        w = x.shape[1]
        steps = [w - self.season + h % self.season for h in range(self.horizon)]
        return x[:, steps][:, :, self.channels].reshape(len(x), -1)


def test_a_network_that_outputs_the_seasonal_naive_scores_as_the_baseline():
    from seqselect.baselines import run_baseline
    from seqselect.data import load_dataset
    from seqselect.train.evaluate import evaluate_split

    splits = load_dataset("forecast:Airline?horizon=12")
    assert splits.metadata["season_length"] == 12
    net = SeasonalNaiveNet(12, 12, (0,))
    baseline = run_baseline("seasonal_naive", splits, seed=0)
    for split, reference in (("test", baseline.test_metrics), ("val", baseline.val_metrics)):
        got = evaluate_split(net, splits, split)
        for key in ("mse", "mae", "mase", "smape"):
            assert got[key] == pytest.approx(reference[key], rel=1e-5), (split, key)
    assert 0 < got["mase"] < 10 and 0 < got["smape"] < 100


def test_forecast_metrics_without_metadata_have_no_season_and_no_smape():
    from seqselect.data import load_dataset
    from seqselect.train.evaluate import evaluate_split

    monthly = load_dataset("forecast:Airline?horizon=12")
    plain = load_dataset("forecast:Airline?horizon=12&season=1")
    net = SeasonalNaiveNet(1, 12, (0,))  # the naive last-value forecast
    bare = evaluate(net, monthly.test, "forecast")  # no layout: every channel, lag 1
    assert bare["mase"] == pytest.approx(evaluate_split(net, plain, "test")["mase"])
    full = evaluate_split(net, monthly, "test")
    assert bare["mse"] == full["mse"] and bare["mase"] != pytest.approx(full["mase"])
    assert np.isnan(bare["smape"]) and full["smape"] > 0  # offsets unknown without metadata
