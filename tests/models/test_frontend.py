"""Front-ends: log-mel against librosa's own, SpecAugment in training only, frame masks."""

from __future__ import annotations

import dataclasses

import librosa
import numpy as np
import pytest
import torch

from seqselect.models import create_model
from seqselect.models.base import ModelSpec
from seqselect.models.frontend import (
    LogMelFrontend,
    LogMelSettings,
    TokenFrontend,
    WaveformFrontend,
    build_frontend,
    frame_mask,
    frames_to_steps,
    spec_augment,
    stream_chunks,
)

SETTINGS = LogMelSettings(sample_rate=16_000, n_fft=400, hop=160, n_mels=40)


def chirp(seconds: float = 0.5, rate: int = 16_000) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return np.sin(2 * np.pi * (300 * t + 2_000 * t**2)).astype(np.float64)


def test_mel_power_equals_librosas_melspectrogram():
    wave = chirp()
    ours = LogMelFrontend(1, SETTINGS).double().mel_power(torch.from_numpy(wave)[None, :, None])
    ref = librosa.feature.melspectrogram(
        y=wave, sr=16_000, n_fft=400, hop_length=160, n_mels=40, center=True,
        pad_mode="constant", power=2.0,
    )  # (M, T)
    assert ours.shape == (1, ref.shape[1], 1, 40)
    np.testing.assert_allclose(ours[0, :, 0].numpy().T, ref, rtol=1e-4, atol=1e-6)


