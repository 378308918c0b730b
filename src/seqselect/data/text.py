"""Text datasets: user files with a text column, folders of ``.txt`` files, and the bundled
text sets (:mod:`seqselect.data.text_corpora`) - validated, split, tokenized.

Symbols: N texts, L tokens.

Sources::

    reviews.csv | .tsv | .parquet | .jsonl   a table with a text column (``text=`` names it;
                                             inferred when exactly one column holds free text)
    reviews/                                 a folder of .txt files, one sub-folder per class
    text:fortunes | text:long_documents      bundled sets (``seqselect datasets``)

Options after ``?``: ``tokenizer=wordpiece|bpe|byte``, ``vocab_size=N``, ``max_len=N``
(tokens), ``lowercase=true|false``; the bundled sets take their own too (``n=``, ``words=``).

The split is decided first (the file's ``split`` column, else a seeded stratified one), then
the tokenizer is trained on the **training texts only** and every split is encoded with it.
The result is an ordinary :class:`DatasetSplits` with token inputs: ``x (N, L)`` long,
``mask (N, L)`` bool, ``vocab_size`` set, so every zoo model trains on it unchanged.
``metadata["tokenizer"]`` is the tokenizer's JSON (a ``tokenizer.json``) and
``metadata["text_pipeline"]`` the rest of :class:`~seqselect.inputs.text.TextPipeline`
(``TextPipeline.from_dict({**meta["text_pipeline"], "tokenizer_json": meta["tokenizer"]})``).

Raw texts for baselines: each split is a :class:`TextSequenceData` whose ``texts`` holds the
raw text of every row (kept aligned by ``subset``), which is how the TF-IDF baseline reads
words and characters rather than token ids.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqselect.data.splits import RawDataset, carve_validation, finalize, seeded_split

# The tables' own rules for numbers and tasks, so text and series files agree.
from seqselect.data.tables import _infer_task as infer_table_task
from seqselect.data.tables import _is_number, read_table, require_column
from seqselect.data.text_table import TextTable
from seqselect.data.types import DatasetSplits, SequenceData
from seqselect.data.validate import Where
from seqselect.errors import DataError
from seqselect.inputs.text import (
    KINDS,
    TextPipeline,
    checkpoint_max_positions,
    pretrained_pipeline,
    train_pipeline,
)

TEXT_TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".jsonl", ".ndjson")
_TARGET_NAMES = ("label", "labels", "target", "class", "category", "y")
_SPLIT_VALUES = {"train": "train", "val": "val", "validation": "val", "valid": "val",
                 "dev": "val", "test": "test"}
PIPELINE_PARAMS = ("tokenizer", "vocab_size", "max_len", "lowercase")


@dataclass
class TextSequenceData(SequenceData):
    """A split of token ids that also keeps each row's raw text (``texts[i]`` is row i)."""

    texts: list[str] = field(default_factory=list)

    def subset(self, index) -> TextSequenceData:
        index = torch.as_tensor(index)
        if index.dtype == torch.bool:
            index = torch.nonzero(index).flatten()
        part = super().subset(index)
        return TextSequenceData(
            part.x, part.mask, part.y, texts=[self.texts[int(i)] for i in index.tolist()]
        )


# ---- reading ------------------------------------------------------------------------------


