"""Regression baselines: the training mean, and MiniRocket features + ridge regression.

MiniRocket's transform is aeon's; the ridge is scikit-learn's ``RidgeCV`` on standardised
features (the MiniRocket paper's recipe, with alphas on a log grid), which unlike aeon's
``MiniRocketRegressor`` takes several targets ``(N, O)`` at once.
"""

from __future__ import annotations

import numpy as np

from seqselect.baselines.arrays import ROCKET_PADDING, check_real_input, panel_for, value_targets
from seqselect.baselines.registry import BaselineCard, register_baseline
from seqselect.data.types import SequenceData
from seqselect.errors import SeqSelectError

#: RidgeCV's regularisation grid (MiniRocket paper: 10 values from 1e-3 to 1e3).
RIDGE_ALPHAS = np.logspace(-3, 3, 10)


class TrainMean:
    """Predicts the training targets' mean ``(O,)`` for every sequence."""

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None

    def fit(self, train: SequenceData) -> TrainMean:
        targets = value_targets(train)  # (N, O)
        if len(targets) == 0:
            raise SeqSelectError("mean: the training split is empty")
        self.mean_ = targets.mean(axis=0)
        return self

    def predict(self, data: SequenceData) -> np.ndarray:
        if self.mean_ is None:
            raise SeqSelectError("mean: predict before fit")
        return np.tile(self.mean_, (len(data), 1))  # (N, O)


class MiniRocketRidge:
    """aeon's MiniRocket transform, then standardisation and ``RidgeCV``."""

    def __init__(
        self, seed: int, n_kernels: int, max_dilations_per_kernel: int, unequal_length: str
    ) -> None:
        from aeon.transformations.collection.convolution_based import MiniRocket
        from sklearn.linear_model import RidgeCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.transform = MiniRocket(
            n_kernels=n_kernels,
            max_dilations_per_kernel=max_dilations_per_kernel,
            n_jobs=1,
            random_state=seed,
        )
        self.ridge = make_pipeline(StandardScaler(), RidgeCV(alphas=RIDGE_ALPHAS))
        self.to_panel = panel_for(unequal_length)
        self.length_: int | None = None
        self.n_outputs_ = 0

    def fit(self, train: SequenceData) -> MiniRocketRidge:
        check_real_input(train, "minirocket_ridge")
        panel = self.to_panel(train)  # (N, C, L)
        self.length_ = panel.shape[2]
        features = self.transform.fit_transform(panel)  # (N, n_features)
        targets = value_targets(train)  # (N, O)
        self.n_outputs_ = targets.shape[1]
        self.ridge.fit(features, targets)
        return self

    def predict(self, data: SequenceData) -> np.ndarray:
        if self.length_ is None:
            raise SeqSelectError("minirocket_ridge: predict before fit")
        check_real_input(data, "minirocket_ridge")
        if len(data) == 0:
            return np.zeros((0, self.n_outputs_))
        features = self.transform.transform(self.to_panel(data, self.length_))
        return np.asarray(self.ridge.predict(features), dtype=np.float64).reshape(len(data), -1)


@register_baseline(
    BaselineCard(
        name="mean",
        task="regress",
        summary="the training targets' mean, for every sequence",
        reference="the floor: MSE 1.0 on standardised targets",
        inputs=("real", "tokens"),
        variable_length="ignores the inputs",
        floor=True,
    )
)
def _mean(seed: int) -> TrainMean:
    del seed  # deterministic
    return TrainMean()


@register_baseline(
    BaselineCard(
        name="minirocket_ridge",
        task="regress",
        summary="MiniRocket features + ridge regression (RidgeCV), several targets at once",
        reference="Dempster, Schmidt & Webb, KDD 2021; Tan et al. 2021 (TSER with ROCKET)",
        variable_length=ROCKET_PADDING,
        options=("n_kernels", "max_dilations_per_kernel", "unequal_length"),
        requires=("aeon", "scikit-learn"),
    )
)
def _minirocket_ridge(
    seed: int,
    n_kernels: int = 10_000,
    max_dilations_per_kernel: int = 32,
    unequal_length: str = "resample",
) -> MiniRocketRidge:
    return MiniRocketRidge(seed, n_kernels, max_dilations_per_kernel, unequal_length)
