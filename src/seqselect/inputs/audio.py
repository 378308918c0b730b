"""The audio input pipeline: sound files to ``(L, 1)`` mono waveforms at one sample rate.

Symbols: L samples, C channels in the file, N clips.

Files are read with ``soundfile`` (WAV, FLAC, OGG), mixed to mono by averaging the
channels, resampled with ``soxr`` (its "HQ" quality, a linear-phase polyphase filter) and
cropped to ``clip_seconds`` (the start is kept; shorter clips stay short and are padded
with a mask when batched). :class:`AudioSettings` travels with an exported model so that
``predict`` prepares files exactly as the bake-off did.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
import soxr
import torch
from torch import Tensor

from seqselect.errors import DataError

log = logging.getLogger(__name__)

#: File endings read as audio (compared in lower case).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")


@dataclass(frozen=True)
class AudioSettings:
    """How files become waveforms (recorded with the dataset and the exported model)."""

    sample_rate: int = 16_000  # Hz every clip is resampled to (the issue's default, S4's case)
    clip_seconds: float | None = 1.0  # crop to this length; None keeps each file whole

    def __post_init__(self) -> None:
        if not isinstance(self.sample_rate, int) or self.sample_rate < 1:
            raise DataError(f"sample_rate must be a positive integer, got {self.sample_rate!r}")
        if self.clip_seconds is not None and not self.clip_seconds > 0:
            raise DataError(f"clip_seconds must be > 0, got {self.clip_seconds!r}")

    @property
    def clip_samples(self) -> int | None:
        """Samples in a clip at ``sample_rate`` (None: whole files)."""
        if self.clip_seconds is None:
            return None
        return max(1, round(self.clip_seconds * self.sample_rate))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AudioSettings:
        return cls(int(data["sample_rate"]), data.get("clip_seconds"))


def is_audio_file(path: Path | str) -> bool:
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def read_audio(path: Path | str) -> tuple[np.ndarray, int]:
    """``(L, C)`` float32 samples in [-1, 1] and the file's sample rate.

    Raises:
        DataError: the file does not exist, cannot be decoded, holds no samples, or holds
            NaN/inf samples - naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: audio file does not exist")
    try:
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (soundfile.SoundFileError, OSError) as exc:
        raise DataError(
            f"{path}: cannot read it as audio ({exc}); expected a WAV, FLAC or OGG file"
        ) from None
    if samples.shape[0] == 0:
        raise DataError(f"{path}: zero-length audio (no samples)")
    bad = ~np.isfinite(samples)
    if bad.any():
        first = int(np.argwhere(bad)[0][0])
        raise DataError(
            f"{path}: {int(bad.sum())} NaN/inf samples (first at sample {first}); "
            "expected finite values"
        )
    return samples, int(rate)


def to_mono(samples: np.ndarray) -> np.ndarray:
    """``(L, C) -> (L,)``: the mean of the channels."""
    return samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]


def resample(wave: np.ndarray, rate: int, target: int) -> np.ndarray:
    """``(L,)`` at ``rate`` Hz -> ``(round(L * target / rate),)`` at ``target`` Hz (soxr HQ)."""
    if rate == target:
        return wave.astype(np.float32, copy=False)
    return soxr.resample(wave.astype(np.float32), rate, target, quality="HQ")


def load_clip(path: Path | str, settings: AudioSettings) -> tuple[np.ndarray, int]:
    """One file as an ``(L, 1)`` float32 mono clip at ``settings.sample_rate``, cropped,
    plus the file's own sample rate."""
    samples, rate = read_audio(path)
    wave = resample(to_mono(samples), rate, settings.sample_rate)
    if len(wave) == 0:  # a file of a few samples at a much higher rate
        raise DataError(f"{path}: too short to resample to {settings.sample_rate} Hz")
    limit = settings.clip_samples
    if limit is not None:
        wave = wave[:limit]
    return wave[:, None], rate


def load_clips(
    paths: Iterable[Path | str], settings: AudioSettings
) -> tuple[list[np.ndarray], list[int]]:
    """Every file through :func:`load_clip`; mixed sample rates are said once (a warning)."""
    clips, rates = [], []
    for path in paths:
        clip, rate = load_clip(path, settings)
        clips.append(clip)
        rates.append(rate)
    found = sorted(set(rates))
    if len(found) > 1:
        log.warning(
            "the files have mixed sample rates (%s Hz); all were resampled to %d Hz",
            ", ".join(str(r) for r in found), settings.sample_rate,
        )
    return clips, rates


def batch_files(paths: Iterable[Path | str], settings: AudioSettings) -> tuple[Tensor, Tensor]:
    """Files to a model's input: ``x (N, L, 1)`` float32 and ``mask (N, L)`` bool.

    Standardisation with the training statistics is the caller's (it is the dataset's).
    """
    clips, _ = load_clips(paths, settings)
    if not clips:
        raise DataError("no audio files given")
    lengths = torch.tensor([len(c) for c in clips])
    x = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(c) for c in clips], batch_first=True)
    mask = torch.arange(x.shape[1])[None, :] < lengths[:, None]  # (N, L), right-padded
    return x, mask