def decode_utf8(data: bytes, where: str, lines: bool = True) -> str:
    """``data`` as text; bytes that are not UTF-8 raise naming the row and byte offset."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        at = f"line {line}, " if lines else ""
        raise DataError(
            f"{where}: {at}byte offset {exc.start}: byte 0x{data[exc.start]:02x} is not UTF-8; "
            "save the file as UTF-8"
        ) from None


def _read_jsonl(path: Path) -> Any:
    import pandas as pd

    text = decode_utf8(path.read_bytes(), str(path))
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {number} is not JSON: {exc.msg}") from None
        if not isinstance(record, dict):
            raise DataError(f"{path}: line {number} is not a JSON object")
        records.append({k: "" if v is None else str(v) for k, v in record.items()})
    if not records:
        raise DataError(f"{path}: no JSON lines")
    return pd.DataFrame(records).fillna("")


def read_text_table(path: Path) -> tuple[Any, Where]:
    """A CSV/TSV/Parquet/JSON Lines file as a DataFrame of cell texts."""
    name = path.name.lower()
    if name.endswith((".jsonl", ".ndjson")):
        # JSON lines are counted from 1 like a spreadsheet without header ("parquet" rows).
        return _read_jsonl(path), Where(str(path), "parquet")
    if name.endswith((".csv", ".tsv")):
        decode_utf8(path.read_bytes(), str(path))  # before pandas, to name the byte offset
    return read_table(path)


def _free_text(values: list[str]) -> bool:
    """Most cells are not numbers and cells average three or more words."""
    filled = [v for v in values if v.strip()]
    if not filled:
        return False
    numeric = sum(_is_number(v) for v in filled)
    words = np.mean([len(v.split()) for v in filled])
    return numeric < 0.5 * len(filled) and words >= 3


def text_columns(df) -> list[str]:
    """Columns holding free text (see :func:`_free_text`)."""
    return [c for c in df.columns if _free_text(df[c].astype(str).tolist())]


def _pick_columns(df, where: Where, text: str | None, target: str | None):
    if text is not None:
        require_column(df, text, where, "text")
        values = [v for v in df[text].astype(str).tolist() if v.strip()]
        if values and all(_is_number(v) for v in values):
            raise DataError(
                f"{where.file}: column {text!r} holds numbers, not text; name the column "
                "of free text with text= (--text)"
            )
    else:
        found = text_columns(df)
        if len(found) != 1:
            cols = ", ".join(repr(c) for c in df.columns[:12])
            what = "no column holds" if not found else f"{len(found)} columns hold"
            raise DataError(
                f"{where.file}: {what} free text; name the text column with text= (--text); "
                f"columns: {cols}"
            )
        text = found[0]
    if target is None:
        lowered = {c.lower(): c for c in df.columns}
        rest = [c for c in df.columns if c != text and c.lower() != "split"]
        named = [lowered[n] for n in _TARGET_NAMES if n in lowered and lowered[n] != text]
        target = named[0] if named else (rest[0] if len(rest) == 1 else None)
        if target is None:
            raise DataError(
                f"{where.file}: name the target column with --target (target=); "
                f"columns: {', '.join(repr(c) for c in df.columns[:12])}"
            )
    require_column(df, target, where, "target")
    return text, target


def _split_values(df, where: Where) -> list[str] | None:
    for col in df.columns:
        if col.lower() == "split":
            out = []
            for i, value in enumerate(df[col].astype(str).tolist()):
                key = value.strip().lower()
                if key not in _SPLIT_VALUES:
                    raise DataError(
                        f"{where.file}: {where.row(i)}, column {col!r}: {value!r} is not a "
                        f"split name{where.convention}; use train, val or test"
                    )
                out.append(_SPLIT_VALUES[key])
            return out
    return None


def table_texts(path: Path, *, text: str | None, target: str | None) -> TextTable:
    """Texts, labels and the optional split of a table file (not yet validated)."""
    df, where = read_text_table(path)
    text_col, target_col = _pick_columns(df, where, text, target)
    return TextTable(
        name=str(path),
        texts=df[text_col].astype(str).tolist(),
        labels=[v.strip() for v in df[target_col].astype(str).tolist()],
        where=where,
        rows=[where.row(i) for i in range(len(df))],
        split=_split_values(df, where),
        target_name=target_col,
        text_name=text_col,
    )


def folder_texts(root: Path) -> TextTable:
    """A folder with one sub-folder per class, each holding ``.txt`` files (UTF-8)."""
    texts, labels, rows = [], [], []
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for folder in classes:
        for file in sorted(folder.glob("*.txt")):
            texts.append(decode_utf8(file.read_bytes(), str(file), lines=False))
            labels.append(folder.name)
            rows.append(f"file {file.relative_to(root)}")
    if not texts:
        raise DataError(
            f"{root}: no .txt files in class sub-folders; expected {root}/<class>/<name>.txt"
        )
    return TextTable(str(root), texts, labels, Where(str(root), "folder"), rows,
                     target_name="folder")


# ---- validation ---------------------------------------------------------------------------


def validate_texts(table: TextTable, task: str) -> None:
    """Empty texts, a class seen once (classification), missing targets: one error each."""
    if not table.texts:
        raise DataError(f"{table.name}: no texts")
    empty = [i for i, t in enumerate(table.texts) if not t.strip()]
    if empty:
        raise DataError(
            f"{table.name}: {len(empty)} empty or whitespace-only text(s), the first at "
            f"{table.rows[empty[0]]}; remove them or fill them in"
        )
    missing = [i for i, v in enumerate(table.labels) if not v]
    if missing:
        raise DataError(
            f"{table.name}: {table.rows[missing[0]]}, target {table.target_name!r} is empty; "
            "every text needs a target"
        )
    if task != "classify":
        return
    values, first, counts = np.unique(table.labels, return_index=True, return_counts=True)
    once = [(str(v), int(i)) for v, i, c in zip(values, first, counts, strict=True) if c == 1]
    if once:
        label, i = once[0]
        more = f" (and {len(once) - 1} more)" if len(once) > 1 else ""
        raise DataError(
            f"{table.name}: class {label!r} has a single text ({table.rows[i]}){more}; "
            "each class needs at least two (one to train on, one to test)"
        )
    if len(values) < 2:
        raise DataError(f"{table.name}: every text has the class {values[0]!r}; need two")


def infer_task(labels: list[str]) -> str:
    """Text labels or at most 20 distinct integers: classify; other numbers: regress
    (the rule of the series tables)."""
    return infer_table_task(np.asarray(labels, dtype=object))


# ---- tokenize and split -------------------------------------------------------------------


def pipeline_options(params: dict[str, str], source: str) -> dict[str, Any]:
    """``train_pipeline`` keyword arguments from ``?tokenizer=&vocab_size=&...``."""
    out: dict[str, Any] = {}
    if "tokenizer" in params:
        out["kind"] = params["tokenizer"].lower()
        if out["kind"] not in KINDS:
            raise DataError(f"{source}: tokenizer= must be one of {', '.join(KINDS)}")
    try:
        for key in ("vocab_size", "max_len"):
            if key in params:
                out[key] = int(params[key])
    except ValueError:
        raise DataError(f"{source}: vocab_size= and max_len= must be integers") from None
    if "lowercase" in params:
        out["lowercase"] = params["lowercase"].lower() not in ("0", "false", "no")
    return out


def _split_names(table: TextTable, task: str, val_fraction: float, test_fraction: float,
                 seed: int) -> tuple[np.ndarray, str]:
    """``"train" | "val" | "test"`` per text: the file's, or a seeded (stratified) split."""
    labels = np.asarray(table.labels) if task == "classify" else None
    if table.split is not None:
        names = np.asarray(table.split, dtype=object)
        if "val" not in set(names.tolist()) and val_fraction > 0:
            # Carved here rather than in finalize, so each split's raw texts stay aligned.
            train = np.flatnonzero(names == "train")
            _, sub_val = carve_validation(
                len(train), val_fraction, seed,
                labels[train] if labels is not None else None, table.name,
            )
            names[train[sub_val]] = "val"
        return names, "official"
    tr, va, te = seeded_split(len(table.texts), val_fraction, test_fraction, seed, labels,
                              table.name)
    names = np.empty(len(table.texts), dtype=object)
    names[tr], names[va], names[te] = "train", "val", "test"
    return names, "stratified" if task == "classify" else "random"


