"""Bundled text sets that load offline: ``text:fortunes`` and ``text:long_documents``.

* ``text:fortunes`` - real English text: the epigrams of Debian's ``fortunes`` package (one
  file per topic under ``/usr/share/games/fortunes``, entries separated by a line holding
  ``%``); topic classification over :data:`FORTUNE_TOPICS`, at most ``per_topic`` entries
  each (a seeded sample, so classes stay within 1:2 of each other).
* ``text:long_documents`` - synthetic documents of ``words`` pseudo-words. A marker word
  (``alpha`` or ``beta``) sits in the first 5% of the document and another in the last 5%;
  the label is ``same`` when they are equal, ``different`` otherwise. Decoy markers in the
  middle make every document hold exactly two ``alpha`` and two ``beta``, so the bag of
  words is identical across classes: a bag-of-words model is at chance, and a model must
  relate two positions thousands of tokens apart (the long-range dependency of the guide's
  long-document scenario; cf. the Long Range Arena's retrieval task, Tay et al. 2021).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from seqselect.data.text_table import TextTable
from seqselect.data.validate import Where, split_counts
from seqselect.errors import DataError

FORTUNES_DIR = Path("/usr/share/games/fortunes")
#: Topics with 200+ entries of ordinary prose (not ASCII art, not offensive sets).
FORTUNE_TOPICS = ("computers", "science", "politics", "literature", "education", "food")
MARKERS = ("alpha", "beta")
_SYLLABLES = ("ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "va", "de", "gu", "ze")
#: 432 filler words: few enough that a 1,000-piece vocabulary holds each whole, so a
#: word is one token and the markers' distance in tokens is their distance in words.
FILLER = tuple(a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in _SYLLABLES[:3])

CORPORA = {
    "fortunes": {"per_topic": 200},
    "long_documents": {"n": 400, "words": 3000},
}
#: Tokenizer settings of a set unless the source overrides them: 1,000 pieces keep each of
#: the 432 filler words whole (WordPiece spends ~100 entries on characters and "##" pieces).
PIPELINE_DEFAULTS = {"long_documents": {"vocab_size": 1000}}
DESCRIPTIONS = {
    "fortunes": "topic of an epigram from Debian's fortunes package "
    f"({', '.join(FORTUNE_TOPICS)})",
    "long_documents": "synthetic documents: do the markers in the first and last 5% agree? "
    "(a bag of words is at chance)",
}


def parse_fortunes(text: str) -> list[str]:
    """The entries of one fortune file: blocks between lines holding only ``%``."""
    entries, block = [], []
    for line in text.splitlines():
        if line.strip() == "%":
            entries.append("\n".join(block).strip())
            block = []
        else:
            block.append(line)
    entries.append("\n".join(block).strip())
    return [e for e in entries if e]


def fortunes_table(per_topic: int, seed: int, directory: Path = FORTUNES_DIR):
    """Texts and topics of ``text:fortunes`` (see the module docstring)."""
    if not directory.is_dir():
        raise DataError(
            f"text:fortunes reads Debian's fortunes package from {directory}, which is "
            "missing; install it with `apt-get install fortunes` (the package 'fortunes')"
        )
    rng = np.random.default_rng(seed)
    texts, labels, rows = [], [], []
    for topic in FORTUNE_TOPICS:
        file = directory / topic
        if not file.is_file():
            raise DataError(f"text:fortunes: {file} is missing; reinstall the fortunes package")
        # Some entries carry Latin-1 bytes or backspace overstriking; replace, not refuse:
        # this is our corpus, not the user's data.
        entries = [e for e in parse_fortunes(file.read_bytes().decode("utf-8", "replace"))
                   if "\b" not in e]
        keep = np.sort(rng.permutation(len(entries))[:per_topic])
        for i in keep.tolist():
            texts.append(entries[i])
            labels.append(topic)
            rows.append(f"{file} entry {i + 1}")
    return TextTable("text:fortunes", texts, labels, Where(str(directory), "bundled"), rows,
                     target_name="topic")


def long_document(words: int, first: str, last: str, rng: np.random.Generator) -> str:
    """One document: ``first`` in the first 5% of positions, ``last`` in the last 5%,
    two decoy markers in the middle so the document holds two of each marker."""
    tokens = [FILLER[i] for i in rng.integers(0, len(FILLER), size=words)]
    edge = max(1, words // 20)
    tokens[int(rng.integers(0, edge))] = first
    tokens[words - 1 - int(rng.integers(0, edge))] = last
    decoys = [m for m in MARKERS for _ in range(2)]
    decoys.remove(first)
    decoys.remove(last)
    middle = rng.choice(np.arange(edge, words - edge), size=2, replace=False)
    for pos, marker in zip(middle.tolist(), decoys, strict=True):
        tokens[pos] = marker
    return " ".join(tokens)


def long_document_label(first: str, last: str) -> str:
    return "same" if first == last else "different"


def long_documents_table(n: int, words: int, seed: int):
    """Texts and labels of ``text:long_documents`` (see the module docstring)."""
    if words < 40:
        raise DataError(f"text:long_documents: words must be at least 40, got {words}")
    if n < 8:
        raise DataError(f"text:long_documents: n must be at least 8, got {n}")
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        first, last = (str(m) for m in rng.choice(MARKERS, size=2))
        texts.append(long_document(words, first, last, rng))
        labels.append(long_document_label(first, last))
    rows = [f"document {i}" for i in range(n)]
    return TextTable("text:long_documents", texts, labels, Where("text:long_documents",
                     "bundled"), rows, target_name="label")


def load_corpus(name: str, params: dict[str, str], seed: int):
    """``(TextTable, metadata)`` of a bundled text set, with its parameters parsed."""
    key = name.lower()
    if key not in CORPORA:
        raise DataError(
            f"unknown text set text:{name}; choose one of "
            f"{', '.join('text:' + k for k in CORPORA)}"
        )
    defaults = CORPORA[key]
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise DataError(
            f"text:{key}: unknown parameter(s) {', '.join(unknown)}; it takes "
            f"{', '.join(defaults)} and tokenizer=, vocab_size=, max_len=, lowercase="
        )
    try:
        used = {k: int(params.get(k, v)) for k, v in defaults.items()}
    except ValueError:
        raise DataError(f"text:{key}: {', '.join(defaults)} must be integers") from None
    if key == "fortunes":
        table = fortunes_table(used["per_topic"], seed)
    else:
        table = long_documents_table(used["n"], used["words"], seed)
    return table, {"params": used, "description": DESCRIPTIONS[key]}


def describe_corpora() -> list[dict[str, Any]]:
    """Listing rows of the bundled text sets (length in words at the defaults)."""
    rows = []
    for key, defaults in CORPORA.items():
        classes = len(FORTUNE_TOPICS) if key == "fortunes" else 2
        n = classes * defaults["per_topic"] if key == "fortunes" else defaults["n"]
        n_val, n_test = split_counts(n, 0.15, 0.2)
        rows.append({
            "name": f"text:{key}",
            "kind": "text",
            "task": "classify",
            "length": defaults.get("words"),
            "channels": None,
            "classes": classes,
            "n_train": n - n_val - n_test,  # fortunes: "food" has 198 entries, not 200
            "n_test": n_test,
            "description": DESCRIPTIONS[key],
            "parameters": sorted([*defaults, "tokenizer", "vocab_size", "max_len", "seed"]),
            "available": key != "fortunes" or FORTUNES_DIR.is_dir(),
        })
    return rows
