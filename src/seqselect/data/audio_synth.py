"""Audio made offline: the ten digits spoken by espeak-ng, and tone patterns in noise.

Symbols: L samples per clip, N clips.

``spoken-digits`` (``audio:spoken-digits``): each clip is one digit word ("zero" ..
"nine") spoken by Debian's ``espeak-ng`` with a voice, speed and pitch drawn from the seed,
placed at a random offset in a clip of background noise (white noise through a random
one-pole low-pass, at 5-30 dB SNR). Clips are written once as 16-bit WAV files, one
sub-folder per digit, into a cache folder named by every parameter, and read back by the
audio-folder loader, so the generated set goes through the same path as a user's folder.
The set is the shape of the Free Spoken Digit Dataset (Jackson et al. 2018).

``tones`` (``audio:tones``): five classes of pitched patterns in white noise - a
steady tone, a rising chirp, a falling chirp, two beeps, a warbling (frequency-modulated)
tone - each at a random base frequency, onset and SNR. Needs nothing installed.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile

from seqselect.errors import DataError
from seqselect.inputs.audio import read_audio, resample, to_mono

log = logging.getLogger(__name__)

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
#: espeak-ng's own English voices (no MBROLA data needed) and its voice variants.
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc")
VARIANTS = ("", "+m1", "+m3", "+m7", "+f1", "+f2", "+f4", "+klatt")
TONE_CLASSES = ("steady", "rising", "falling", "beeps", "warble")
ESPEAK_HINT = (
    "espeak-ng is not installed; install the Debian/Ubuntu package espeak-ng "
    "(scripts/install-debian-packages.sh, or apt-get install espeak-ng), or use the synthetic "
    "audio:tones set"
)


def cache_root() -> Path:
    """Where generated audio lives: ``$SEQSELECT_CACHE`` or ``~/.cache/seqselect``."""
    return Path(os.environ.get("SEQSELECT_CACHE", Path.home() / ".cache" / "seqselect"))


def espeak_path() -> str:
    """The espeak-ng executable; a DataError naming the package when it is missing."""
    found = shutil.which("espeak-ng")
    if found is None:
        raise DataError(ESPEAK_HINT)
    return found


def _speak(word: str, voice: str, speed: int, pitch: int, workdir: Path) -> tuple[np.ndarray, int]:
    """One word from espeak-ng, the same for the same arguments: ``(L,)`` float32 mono and
    its sample rate (22,050 Hz).

    Why twice: a set is promised to be the same for a seed, and espeak-ng was seen (once,
    in CI, not reproduced) to render a word differently. Two renderings that agree are
    kept; when they differ, the rendering two of up to four attempts agree on is.
    """
    seen: list[tuple[np.ndarray, int]] = []
    for _ in range(4):
        wave, rate = _speak_once(word, voice, speed, pitch, workdir)
        for earlier, earlier_rate in seen:
            if earlier_rate == rate and np.array_equal(earlier, wave):
                if len(seen) > 1:
                    log.warning("espeak-ng rendered %r (%s) differently on %d of %d calls",
                                word, voice, len(seen) - 1, len(seen) + 1)
                return wave, rate
        seen.append((wave, rate))
    raise DataError(f"espeak-ng rendered {word!r} with voice {voice} differently on each of "
                    "4 calls; the spoken-digits set cannot be made the same for a seed here")


def _speak_once(word: str, voice: str, speed: int, pitch: int,
                workdir: Path) -> tuple[np.ndarray, int]:
    out = workdir / "word.wav"
    cmd = [espeak_path(), "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(out), word]
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise DataError(f"espeak-ng failed on {word!r} with voice {voice}: {exc}") from None
    samples, rate = read_audio(out)
    return to_mono(samples), rate


def _background(rng: np.random.Generator, n: int) -> np.ndarray:
    """``(n,)`` unit-power noise, white through a one-pole low-pass of random colour."""
    from scipy.signal import lfilter

    pole = rng.uniform(0.0, 0.95)
    noise = lfilter([1.0], [1.0, -pole], rng.standard_normal(n))
    return (noise / (noise.std() + 1e-12)).astype(np.float32)


def _place(signal: np.ndarray, n: int, rng: np.random.Generator, snr_db: float) -> np.ndarray:
    """``signal`` at a random offset in ``n`` samples of noise at ``snr_db``, peak 0.9."""
    signal = signal[:n]
    clip = _background(rng, n)
    power = float(np.mean(signal**2)) or 1e-12
    clip *= np.sqrt(power / 10 ** (snr_db / 10))
    start = int(rng.integers(0, n - len(signal) + 1))
    clip[start : start + len(signal)] += signal
    return (0.9 * clip / (np.abs(clip).max() + 1e-12)).astype(np.float32)


def spoken_digits_folder(n_per_class: int, sample_rate: int, clip_seconds: float,
                         seed: int) -> Path:
    """The cache folder of ``audio:spoken-digits`` for these parameters, made on first use.

    Written to a temporary folder beside it and renamed when complete, so an interrupted
    run never leaves a half-made set behind.
    """
    name = f"spoken-digits-n{n_per_class}-sr{sample_rate}-clip{clip_seconds:g}-seed{seed}"
    folder = cache_root() / "audio" / name
    if (folder / "COMPLETE").exists():
        return folder
    espeak_path()
    folder.parent.mkdir(parents=True, exist_ok=True)
    n = max(1, round(clip_seconds * sample_rate))
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".partial-") as tmp:
        staging = Path(tmp) / "set"
        for d, word in enumerate(DIGITS):
            (staging / str(d)).mkdir(parents=True)
            for i in range(n_per_class):
                voice = f"{rng.choice(VOICES)}{rng.choice(VARIANTS)}"
                speed, pitch = int(rng.integers(120, 221)), int(rng.integers(20, 81))
                wave, rate = _speak(word, voice, speed, pitch, Path(tmp))
                wave = resample(wave, rate, sample_rate) * rng.uniform(0.3, 1.0)
                clip = _place(wave, n, rng, snr_db=rng.uniform(5.0, 30.0))
                soundfile.write(staging / str(d) / f"{word}_{i:04d}.wav", clip, sample_rate,
                                subtype="PCM_16")
        (staging / "COMPLETE").write_text(f"{n_per_class * len(DIGITS)} clips\n")
        if folder.exists():  # an incomplete set from an older run
            shutil.rmtree(folder)
        staging.rename(folder)
    return folder


def tone_clips(
    n_per_class: int, sample_rate: int, clip_seconds: float, seed: int
) -> tuple[list[np.ndarray], np.ndarray]:
    """``audio:tones``: ``N = 5 * n_per_class`` clips ``(L, 1)`` float32 and their labels."""
    rng = np.random.default_rng(seed)
    n = max(8, round(clip_seconds * sample_rate))
    t = np.arange(n) / sample_rate
    clips, labels = [], []
    for label in TONE_CLASSES:
        for _ in range(n_per_class):
            f0 = rng.uniform(0.02, 0.12) * sample_rate  # well below Nyquist
            span = rng.uniform(0.3, 0.6) * clip_seconds
            onset = rng.uniform(0.0, clip_seconds - span)
            u = np.clip((t - onset) / span, 0.0, 1.0)  # 0 -> 1 across the pattern
            freq = {
                "steady": np.full(n, f0),
                "rising": f0 * (1.0 + u),
                "falling": f0 * (2.0 - u),
                "beeps": np.full(n, f0),
                "warble": f0 * (1.0 + 0.15 * np.sin(2 * np.pi * 6.0 * (t - onset))),
            }[label]
            gate = (t >= onset) & (t < onset + span)
            if label == "beeps":
                gate &= (u < 0.35) | (u > 0.65)
            tone = np.sin(2 * np.pi * np.cumsum(freq) / sample_rate) * gate
            snr_db = rng.uniform(0.0, 20.0)
            noise = rng.standard_normal(n) * np.sqrt(0.5 / 10 ** (snr_db / 10))
            clips.append((tone + noise).astype(np.float32)[:, None])
            labels.append(label)
    return clips, np.asarray(labels)