def tokenize_table(
    table: TextTable, *, source: str, task: str | None = None, seed: int = 0,
    val_fraction: float = 0.15, test_fraction: float = 0.2,
    pipeline: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None,
    normalize: bool = True, pretrained: str | Path | None = None,
) -> DatasetSplits:
    """Validate, split, train the tokenizer on the training texts (or load the checkpoint
    ``pretrained``'s own), encode: the splits."""
    task = task or infer_task(table.labels)
    if task not in ("classify", "regress"):
        raise DataError(f"{table.name}: text datasets are classify or regress, not {task!r}")
    validate_texts(table, task)
    if task == "regress" and not all(_is_number(v) for v in table.labels):
        bad = next(i for i, v in enumerate(table.labels) if not _is_number(v))
        raise DataError(
            f"{table.name}: {table.rows[bad]}, target {table.labels[bad]!r} is not a number"
        )
    split, how = _split_names(table, task, val_fraction, test_fraction, seed)
    train_texts = [t for t, s in zip(table.texts, split, strict=True) if s == "train"]
    metadata = dict(metadata or {})
    if pretrained is not None:
        pipe = _checkpoint_pipeline(pretrained, train_texts, pipeline or {}, metadata)
    else:
        pipe = train_pipeline(train_texts, **(pipeline or {}))
    seqs = pipe.token_ids(table.texts)
    y = (np.asarray(table.labels, dtype=object) if task == "classify"
         else np.asarray([float(v) for v in table.labels], dtype=np.float64))
    raw = RawDataset(
        name=table.name, source=source, task=task, seqs=seqs, y=y, tokens=True, split=split,
        where=table.where, target_name=table.target_name, vocab_size=pipe.vocab_size,
        metadata={**(metadata or {}), "data_type": "text"},
    )
    # normalize: regression targets only (token ids are never scaled).
    splits = finalize(raw, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed,
                      normalize=normalize)
    if table.text_name is not None:  # predict reads the same column of a new table
        splits.metadata["text_column"] = table.text_name
        splits.metadata["label_column"] = table.target_name
    return _attach_texts(splits, table.texts, split, pipe, how)


def _checkpoint_pipeline(folder: str | Path, train_texts: list[str],
                         options: dict[str, Any], metadata: dict[str, Any]) -> TextPipeline:
    """The checkpoint's tokenizer; records the checkpoint for the ``pretrained`` candidate
    (``metadata["model_overrides"]``) and how texts are truncated."""
    trained_only = sorted(set(options) - {"max_len"})
    if trained_only:
        raise DataError(f"--pretrained {folder}: the checkpoint brings its own tokenizer; "
                        f"{', '.join(trained_only)} apply to a tokenizer trained here")
    folder = Path(folder).expanduser().resolve()
    pipe = pretrained_pipeline(folder, train_texts, max_len=options.get("max_len"))
    metadata["pretrained"] = str(folder)
    metadata["model_overrides"] = {"pretrained": {"checkpoint": str(folder)}}
    metadata["truncation"] = (
        f"truncate: tokens past {pipe.max_len} (the checkpoint allows "
        f"{checkpoint_max_positions(folder) or 'any number'}) are cut from the end"
    )
    return pipe


