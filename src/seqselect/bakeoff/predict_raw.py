"""Raw inputs for an exported text or audio model: files -> the sequences it was trained on.

Symbols: N inputs, L tokens (text) or samples (audio).

The export folder carries the input pipeline (:mod:`seqselect.bakeoff.export`): a text
model its ``tokenizer.json`` and truncation length, an audio model its
:class:`~seqselect.inputs.audio.AudioSettings` and front-end. These readers apply it:

* text: a CSV/TSV/Parquet/JSON Lines table with the text column the model was trained on
  (or the one free-text column), or a folder of ``.txt`` files - flat, or one sub-folder
  per class (the class is then the truth, for accuracy);
* audio: a folder of ``.wav``/``.flac``/``.ogg`` files - flat, or one sub-folder per
  class - or a CSV/Parquet with a column of file paths (relative to the table).

Each returns ``{"seqs", "keys", "key_name", "y", "target", "tokens"}`` like
:func:`seqselect.bakeoff.predict.read_inputs`; the caller pads, normalises and predicts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seqselect.errors import DataError

__all__ = ["is_raw_model", "read_raw_inputs"]


def is_raw_model(config: dict[str, Any]) -> bool:
    """Does the model read raw text or audio (an input pipeline saved with it)?"""
    inp = config.get("input") or {}
    return "tokenizer_file" in inp or isinstance(inp.get("audio"), dict)


def read_raw_inputs(
    path: str | Path, model_dir: str | Path, config: dict[str, Any], *, target: str | None
) -> dict[str, Any]:
    """The inputs of ``path`` through the model's saved pipeline (see the module doc)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    inp = config.get("input") or {}
    if "tokenizer_file" in inp:
        return _read_texts(path, model_dir, config, target)
    return _read_audio(path, inp, target)


# ---- text ---------------------------------------------------------------------------------


def _text_rows(path: Path, config: dict[str, Any], target: str | None):
    """``(texts, keys, key_name, labels or None, target name or None)`` of a file/folder."""
    from seqselect.data import text as text_data

    if path.is_dir():
        classes = [p for p in sorted(path.iterdir()) if p.is_dir() and any(p.glob("*.txt"))]
        if classes:
            table = text_data.folder_texts(path)
            return table.texts, table.rows, "file", table.labels, "folder"
        files = sorted(path.glob("*.txt"))
        if not files:
            raise DataError(f"{path}: no .txt files (flat, or one sub-folder per class)")
        texts = [text_data.decode_utf8(f.read_bytes(), str(f), lines=False) for f in files]
        return texts, [f.name for f in files], "file", None, None
    df, where = text_data.read_text_table(path)
    inp = config.get("input") or {}
    col = inp.get("text_column")
    if col not in df.columns:
        found = text_data.text_columns(df)
        if len(found) != 1:
            raise DataError(
                f"{path}: expected the text column {col!r} the model was trained on, or one "
                f"column of free text; columns: {', '.join(map(repr, df.columns[:12]))}"
            )
        col = found[0]
    label = target or config.get("target") or inp.get("label_column")
    labels = None
    if label in df.columns and label != col:
        labels = [v.strip() for v in df[label].astype(str).tolist()]
    keys = list(range(len(df)))
    return df[col].astype(str).tolist(), keys, "row", labels, label if labels else None


def _read_texts(path: Path, model_dir, config: dict[str, Any], target: str | None):
    from seqselect.bakeoff.export import load_text_pipeline

    pipe = load_text_pipeline(model_dir, config)
    texts, keys, key_name, labels, label = _text_rows(path, config, target)
    empty = [i for i, t in enumerate(texts) if not t.strip()]
    if empty:
        raise DataError(f"{path}: {len(empty)} empty or whitespace-only text(s), the first "
                        f"at {key_name} {keys[empty[0]]}; the model needs words to read")
    return {
        "seqs": pipe.token_ids(texts),  # each (L_i,) int64, cut to the training max_len
        "keys": keys,
        "key_name": key_name,
        "y": labels,
        "target": label,
        "tokens": True,
    }


# ---- audio --------------------------------------------------------------------------------


def _audio_files(path: Path, target: str | None):
    """``(files, keys, labels or None)`` of a folder or a table of paths."""
    from seqselect.data import audio as audio_data
    from seqselect.inputs.audio import is_audio_file

    if path.is_dir():
        subs = [p for p in sorted(path.iterdir()) if p.is_dir()]
        files, labels = [], []
        for sub in subs:
            found = sorted(f for f in sub.iterdir() if f.is_file() and is_audio_file(f))
            files += found
            labels += [sub.name] * len(found)
        if files:
            return files, [str(f.relative_to(path)) for f in files], labels
        files = sorted(f for f in path.iterdir() if f.is_file() and is_audio_file(f))
        if not files:
            raise DataError(f"{path}: no audio files (.wav, .flac, .ogg), flat or in "
                            "one sub-folder per class")
        return files, [f.name for f in files], None
    table = audio_data._read_table(path)
    col = audio_data._path_column(table)
    if col is None:
        raise DataError(f"{path}: no column of audio file paths; name it one of "
                        f"{', '.join(audio_data.PATH_COLUMNS)}")
    files = []
    for i, value in enumerate(table[col].astype(str)):
        file = Path(value).expanduser()
        file = file if file.is_absolute() else path.parent / file
        if not file.is_file():
            raise DataError(f"{path}, row {i + 1}, column {col!r}: {file} does not exist")
        files.append(file)
    lowered = {str(c).lower(): str(c) for c in table.columns}
    label = target or next((lowered[c] for c in audio_data.LABEL_COLUMNS if c in lowered), None)
    labels = table[label].astype(str).tolist() if label in table.columns else None
    return files, [str(v) for v in table[col].astype(str)], labels


def _read_audio(path: Path, inp: dict[str, Any], target: str | None):
    from seqselect.inputs.audio import AudioSettings, load_clips

    settings = AudioSettings.from_dict(inp["audio"])
    files, keys, labels = _audio_files(path, target)
    clips, _ = load_clips(files, settings)  # each (L_i, 1) at the training sample rate
    return {
        "seqs": clips,
        "keys": keys,
        "key_name": "file",
        "y": labels,
        "target": "label" if labels is not None else None,
        "tokens": False,
    }