def test_log_mel_is_normalised_log_of_the_mel_power():
    wave = torch.from_numpy(chirp())[None, :, None]
    front = LogMelFrontend(1, SETTINGS).double().eval()
    feats, fmask = front(wave, None)
    log_mel = torch.log(front.mel_power(wave) + 1e-6).flatten(2)
    expected = (log_mel - log_mel.mean()) / (log_mel.var(unbiased=False) + 1e-5).sqrt()
    torch.testing.assert_close(feats, expected)
    assert fmask is None and feats.shape == (1, 8_000 // 160 + 1, 40)


def test_spec_augment_masks_in_training_only():
    wave = torch.from_numpy(chirp()).float()[None, :, None].repeat(4, 1, 1)
    front = LogMelFrontend(1, LogMelSettings(freq_width=10, time_width=12))
    front.eval()
    torch.testing.assert_close(front(wave, None)[0], front(wave, None)[0])
    clean = front(wave, None)[0]
    front.train()
    torch.manual_seed(0)
    augmented = front(wave, None)[0]
    changed = (augmented != clean).reshape(4, -1).any(dim=1)
    assert changed.all(), "every example gets at least one mask in training"


def test_spec_augment_masks_whole_bands_and_frames():
    torch.manual_seed(3)
    feats = torch.randn(2, 50, 1, 40)
    out = spec_augment(feats, LogMelSettings(freq_masks=1, freq_width=5, time_masks=0))
    for b in range(2):
        hit = (out[b] != feats[b]).any(dim=0)[0]  # (M,): bands masked over all frames
        assert int(hit.sum()) <= 5
        masked = torch.nonzero(hit).flatten()
        if len(masked):
            assert (masked.diff() == 1).all(), "one contiguous band"
            assert (out[b, :, 0, masked] == out[b, 0, 0, masked[0]]).all()


def test_frame_mask_and_steps_follow_the_stft_centres():
    mask = torch.arange(800)[None, :] < torch.tensor([[800], [330]])
    fmask = frame_mask(mask, 160, 6)
    assert fmask.tolist() == [[True] * 6, [True, True, True, False, False, False]]
    h = torch.arange(6.0)[None, :, None]
    assert frames_to_steps(h, 160, 800)[0, [0, 159, 160, 799], 0].tolist() == [0, 0, 1, 4]


def test_padded_log_mel_frames_equal_the_unpadded_ones():
    front = LogMelFrontend(1, SETTINGS).double().eval()
    wave = torch.from_numpy(chirp())[None, :, None]
    n = 5_000
    mask = torch.arange(8_000)[None, :] < n
    padded, fmask = front(wave.masked_fill(~mask[..., None], 0.0), mask)
    alone, _ = front(wave[:, :n], None)
    real = int(fmask.sum())
    assert real == alone.shape[1] == n // 160 + 1
    torch.testing.assert_close(padded[:, :real], alone)
    assert torch.all(padded[:, real:] == 0)


def test_build_frontend_picks_by_input_and_kind():
    assert isinstance(build_frontend(ModelSpec(3, d_input=1), "logmel", SETTINGS, 8),
                      LogMelFrontend)
    assert isinstance(build_frontend(ModelSpec(3, d_input=1), "waveform", SETTINGS, 8),
                      WaveformFrontend)
    assert isinstance(build_frontend(ModelSpec(3, vocab_size=9), "logmel", SETTINGS, 8),
                      TokenFrontend)
    with pytest.raises(ValueError, match="frontend must be one of"):
        build_frontend(ModelSpec(3, d_input=1), "mfcc", SETTINGS, 8)
    with pytest.raises(ValueError, match="hop"):
        LogMelSettings(n_fft=100, hop=200)


def test_spectrogram_parameters_live_in_the_model_config():
    model = create_model("crnn", d_input=1, d_output=2, n_mels=20, hop=80, n_fft=256,
                         sample_rate=8_000)
    assert (model.config.n_mels, model.config.hop, model.config.n_fft) == (20, 80, 256)
    assert model.embed.settings.sample_rate == 8_000 and model.embed.fbank.shape == (20, 129)


@pytest.mark.parametrize("name", ["wavenet", "tcn", "s4", "s4d", "mamba"])
def test_audio_streamed_chunk_by_chunk_equals_forward(name):
    torch.manual_seed(0)
    model = create_model(name, d_input=1, d_output=3, task="per_step", causal=True,
                         d_model=8, n_layers=2).double().eval()
    wave = torch.randn(2, 90, 1, dtype=torch.float64)
    pieces = [wave[:, :25], wave[:, 25:26], wave[:, 26:90]]  # uneven chunks, one of 1 sample
    with torch.no_grad():
        streamed = torch.cat([y for y, _ in stream_chunks(model, pieces)], dim=1)
        torch.testing.assert_close(streamed, model(wave), atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize("name", ["crnn", "conv_transformer"])
def test_the_datasets_sample_rate_reaches_the_spectrogram_models(name):
    from seqselect.bakeoff.candidates import prepare
    from seqselect.data import load_dataset

    splits = load_dataset("audio:tones?n=3&clip_seconds=0.2&sample_rate=8000", seed=0)
    assert splits.model_kwargs()["data_sample_rate"] == 8_000
    config = prepare(name, splits, params=None, max_length=None)["config"]
    # 25 ms windows and 10 ms hops at 8 kHz, as at 16 kHz
    assert (config["sample_rate"], config["n_fft"], config["hop"]) == (8_000, 200, 80)
    model = create_model(name, **splits.model_kwargs())
    assert model.embed.fbank.shape == (model.config.n_mels, 101)


def test_models_without_a_spectrogram_ignore_the_sample_rate():
    model = create_model("lstm", d_input=1, d_output=2, data_sample_rate=8_000, d_model=4)
    assert not hasattr(model.config, "sample_rate")
    with pytest.raises(ValueError, match="sample_rate"):
        create_model("crnn", d_input=1, d_output=2, data_sample_rate=0)


def test_a_full_config_given_back_rebuilds_the_same_spectrogram_model():
    # what the bake-off's trials do: the dataset's kwargs plus the prepared config
    first = create_model("crnn", d_input=1, d_output=2, data_sample_rate=8_000)
    config = dataclasses.asdict(first.config)
    again = create_model("crnn", d_input=1, d_output=2, data_sample_rate=8_000, **config)
    assert again.config == first.config
    other = create_model("crnn", d_input=1, d_output=2, data_sample_rate=16_000, **config)
    assert other.config == first.config  # explicit fields win over the data's rate
