"""The audio input pipeline: reading, mono mixing, resampling, cropping, batching, errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import torch

from seqselect.errors import DataError
from seqselect.inputs.audio import (
    AudioSettings,
    batch_files,
    load_clip,
    load_clips,
    read_audio,
    resample,
    to_mono,
)


def sine(freq: float, rate: int, seconds: float) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return np.sin(2 * np.pi * freq * t).astype(np.float32)


def peak_frequency(wave: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.fft.rfftfreq(len(wave), 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize(("rate", "target"), [(44_100, 16_000), (8_000, 16_000), (22_050, 8_000)])
def test_resampling_keeps_a_sines_frequency_and_the_duration(rate, target):
    wave = resample(sine(440.0, rate, 1.0), rate, target)
    assert len(wave) == target  # one second stays one second
    assert peak_frequency(wave, target) == pytest.approx(440.0, abs=1.0)
    # Away from the edges, the resampled sine is the sine sampled at the target rate.
    np.testing.assert_allclose(wave[200:-200], sine(440.0, target, 1.0)[200:-200], atol=2e-3)


def test_resampling_removes_what_the_new_rate_cannot_hold():
    # 6 kHz is above 8 kHz's Nyquist (4 kHz): it must be filtered out, not folded to 2 kHz.
    wave = resample(sine(6_000.0, 16_000, 1.0), 16_000, 8_000)
    assert np.abs(wave[200:-200]).max() < 0.01  # the edges hold the filter's transient


def test_mono_is_the_mean_of_the_channels():
    stereo = np.stack([np.ones(5), -np.ones(5) * 0.5], axis=1).astype(np.float32)
    np.testing.assert_allclose(to_mono(stereo), np.full(5, 0.25))


def test_a_stereo_file_is_read_mixed_resampled_and_cropped(tmp_path):
    left, right = sine(300.0, 22_050, 2.0), sine(300.0, 22_050, 2.0)
    path = tmp_path / "a.flac"
    soundfile.write(path, np.stack([left, right], axis=1), 22_050)
    clip, rate = load_clip(path, AudioSettings(16_000, clip_seconds=0.5))
    assert rate == 22_050 and clip.shape == (8_000, 1)
    assert peak_frequency(clip[:, 0], 16_000) == pytest.approx(300.0, abs=2.0)


def test_whole_files_are_batched_with_masks(tmp_path):
    for name, seconds in (("long.wav", 0.5), ("short.wav", 0.2)):
        soundfile.write(tmp_path / name, sine(200.0, 8_000, seconds), 8_000)
    x, mask = batch_files([tmp_path / "long.wav", tmp_path / "short.wav"],
                          AudioSettings(8_000, clip_seconds=None))
    assert x.shape == (2, 4_000, 1)
    assert mask.sum(dim=1).tolist() == [4_000, 1_600]
    assert torch.all(x[1, 1_600:] == 0)


def test_mixed_sample_rates_are_said_once(tmp_path, caplog):
    paths = []
    for i, rate in enumerate((8_000, 16_000, 8_000)):
        paths.append(tmp_path / f"{i}.wav")
        soundfile.write(paths[-1], sine(200.0, rate, 0.1), rate)
    with caplog.at_level("WARNING"):
        clips, rates = load_clips(paths, AudioSettings(16_000))
    assert rates == [8_000, 16_000, 8_000] and all(len(c) == 1_600 for c in clips)
    warnings = [r for r in caplog.records if "mixed sample rates" in r.message]
    assert len(warnings) == 1 and "8000, 16000" in warnings[0].getMessage()


def test_errors_name_the_file(tmp_path):
    with pytest.raises(DataError, match=r"missing\.wav: audio file does not exist"):
        read_audio(tmp_path / "missing.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all")
    with pytest.raises(DataError, match=r"junk\.wav: cannot read it as audio"):
        read_audio(junk)
    empty = tmp_path / "empty.wav"
    soundfile.write(empty, np.zeros(0, dtype=np.float32), 8_000)
    with pytest.raises(DataError, match=r"empty\.wav: zero-length audio"):
        read_audio(empty)
    nan = tmp_path / "nan.wav"
    wave = sine(100.0, 8_000, 0.1)
    wave[5] = np.nan
    soundfile.write(nan, wave, 8_000, subtype="FLOAT")
    with pytest.raises(DataError, match=r"nan\.wav: 1 NaN/inf samples \(first at sample 5\)"):
        read_audio(nan)


def test_settings_round_trip_and_refuse_bad_values():
    settings = AudioSettings(8_000, 1.5)
    assert AudioSettings.from_dict(settings.to_dict()) == settings
    assert settings.clip_samples == 12_000
    with pytest.raises(DataError, match="sample_rate"):
        AudioSettings(0)
    with pytest.raises(DataError, match="clip_seconds"):
        AudioSettings(8_000, -1.0)
