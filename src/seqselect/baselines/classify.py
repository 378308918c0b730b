"""Classification baselines: the majority class and the ROCKET family (aeon).

MiniRocket (Dempster, Schmidt, Webb, KDD 2021) is the non-network row the field uses
for series classification: ~10,000 random dilated convolution features and a ridge
classifier, fitted in about a second on the small UCR sets with accuracy close to the
best networks (published-results.md: GunPoint 99.2). aeon's implementations need equal
lengths: by default each series' real steps are resampled (linear interpolation) to the
training split's length (``unequal_length="resample"``); ``"last"`` pads with the last
real value instead and truncates longer series. On PickupGestureWiimoteZ (29-361 steps)
MiniRocket scored 88.0% resampled, 71.3% last-value padded, 85.3% zero padded (mean of 3
seeds); on JapaneseVowels the three agree within 0.3 points.

On audio, MiniRocket over the raw waveform is the costly choice (a one-second clip at
16 kHz is 16,000 steps, and the transform's cost grows with N x L), so audio data gets
``minirocket_logmel``: the clips' log-mel spectrogram (the spectrogram models' own
front-end, ``models/frontend.py``, 25 ms windows every 10 ms, 40 mel bands, per-clip
normalised, no SpecAugment) as a multivariate series of 40 channels and 100 frames a
second, 160x shorter than the waveform. ``auto`` leaves the raw ``minirocket`` out on
audio (its card's ``slow_on``); it runs when named.
"""

from __future__ import annotations

import numpy as np

from seqselect.baselines.arrays import (
    ROCKET_PADDING,
    check_real_input,
    class_targets,
    panel_for,
)
from seqselect.baselines.registry import BaselineCard, register_baseline
from seqselect.data.types import SequenceData
from seqselect.errors import SeqSelectError


class MajorityClass:
    """Predicts the most frequent training class (the lowest id among equals)."""

    def __init__(self) -> None:
        self.prior_: np.ndarray | None = None

    def fit(self, train: SequenceData) -> MajorityClass:
        labels = class_targets(train)
        if len(labels) == 0:
            raise SeqSelectError("majority: the training split is empty")
        counts = np.bincount(labels)
        self.prior_ = counts / counts.sum()  # (K,) class frequencies in training
        return self

    @property
    def majority_(self) -> int:
        if self.prior_ is None:
            raise SeqSelectError("majority: predict before fit")
        return int(np.argmax(self.prior_))

    def predict(self, data: SequenceData) -> np.ndarray:
        return np.full(len(data), self.majority_, dtype=np.int64)


class RocketClassifier:
    """An aeon ROCKET-family classifier on last-value-padded panels ``(N, C, L)``."""

    def __init__(self, name: str, estimator, unequal_length: str = "resample") -> None:
        self.name = name
        self.estimator = estimator
        self.to_panel = panel_for(unequal_length)
        self.length_: int | None = None

    def fit(self, train: SequenceData) -> RocketClassifier:
        check_real_input(train, self.name)
        labels = class_targets(train)
        if len(np.unique(labels)) < 2:
            raise SeqSelectError(f"{self.name}: the training split has a single class")
        panel = self.to_panel(train)  # (N, C, L)
        self.length_ = panel.shape[2]
        self.estimator.fit(panel, labels)
        return self

    def predict(self, data: SequenceData) -> np.ndarray:
        if self.length_ is None:
            raise SeqSelectError(f"{self.name}: predict before fit")
        check_real_input(data, self.name)
        if len(data) == 0:
            return np.zeros(0, dtype=np.int64)
        panel = self.to_panel(data, self.length_)  # (N, C, L_train)
        return np.asarray(self.estimator.predict(panel)).astype(np.int64)


@register_baseline(
    BaselineCard(
        name="majority",
        task="classify",
        summary="the most frequent training class, for every sequence",
        reference="chance level: the floor every model must clear",
        inputs=("real", "tokens"),
        variable_length="ignores the inputs",
        floor=True,
    )
)
def _majority(seed: int) -> MajorityClass:
    del seed  # deterministic
    return MajorityClass()


