"""Audio datasets: generated sets, audio folders and tables, and their error messages."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import soundfile
import torch

from seqselect.data import audio_synth, list_datasets, load_dataset
from seqselect.errors import DataError

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (scripts/install-debian-packages.sh installs it)",
)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQSELECT_CACHE", str(tmp_path / "cache"))


def tone(freq: float, rate: int = 8_000, seconds: float = 0.25) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def make_folder(root, per_class=3, rates=(8_000,), ext="wav"):
    """Two classes, 'low' (200 Hz) and 'high' (1 kHz), ``per_class`` files each."""
    for label, freq in (("low", 200.0), ("high", 1_000.0)):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            rate = rates[i % len(rates)]
            soundfile.write(root / label / f"{i}.{ext}", tone(freq, rate), rate)
    return root


def test_tones_are_seeded_and_shaped():
    splits = load_dataset("audio:tones?n=6&clip_seconds=0.25&sample_rate=8000", seed=3)
    again = load_dataset("audio:tones?n=6&clip_seconds=0.25&sample_rate=8000", seed=3)
    other = load_dataset("audio:tones?n=6&clip_seconds=0.25&sample_rate=8000", seed=4)
    assert splits.class_names == list(audio_synth.TONE_CLASSES)
    assert splits.d_input == 1 and splits.train.x.shape[1:] == (2_000, 1)
    assert len(splits.train) + len(splits.val) + len(splits.test) == 30
    torch.testing.assert_close(splits.train.x, again.train.x)
    assert not torch.equal(splits.train.x, other.train.x)
    assert splits.metadata["data_type"] == "audio"
    assert splits.metadata["audio"] == {"sample_rate": 8_000, "clip_seconds": 0.25}


def _first_and_last_pitch(wave: np.ndarray, frame: int = 256) -> tuple[int, int]:
    """The spectral peak's bin in the first and last frames where a tone stands out."""
    frames = wave[: len(wave) // frame * frame].reshape(-1, frame) * np.hanning(frame)
    spectra = np.abs(np.fft.rfft(frames, axis=1))
    toned = np.flatnonzero(spectra.max(axis=1) > 8 * np.median(spectra, axis=1))
    bins = spectra.argmax(axis=1)
    return int(bins[toned[0]]), int(bins[toned[-1]])


def test_tone_patterns_rise_fall_or_stay():
    clips, labels = audio_synth.tone_clips(4, 8_000, 1.0, seed=0)
    for clip, label in zip(clips, labels, strict=True):
        first, last = _first_and_last_pitch(clip[:, 0])
        if label == "rising":
            assert last > first + 2, label
        elif label == "falling":
            assert last < first - 2, label
        elif label in ("steady", "beeps"):
            assert abs(last - first) <= 1, label


@needs_espeak
def test_spoken_digits_are_the_same_for_a_seed(tmp_path, monkeypatch):
    source = "audio:spoken-digits?n=2&sample_rate=8000&clip_seconds=1"
    # both caches are this test's own: the user's may hold a set another run is writing
    monkeypatch.setenv("SEQSELECT_CACHE", str(tmp_path / "first-cache"))
    first = load_dataset(source, seed=7)
    monkeypatch.setenv("SEQSELECT_CACHE", str(tmp_path / "second-cache"))
    second = load_dataset(source, seed=7)
    torch.testing.assert_close(first.train.x, second.train.x)
    torch.testing.assert_close(first.test.y, second.test.y)
    assert first.class_names == [str(d) for d in range(10)]
    assert first.train.x.shape[1:] == (8_000, 1)
    other = audio_synth.spoken_digits_folder(2, 8_000, 1.0, seed=8)
    a, _ = soundfile.read(other / "3" / "three_0000.wav")
    b, _ = soundfile.read(audio_synth.spoken_digits_folder(2, 8_000, 1.0, seed=7)
                          / "3" / "three_0000.wav")
    assert not np.array_equal(a, b)


def test_a_word_espeak_renders_differently_is_the_rendering_two_calls_agree_on(
    monkeypatch, tmp_path
):
    a, b, c, d = (np.full(5, v, dtype=np.float32) for v in (0.1, 0.2, 0.3, 0.4))
    renderings = iter([(a, 22_050), (b, 22_050), (a, 22_050)])
    monkeypatch.setattr(audio_synth, "_speak_once", lambda *args: next(renderings))
    wave, rate = audio_synth._speak("seven", "en-us", 150, 50, tmp_path)
    np.testing.assert_array_equal(wave, a)
    assert rate == 22_050
    renderings = iter([(a, 22_050), (b, 22_050), (c, 22_050), (d, 22_050)])
    with pytest.raises(DataError, match=r"differently on each of 4 calls"):
        audio_synth._speak("seven", "en-us", 150, 50, tmp_path)


def test_missing_espeak_names_the_package(monkeypatch):
    monkeypatch.setattr(audio_synth.shutil, "which", lambda _name: None)
    with pytest.raises(DataError, match=r"install the Debian/Ubuntu package espeak-ng"):
        load_dataset("audio:spoken-digits?n=2")


def test_an_audio_folder_loads_one_class_per_sub_folder(tmp_path, caplog):
    root = make_folder(tmp_path / "sounds", per_class=4, rates=(8_000, 16_000))
    with caplog.at_level("WARNING"):
        splits = load_dataset(f"{root}?sample_rate=8000&clip_seconds=0.1")
    assert splits.class_names == ["high", "low"]
    assert splits.train.x.shape[1:] == (800, 1)
    assert splits.metadata["file_sample_rates"] == [8_000, 16_000]
    assert sum("mixed sample rates" in r.message for r in caplog.records) == 1


def test_a_table_of_paths_and_labels_loads(tmp_path):
    root = make_folder(tmp_path / "sounds", ext="flac")
    rows = [{"file": f"sounds/{lab}/{i}.flac", "label": lab}
            for lab in ("low", "high") for i in range(3)]
    pd.DataFrame(rows).to_csv(tmp_path / "files.csv", index=False)
    pd.DataFrame(rows).to_parquet(tmp_path / "files.parquet")
    for name in ("files.csv", "files.parquet"):
        splits = load_dataset(str(tmp_path / name), seed=1)
        assert splits.class_names == ["high", "low"] and splits.d_input == 1
    assert root.exists()


def test_folder_errors_say_what_is_wrong(tmp_path):
    root = make_folder(tmp_path / "one", per_class=2)
    (root / "low" / "1.wav").unlink()
    with pytest.raises(DataError, match=r"class 'low' has one file \(.*0\.wav\)"):
        load_dataset(str(root))
    bad = make_folder(tmp_path / "bad", per_class=2)
    (bad / "high" / "1.wav").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"high/1\.wav: cannot read it as audio"):
        load_dataset(str(bad))


