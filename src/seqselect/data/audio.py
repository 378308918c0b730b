"""Audio datasets: generated sets (``audio:spoken-digits``, ``audio:tones``), a folder
with one sub-folder per class, and a CSV/Parquet table of file paths and labels.

Every one becomes ``(L, 1)`` mono clips at ``sample_rate`` through ``inputs/audio.py``
and then :class:`DatasetSplits` through ``splits.finalize`` (seeded stratified split,
padding with masks, standardisation with training statistics). Parameters, after ``?``
in the source (``audio:spoken-digits?sample_rate=8000&clip_seconds=1&n=30``):

* ``sample_rate`` (Hz, default 16,000), ``clip_seconds`` (default 1; ``0`` or ``none``
  keeps files whole, with masks for their lengths);
* generated sets only: ``n``, clips per class.

Errors (``DataError``, exit 2, nothing written to the user's folder): a file that does
not exist or cannot be decoded, zero-length audio, NaN samples, a folder with no audio, a
class with one file, a table without a path or label column.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from seqselect.data import audio_synth
from seqselect.data.splits import RawDataset, finalize
from seqselect.data.types import DatasetSplits
from seqselect.data.validate import Where, split_counts
from seqselect.errors import DataError
from seqselect.inputs.audio import AUDIO_EXTENSIONS, AudioSettings, is_audio_file, load_clips

#: Generated sets: name -> (default clips per class, summary).
GENERATED = {
    "spoken-digits": (30, "the ten digits spoken by espeak-ng (6 accents x 8 voice variants, "
                          "speeds 120-220 wpm, pitches 20-80) in coloured noise"),
    "tones": (40, "5 tone patterns (steady, rising, falling, beeps, warble) in white noise"),
}
PATH_COLUMNS = ("path", "file", "filename", "filepath", "audio")
LABEL_COLUMNS = ("label", "class", "target", "y")
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")


def _settings(params: dict[str, str], source: str, allowed: tuple[str, ...]):
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise DataError(f"{source}: unknown parameter(s) {', '.join(unknown)}; "
                        f"use {', '.join(allowed)}")
    try:
        rate = int(params.get("sample_rate", 16_000))
        clip_text = params.get("clip_seconds", "1").lower()
        clip = None if clip_text in ("0", "none", "whole") else float(clip_text)
    except ValueError:
        raise DataError(f"{source}: sample_rate must be an integer and clip_seconds a "
                        "number of seconds (or none)") from None
    return AudioSettings(rate, clip)


def _metadata(settings: AudioSettings, rates: list[int], **extra: Any) -> dict[str, Any]:
    return {"data_type": "audio", "audio": settings.to_dict(),
            "file_sample_rates": sorted(set(rates)), **extra}


def is_audio_source(path: Path) -> bool:
    """A folder whose sub-folders hold audio, or a table whose path column names audio."""
    if path.is_dir():
        return any(is_audio_file(f) for sub in path.iterdir() if sub.is_dir()
                   for f in sub.iterdir())
    if path.suffix.lower() in TABLE_SUFFIXES and path.is_file():
        try:
            head = _read_table(path, rows=5)
        except DataError:  # not readable as a table here: the table loader will say why
            return False
        return _path_column(head, by_name=False) is not None
    return False


def load_audio(
    scheme: str, name: str, params: dict[str, str], *, source: str, task: str | None,
    target: str | None, seed: int, normalize: bool, val_fraction: float, test_fraction: float,
) -> DatasetSplits:
    """Load an ``audio:`` set, an audio folder or an audio table (see the module docstring)."""
    if task not in (None, "classify"):
        raise DataError(f"{source}: audio datasets are classification; task={task!r} is not")
    fractions = {"val_fraction": val_fraction, "test_fraction": test_fraction, "seed": seed}
    if scheme == "audio":
        raw = _generated(name.lower(), params, source, seed)
    else:
        settings = _settings(params, source, ("sample_rate", "clip_seconds"))
        path = Path(name).expanduser()
        raw = _folder(path, settings) if path.is_dir() else _table(path, settings, target)
    return finalize(raw, normalize=normalize, **fractions)


def _generated(name: str, params: dict[str, str], source: str, seed: int) -> RawDataset:
    if name not in GENERATED:
        raise DataError(f"{source}: unknown audio set {name!r}; choose one of "
                        f"{', '.join('audio:' + n for n in GENERATED)}")
    settings = _settings(params, source, ("sample_rate", "clip_seconds", "n"))
    try:
        per_class = int(params.get("n", GENERATED[name][0]))
    except ValueError:
        raise DataError(f"{source}: n must be an integer (clips per class)") from None
    if per_class < 2:
        raise DataError(f"{source}: n={per_class}; every class needs at least 2 clips")
    clip_seconds = settings.clip_seconds or 1.0
    meta = {"description": GENERATED[name][1], "clips_per_class": per_class,
            "generator_seed": seed}
    canonical = (f"audio:{name}?sample_rate={settings.sample_rate}"
                 f"&clip_seconds={clip_seconds:g}&n={per_class}")
    if name == "tones":
        clips, labels = audio_synth.tone_clips(per_class, settings.sample_rate, clip_seconds,
                                               seed)
        return RawDataset(
            f"audio:{name}", canonical, "classify", clips, labels,
            class_names=list(audio_synth.TONE_CLASSES),
            metadata=_metadata(settings, [settings.sample_rate], **meta),
        )
    folder = audio_synth.spoken_digits_folder(per_class, settings.sample_rate, clip_seconds,
                                              seed)
    raw = _folder(folder, settings)
    raw.name, raw.source = f"audio:{name}", canonical
    raw.metadata.update(meta, cache_folder=str(folder))
    return raw


def _folder(root: Path, settings: AudioSettings) -> RawDataset:
    """One sub-folder per class; every .wav/.flac/.ogg file in it is one clip."""
    if not root.is_dir():
        raise DataError(f"{root}: folder does not exist")
    files: list[Path] = []
    labels: list[str] = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        found = sorted(f for f in sub.iterdir() if f.is_file() and is_audio_file(f))
        files += found
        labels += [sub.name] * len(found)
    if not files:
        raise DataError(
            f"{root}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) in its sub-folders; "
            "expected one sub-folder per class holding that class's files"
        )
    _require_two_per_class(labels, files)
    clips, rates = load_clips(files, settings)
    return RawDataset(
        str(root), str(root), "classify", clips, np.asarray(labels),
        where=Where(str(root), "bundled"),
        metadata=_metadata(settings, rates, files=[str(f.relative_to(root)) for f in files]),
    )


def _require_two_per_class(labels: list[str], files: list[Path]) -> None:
    for label, count in Counter(labels).items():
        if count < 2:
            only = files[labels.index(label)]
            raise DataError(
                f"class {label!r} has one file ({only}); every class needs at least two "
                "(one to train on, one to test)"
            )


def _read_table(path: Path, rows: int | None = None):
    import pandas as pd

    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            table = pd.read_parquet(path)
            return table.head(rows) if rows else table
        sep = "\t" if path.suffix.lower() == ".tsv" else ","
        return pd.read_csv(path, sep=sep, nrows=rows, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the table ({exc})") from None


def _path_column(table, by_name: bool = True) -> str | None:
    """The first column whose values all name audio files; else (``by_name``) a column
    with a known name (its missing files are then reported by row)."""
    for col in table.columns:
        values = [str(v) for v in table[col].tolist()]
        if values and all(is_audio_file(v) for v in values):
            return str(col)
    if not by_name:  # detection: a table with a "file" column of numbers is not audio
        return None
    lowered = {str(c).lower(): str(c) for c in table.columns}
    return next((lowered[c] for c in PATH_COLUMNS if c in lowered), None)


def _table(path: Path, settings: AudioSettings, target: str | None) -> RawDataset:
    """A CSV/Parquet with a column of file paths (relative to the table's folder) and a label."""
    if not path.exists():
        raise DataError(f"{path}: file does not exist")
    table = _read_table(path)
    path_col = _path_column(table)
    if path_col is None:
        raise DataError(f"{path}: no column of audio file paths; name it one of "
                        f"{', '.join(PATH_COLUMNS)}")
    lowered = {str(c).lower(): str(c) for c in table.columns}
    label_col = target or next((lowered[c] for c in LABEL_COLUMNS if c in lowered), None)
    if label_col is None or label_col not in table.columns:
        raise DataError(f"{path}: no label column {label_col or ''}; name it one of "
                        f"{', '.join(LABEL_COLUMNS)} or pass --target")
    where = Where(str(path), "parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv")
    files = []
    for i, value in enumerate(table[path_col].astype(str)):
        file = Path(value).expanduser()
        file = file if file.is_absolute() else path.parent / file
        if not file.is_file():
            raise DataError(f"{path}, {where.row(i)}, column {path_col!r}: "
                            f"{file} does not exist{where.convention}")
        files.append(file)
    labels = table[label_col].astype(str).tolist()
    _require_two_per_class(labels, files)
    clips, rates = load_clips(files, settings)
    return RawDataset(
        str(path), str(path), "classify", clips, np.asarray(labels),
        rows=np.arange(len(files)), where=where, target_name=label_col,
        metadata=_metadata(settings, rates, files=[str(f) for f in files]),
    )


def describe_audio_sets() -> list[dict[str, Any]]:
    """The listing rows of the generated audio sets at their defaults (16 kHz, 1 s)."""
    rows = []
    for name, (per_class, summary) in GENERATED.items():
        classes = len(audio_synth.DIGITS if name == "spoken-digits" else audio_synth.TONE_CLASSES)
        n = per_class * classes
        n_val, n_test = split_counts(n, 0.15, 0.2)
        rows.append({
            "name": f"audio:{name}", "kind": "audio", "task": "classify", "length": 16_000,
            "channels": 1, "classes": classes, "n_train": n - n_val - n_test, "n_test": n_test,
            "description": summary, "parameters": ["clip_seconds", "n", "sample_rate", "seed"],
        })
    return rows
