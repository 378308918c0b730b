"""Data: synthetic tasks, aeon's bundled real datasets, user files - validated, split, padded.

Source syntax (one string names any dataset)::

    task:NAME[?param=value&...]        synthetic task, e.g. task:adding?length=600&n=5000
    ucr:NAME  (or uea:NAME)            UCR/UEA classification problem shipped with aeon
    tser:NAME                          time-series extrinsic regression shipped with aeon
    forecast:NAME[?horizon=H&window=W&offset=last|none]   aeon's forecasting series, windowed
    path/to/file.csv|.tsv|.parquet|.npz[?horizon=H&window=W]   a user file (forecast: one series,
        or many in long form with id_col, windowed series by series: data/panel.py)
    audio:spoken-digits|tones[?sample_rate=16000&clip_seconds=1&n=30], or an audio folder
    (one sub-folder per class) or a table of audio file paths: see ``data/audio.py``
    text:fortunes | text:long_documents, or a table with a text column, .jsonl, a folder of
    .txt files per class [?tokenizer=wordpiece&vocab_size=N&max_len=N]   (data/text.py)

Names are case-insensitive. ``seqselect datasets`` lists every bundled name.

    >>> from seqselect.data import load_dataset
    >>> splits = load_dataset("ucr:GunPoint")
    >>> splits.train.x.shape, splits.model_task, splits.d_output
    (torch.Size([42, 150, 1]), 'classify', 2)
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from seqselect.data.profile import DataProfile, profile_dataset
from seqselect.data.types import IGNORE_INDEX, DatasetSplits, SequenceData
from seqselect.errors import DataError
from seqselect.vocabulary import DATA_TASKS

log = logging.getLogger(__name__)

__all__ = [
    "IGNORE_INDEX",
    "DataProfile",
    "DatasetSplits",
    "SequenceData",
    "list_datasets",
    "load_dataset",
    "parse_source",
    "profile_dataset",
]

_SCHEME = re.compile(r"^(task|ucr|uea|tser|forecast|audio|text):(.*)$", re.IGNORECASE)
#: Parameters a user file in series form takes after ``?``.
_SERIES_PARAMS = ("horizon", "window", "offset", "season")


def parse_source(source: str) -> tuple[str, str, dict[str, str]]:
    """Split a source into ``(scheme, name, params)``; scheme ``file`` for paths.

    A path that exists is taken whole, even if it contains ``?``.
    """
    source = str(source).strip()
    if not source:
        raise DataError("empty dataset name; give a file path or a name like ucr:GunPoint")
    match = _SCHEME.match(source)
    if match is None:
        if Path(source).exists() or "?" not in source:
            return "file", source, {}
        path, _, query = source.partition("?")
        return "file", path, _parse_query(query, source)
    scheme = match.group(1).lower()
    rest = match.group(2)
    name, _, query = rest.partition("?")
    if not name:
        raise DataError(f"{source!r}: missing the name after {scheme}:")
    return ("ucr" if scheme == "uea" else scheme), name.strip(), _parse_query(query, source)


def _parse_query(query: str, source: str) -> dict[str, str]:
    if not query:
        return {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise DataError(
            f"{source!r}: cannot parse the parameters {query!r}; write key=value&key=value"
        ) from None
    return {k.strip().lower(): v.strip() for k, v in pairs}


def _require_known_task(task: str | None) -> None:
    if task is not None and task not in DATA_TASKS:
        raise DataError(f"unknown task {task!r}; choose one of {', '.join(DATA_TASKS)}")


def _require_task_matches(task: str | None, actual: str, source: str) -> None:
    _require_known_task(task)
    if task is not None and task != actual:
        raise DataError(f"{source} is a {actual} dataset; it cannot be used with task={task!r}")


def load_dataset(
    source: str,
    *,
    task: str | None = None,
    target: str | None = None,
    id_col: str | None = None,
    time_col: str | None = None,
    impute: str | None = None,
    val_fraction: float = 0.15,
    test_fraction: float = 0.2,
    seed: int = 0, normalize: bool = True,
    text: str | None = None, vocab_size: int | None = None, pretrained: str | None = None,
) -> DatasetSplits:
    """Load, validate and split any dataset (see the module docstring for ``source``).

    Args:
        source: a bundled name (``ucr:GunPoint``, ``task:adding?length=200``,
            ``forecast:Airline?horizon=12``) or a file path.
        task: ``classify``, ``regress`` or ``forecast``; inferred when None (files: text
            labels or <= 20 distinct integers -> classify, other numbers -> regress).
        target: the target column of a CSV/Parquet file (for ``forecast:`` series with
            several columns, the one to forecast).
        id_col, time_col: the long form's sequence-id and time columns.
        impute: ``zero``, ``ffill`` or ``mean`` to fill missing values inside
            sequences; None refuses them (targets are never imputed).
        val_fraction, test_fraction: split sizes when the source has no official split
            (official splits are kept; validation is carved from their training part).
        seed: seeds the split and the synthetic generators (recorded in ``metadata``).
        normalize: standardise real-valued inputs per channel, and regression targets,
            with training-split statistics (not applied to synthetic tasks).
        text: the text column of a table (inferred when one column holds free text).
        vocab_size, pretrained: text only: the trained tokenizer's size, or a local Hugging
            Face checkpoint folder whose own tokenizer encodes the texts.

    Raises:
        DataError: anything wrong with the data, naming file, row and column.
    """
    from seqselect.data import audio, bundled, splits
    from seqselect.data import text as text_data

    scheme, name, params = parse_source(source)
    if scheme != "file" and (id_col is not None or time_col is not None):
        raise DataError(f"{source}: --id/--time apply to user files only")
    fractions = {"val_fraction": val_fraction, "test_fraction": test_fraction}
    if scheme == "audio" or (scheme == "file" and audio.is_audio_source(Path(name).expanduser())):
        return audio.load_audio(scheme, name, params, source=source, task=task, target=target,
                                seed=seed, normalize=normalize, **fractions)
    # after audio: a folder is text unless its class sub-folders hold audio files
    if scheme == "text" or (scheme == "file" and text_data.is_text_source(Path(name), text)):
        return text_data.load_text(
            source, name, params, task=task, target=target, text=text, seed=seed,
            val_fraction=val_fraction, test_fraction=test_fraction, bundled=scheme == "text",
            normalize=normalize, vocab_size=vocab_size, pretrained=pretrained)
    if vocab_size is not None or pretrained is not None:
        raise DataError(f"{source}: --vocab-size and --pretrained apply to text data")
    if scheme == "task":
        if target is not None:
            raise DataError(f"{source}: --target applies to files and forecast: series, not tasks")
        return _load_task(source, name, params, task=task, seed=seed, **fractions)
    if scheme in ("ucr", "tser"):
        if params:
            raise DataError(
                f"{source}: {scheme}: datasets take no parameters ({', '.join(params)})"
            )
        if target is not None:
            raise DataError(f"{source}: --target applies to files and forecast: series")
        kind = "classification" if scheme == "ucr" else "regression"
        raw = bundled.load_archive(name, kind, scheme)
        _require_task_matches(task, raw.task, source)
        return splits.finalize(raw, seed=seed, normalize=normalize, **fractions)
    if scheme == "forecast":
        _require_task_matches(task, "forecast", source)
        return bundled.load_forecast(
            name, dict(params), target=target, normalize=normalize, **fractions
        )
    return _load_user_file(
        source, name, params, task=task, target=target, id_col=id_col, time_col=time_col,
        impute=impute, seed=seed, normalize=normalize, **fractions,
    )


def _load_task(
    source: str, name: str, params: dict[str, str], *, task: str | None, seed: int,
    val_fraction: float, test_fraction: float,
) -> DatasetSplits:
    """A synthetic task, generated and split (never normalised: its scale is the task's)."""
    from seqselect.data import splits, tasks

    spec, used, result = tasks.generate_task(name, params, seed=seed)
    _require_task_matches(task, result["task"], source)
    query = "&".join(f"{k}={v}" for k, v in used.items() if v is not None and k != "seed")
    canonical = f"task:{spec.name}?{query}" if query else f"task:{spec.name}"
    return splits.split_tensors(
        result,
        name=f"task:{spec.name}",
        source=canonical,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=seed,
        metadata={
            "params": used,
            "reference": spec.reference,
            "data_type": spec.data_type,
            "description": spec.summary,
        },
    )


def _load_user_file(
    source: str, name: str, params: dict[str, str], *, task: str | None, target: str | None,
    id_col: str | None, time_col: str | None, impute: str | None, seed: int, normalize: bool,
    val_fraction: float, test_fraction: float,
) -> DatasetSplits:
    """A CSV/TSV/Parquet/NPZ file: rows to sequences, or a series cut into windows."""
    from seqselect.data import files, panel, splits, windows

    path = Path(name).expanduser()
    _require_known_task(task)
    if not path.exists() and ":" in name and not name.startswith(("/", ".", "~")):
        raise DataError(
            f"{source!r} is neither a file nor a known dataset; names look like ucr:GunPoint, "
            "task:adding, forecast:Airline (see `seqselect datasets`)"
        )
    if params and task != "forecast":
        raise DataError(
            f"{source}: parameters after '?' apply to forecasting (horizon=, window=, season=)"
        )
    form, loaded = files.load_file(
        path, task=task, target=target, id_col=id_col, time_col=time_col, impute=impute
    )
    fractions = {"val_fraction": val_fraction, "test_fraction": test_fraction}
    if form == "raw":
        return splits.finalize(loaded, seed=seed, normalize=normalize, **fractions)
    values, columns, targets, meta = loaded
    unknown = set(params) - set(_SERIES_PARAMS)
    if unknown:
        raise DataError(
            f"{source}: unknown parameter(s) {', '.join(sorted(unknown))}; "
            "use horizon=, window=, offset= and season="
        )
    try:
        horizon = int(params.get("horizon", 1))
        window = int(params.get("window", max(24, 3 * horizon)))
        season = int(params["season"]) if "season" in params else None
    except ValueError:
        raise DataError(f"{source}: horizon, window and season must be integers") from None
    cut = windows.make_windows if form == "series" else panel.make_panel_windows
    return cut(
        values, name=str(path), source=f"{path}?horizon={horizon}&window={window}",
        columns=columns, target_columns=targets, window=window, horizon=horizon,
        normalize=normalize, offset=params.get("offset", "last"), season_length=season,
        metadata={**meta, "data_type": "time-series"}, **fractions,
    )


def list_datasets() -> list[dict[str, Any]]:
    """Every bundled dataset and synthetic task: name, kind, length, channels, classes,
    n_train, n_test (plus a few descriptive fields). Sizes of tasks are their defaults."""
    from seqselect.data import audio, bundled, tasks, text_corpora

    rows: list[dict[str, Any]] = [tasks.describe_task(spec) for spec in tasks.TASKS.values()]
    rows.extend(audio.describe_audio_sets())
    for name, problem in bundled.archive_problems().items():
        try:
            rows.append(bundled.describe_archive(name))
        except (OSError, ValueError, IndexError) as exc:
            # A damaged file in the aeon install: leave it out of the list, with a warning.
            # aeon's reader raises OSError/ValueError (IOError for bad headers) and
            # IndexError for a truncated data line.
            log.warning("cannot read %s: %s", problem.train, exc)
    rows.extend(bundled.describe_forecast(spec)
                for spec in bundled.available_forecast_series().values())
    rows.extend(text_corpora.describe_corpora())
    return rows