def _attach_texts(splits: DatasetSplits, texts: list[str], split: np.ndarray,
                  pipe: TextPipeline, how: str) -> DatasetSplits:
    """Replace each split by a :class:`TextSequenceData` and record the pipeline."""
    if how != "official":
        splits.metadata["split"] = how
    for part in ("train", "val", "test"):
        data = getattr(splits, part)
        rows = [t for t, s in zip(texts, split, strict=True) if s == part]
        setattr(splits, part, TextSequenceData(data.x, data.mask, data.y, texts=rows))
    settings = pipe.to_dict()
    splits.metadata["tokenizer"] = settings.pop("tokenizer_json")
    splits.metadata["text_pipeline"] = settings
    lengths = torch.cat([splits.train.lengths, splits.val.lengths, splits.test.lengths])
    # Texts that fill max_len were (or only just were not) truncated: the profile says so.
    splits.metadata["texts_at_max_len"] = int((lengths >= pipe.max_len).sum())
    return splits


def pipeline_from_metadata(metadata: dict[str, Any]) -> TextPipeline:
    """The :class:`TextPipeline` a text dataset was encoded with."""
    if "tokenizer" not in metadata:
        raise DataError("this dataset has no tokenizer: it is not a text dataset")
    return TextPipeline.from_dict(
        {**metadata["text_pipeline"], "tokenizer_json": metadata["tokenizer"]}
    )


# ---- dispatch -----------------------------------------------------------------------------


def is_text_source(path: Path, text: str | None = None) -> bool:
    """A folder, a JSON Lines file, ``text=`` given, or a table with a free-text column
    besides its target (a numeric table with a label column is not text)."""
    name = path.name.lower()
    if path.is_dir() or name.endswith((".jsonl", ".ndjson")):
        return True
    if text is not None:
        return True
    if not path.is_file() or not name.endswith(TEXT_TABLE_SUFFIXES):
        return False
    try:
        df, _ = read_text_table(path)
    except DataError:
        return False  # the series loaders report what is wrong with the file
    return bool(text_columns(df))


def load_text(
    source: str, name: str, params: dict[str, str], *, task: str | None = None,
    target: str | None = None, text: str | None = None, seed: int = 0,
    val_fraction: float = 0.15, test_fraction: float = 0.2, bundled: bool = False,
    normalize: bool = True, vocab_size: int | None = None, pretrained: str | None = None,
) -> DatasetSplits:
    """A text file, folder or bundled set (``bundled=True``: ``text:NAME``) as splits;
    ``vocab_size`` (``--vocab-size``) sizes the trained tokenizer, ``pretrained``
    (``--pretrained DIR``) uses a checkpoint's own tokenizer instead."""
    from seqselect.data import text_corpora

    pipe_params = {k: v for k, v in params.items() if k in PIPELINE_PARAMS}
    pipeline = pipeline_options(pipe_params, source)
    if vocab_size is not None:
        if vocab_size < 3:
            raise DataError(f"--vocab-size must be at least 3, got {vocab_size}")
        pipeline["vocab_size"] = int(vocab_size)
    fractions = {"val_fraction": val_fraction, "test_fraction": test_fraction,
                 "normalize": normalize, "pretrained": pretrained}
    if bundled:
        table, meta = text_corpora.load_corpus(
            name, {k: v for k, v in params.items() if k not in PIPELINE_PARAMS}, seed=seed
        )
        if pretrained is None:  # the corpus' tokenizer defaults; a checkpoint brings its own
            pipeline = {**text_corpora.PIPELINE_DEFAULTS.get(name.lower(), {}), **pipeline}
        return tokenize_table(table, source=source, task=task, seed=seed, pipeline=pipeline,
                              metadata=meta, **fractions)
    unknown = sorted(set(params) - set(PIPELINE_PARAMS))
    if unknown:
        raise DataError(
            f"{source}: unknown parameter(s) {', '.join(unknown)}; text files take "
            f"{', '.join(PIPELINE_PARAMS)}"
        )
    path = Path(name).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        if text is not None or target is not None:
            raise DataError(f"{path}: a folder of texts takes its classes from sub-folders; "
                            "text= and target= apply to tables")
        table = folder_texts(path)
    else:
        table = table_texts(path, text=text, target=target)
    return tokenize_table(table, source=source, task=task, seed=seed, pipeline=pipeline,
                          **fractions)