@register_baseline(
    BaselineCard(
        name="minirocket",
        task="classify",
        summary="MiniRocket features + ridge classifier (aeon MiniRocketClassifier)",
        reference="Dempster, Schmidt & Webb, KDD 2021 (MiniRocket)",
        variable_length=ROCKET_PADDING,
        options=("n_kernels", "max_dilations_per_kernel", "unequal_length"),
        requires=("aeon",),
        slow_on=("audio",),
    )
)
def _minirocket(
    seed: int,
    n_kernels: int = 10_000,
    max_dilations_per_kernel: int = 32,
    unequal_length: str = "resample",
):
    from aeon.classification.convolution_based import MiniRocketClassifier

    estimator = MiniRocketClassifier(
        n_kernels=n_kernels,
        max_dilations_per_kernel=max_dilations_per_kernel,
        n_jobs=1,  # one core: measured like the candidates, and the machine is shared
        random_state=seed,
    )
    return RocketClassifier("minirocket", estimator, unequal_length)


class LogMelRocket(RocketClassifier):
    """A ROCKET-family classifier on log-mel frames: waveforms ``(N, L, C)`` become a
    panel ``(N, C * M, T)`` of M mel bands per channel and T frames (real frames only,
    resampled to the training length as for any unequal-length series)."""

    #: Clips per front-end call: bounds the STFT's memory (64 x 16,000 samples ~ 40 MB).
    CHUNK = 64

    def __init__(self, name: str, estimator, sample_rate: int, n_mels: int) -> None:
        super().__init__(name, estimator, "resample")
        from seqselect.models.base import rate_fields
        from seqselect.models.frontend import LogMelSettings

        self.settings = LogMelSettings(**rate_fields(int(sample_rate)), n_mels=int(n_mels),
                                       freq_masks=0, time_masks=0)
        self.resample = self.to_panel
        self.to_panel = self.logmel_panel

    def frames(self, data: SequenceData) -> SequenceData:
        """Log-mel frames ``x: (N, T, C * M)`` with their mask ``(N, T)``."""
        import torch

        from seqselect.models.frontend import LogMelFrontend

        frontend = LogMelFrontend(data.x.shape[2], self.settings).eval()
        feats, masks = [], []
        with torch.no_grad():
            for start in range(0, len(data), self.CHUNK):
                x = data.x[start : start + self.CHUNK].float()  # (n, L, C)
                mask = data.mask[start : start + self.CHUNK]
                x = x.masked_fill(~mask.unsqueeze(-1), 0.0)  # padding is silence
                f, fmask = frontend(x, mask)  # (n, T, C * M), (n, T)
                feats.append(f)
                masks.append(fmask)
        return SequenceData(torch.cat(feats), torch.cat(masks), data.y)

    def logmel_panel(self, data: SequenceData, length: int | None = None) -> np.ndarray:
        return self.resample(self.frames(data), length)  # (N, C * M, T)


@register_baseline(
    BaselineCard(
        name="minirocket_logmel",
        task="classify",
        summary="MiniRocket on log-mel frames (40 mel bands x 100 frames a second as a "
        "multivariate series, not the raw waveform) + ridge classifier (aeon)",
        reference="Dempster, Schmidt & Webb, KDD 2021 (MiniRocket); log-mel frames as in "
        "the spectrogram models",
        inputs=("audio",),
        variable_length="real frames only, resampled to the training length",
        options=("n_kernels", "max_dilations_per_kernel", "sample_rate", "n_mels"),
        requires=("aeon", "librosa"),
    )
)
def _minirocket_logmel(
    seed: int,
    n_kernels: int = 10_000,
    max_dilations_per_kernel: int = 32,
    sample_rate: int = 16_000,
    n_mels: int = 40,
):
    from aeon.classification.convolution_based import MiniRocketClassifier

    estimator = MiniRocketClassifier(
        n_kernels=n_kernels, max_dilations_per_kernel=max_dilations_per_kernel, n_jobs=1,
        random_state=seed,
    )
    return LogMelRocket("minirocket_logmel", estimator, sample_rate, n_mels)


@register_baseline(
    BaselineCard(
        name="multirocket_hydra",
        task="classify",
        summary="MultiRocket + Hydra features + ridge classifier (aeon)",
        reference="Dempster, Schmidt & Webb, DMKD 2023 (Hydra; MultiRocket-Hydra)",
        variable_length=ROCKET_PADDING,
        options=("n_kernels", "n_groups", "unequal_length"),
        requires=("aeon", "torch"),
    )
)
def _multirocket_hydra(
    seed: int, n_kernels: int = 8, n_groups: int = 64, unequal_length: str = "resample"
):
    from aeon.classification.convolution_based import MultiRocketHydraClassifier

    estimator = MultiRocketHydraClassifier(
        n_kernels=n_kernels, n_groups=n_groups, n_jobs=1, random_state=seed
    )
    return RocketClassifier("multirocket_hydra", estimator, unequal_length)
