"""seqselect.baselines.regress: the training mean and MiniRocket + ridge."""

import numpy as np
import torch

from seqselect.baselines import create_baseline
from seqselect.data.types import SequenceData


def _amplitude_task(n, seed):
    """Series whose two targets are their amplitude and their frequency."""
    rng = np.random.default_rng(seed)
    amp = rng.uniform(0.5, 2.0, n)
    freq = rng.uniform(0.05, 0.3, n)
    t = np.arange(64)
    x = amp[:, None] * np.sin(2 * np.pi * freq[:, None] * t)  # (N, L)
    y = np.stack([amp, freq], axis=1)  # (N, 2)
    return SequenceData(
        torch.tensor(x[:, :, None], dtype=torch.float32),
        torch.ones(n, 64, dtype=torch.bool),
        torch.tensor(y, dtype=torch.float32),
    )


def test_mean_predicts_the_training_mean_of_every_target():
    train = _amplitude_task(40, 0)
    pred = create_baseline("mean").fit(train).predict(_amplitude_task(5, 1))
    assert pred.shape == (5, 2)
    assert np.allclose(pred, train.y.numpy().mean(axis=0), atol=1e-6)


def test_minirocket_ridge_learns_several_targets_far_better_than_the_mean():
    train, test = _amplitude_task(120, 0), _amplitude_task(40, 1)
    truth = test.y.numpy()
    ridge = create_baseline("minirocket_ridge", seed=0, n_kernels=840).fit(train).predict(test)
    mean = create_baseline("mean").fit(train).predict(test)
    assert ridge.shape == (40, 2)
    mse_ridge = ((ridge - truth) ** 2).mean(axis=0)
    mse_mean = ((mean - truth) ** 2).mean(axis=0)
    assert np.all(mse_ridge < 0.3 * mse_mean)