def test_an_empty_folder_is_refused(tmp_path):
    from seqselect.data.audio import load_audio

    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(DataError, match=r"empty: no audio files"):
        load_audio("file", str(tmp_path / "empty"), {}, source="x", task=None, target=None,
                   seed=0, normalize=True, val_fraction=0.15, test_fraction=0.2)


def test_table_errors_name_the_row(tmp_path):
    make_folder(tmp_path / "sounds")
    rows = [{"path": "sounds/low/0.wav", "label": "low"}, {"path": "sounds/low/9.wav",
                                                           "label": "low"}]
    pd.DataFrame(rows).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match=r"t\.csv, row 3, column 'path': .*9\.wav does not"):
        load_dataset(str(tmp_path / "t.csv"))


def test_bad_parameters_and_tasks_are_refused():
    with pytest.raises(DataError, match="unknown parameter"):
        load_dataset("audio:tones?rate=8000")
    with pytest.raises(DataError, match="unknown audio set"):
        load_dataset("audio:birdsong")
    with pytest.raises(DataError, match="audio datasets are classification"):
        load_dataset("audio:tones", task="regress")
    with pytest.raises(DataError, match="at least 2 clips"):
        load_dataset("audio:tones?n=1")


def test_the_audio_sets_are_listed():
    rows = {row["name"]: row for row in list_datasets()}
    assert rows["audio:spoken-digits"]["classes"] == 10
    assert rows["audio:tones"]["kind"] == "audio"


def test_a_numeric_table_with_a_file_column_is_not_taken_for_audio(tmp_path):
    from seqselect.data.audio import is_audio_source

    pd.DataFrame({"file": [1, 2, 3], "label": ["a", "b", "a"]}).to_csv(tmp_path / "n.csv")
    assert not is_audio_source(tmp_path / "n.csv")
    pd.DataFrame({"file": ["x.wav"], "label": ["a"]}).to_csv(tmp_path / "a.csv")
    assert is_audio_source(tmp_path / "a.csv")
