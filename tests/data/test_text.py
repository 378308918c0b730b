"""Text datasets: tables with a text column, folders of .txt files, text:fortunes and
text:long_documents - validation messages, splits, the tokenizer trained on training only."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch

from seqselect.data import list_datasets, load_dataset
from seqselect.data.text import TextSequenceData, pipeline_from_metadata
from seqselect.data.text_corpora import (
    FORTUNE_TOPICS,
    MARKERS,
    fortunes_table,
    long_document,
    long_document_label,
    parse_fortunes,
)
from seqselect.errors import DataError

GOOD = [f"the {w} was really quite {adj}" for w in ("film", "movie", "show", "play", "book")
        for adj in ("great", "awful")]
LABELS = ["pos", "neg"] * 5


def write_csv(path, texts, labels, **extra):
    pd.DataFrame({"review": texts, "label": labels, **extra}).to_csv(path, index=False)
    return path


def test_csv_text_column_is_inferred_and_loads_as_tokens(tmp_path):
    path = write_csv(tmp_path / "r.csv", GOOD * 2, LABELS * 2, stars=[1, 5] * 10)
    splits = load_dataset(str(path))
    assert splits.train.x.dtype == torch.long and splits.train.x.dim() == 2
    assert splits.vocab_size == splits.model_kwargs()["vocab_size"] > 2
    assert splits.model_kwargs()["d_input"] is None
    assert splits.class_names == ["neg", "pos"]
    assert isinstance(splits.test, TextSequenceData)
    # the raw texts stay aligned with the rows: re-encoding them gives the same ids
    pipe = pipeline_from_metadata(splits.metadata)
    ids, mask = pipe.encode(splits.test.texts)
    width = splits.test.x.shape[1]
    assert torch.equal(ids[:, :width], splits.test.x) and torch.equal(mask, splits.test.mask)
    json.loads(splits.metadata["tokenizer"])  # a tokenizer.json


def test_tokenizer_is_trained_on_the_training_split_only(tmp_path):
    texts = GOOD * 2 + ["zebracorn appears here", "zebracorn again here"]
    split = ["train"] * 20 + ["test", "test"]
    path = write_csv(tmp_path / "r.csv", texts, LABELS * 2 + ["pos", "neg"], split=split)
    splits = load_dataset(str(path))
    tok = pipeline_from_metadata(splits.metadata).tokenizer()
    assert tok.token_to_id("zebracorn") is None
    assert tok.token_to_id("film") is not None
    assert splits.metadata["split"] == "official" and len(splits.test) == 2
    assert len(splits.val) > 0  # carved from training, texts still aligned
    assert len(splits.val.texts) == len(splits.val)


@pytest.mark.parametrize("suffix", [".tsv", ".parquet", ".jsonl"])
def test_tsv_parquet_and_json_lines_load_the_same_texts(tmp_path, suffix):
    df = pd.DataFrame({"text": GOOD * 2, "label": LABELS * 2})
    path = tmp_path / f"r{suffix}"
    if suffix == ".tsv":
        df.to_csv(path, sep="\t", index=False)
    elif suffix == ".parquet":
        df.to_parquet(path)
    else:
        df.to_json(path, orient="records", lines=True)
    splits = load_dataset(str(path))
    assert sorted(splits.train.texts + splits.val.texts + splits.test.texts) == sorted(GOOD * 2)


def test_a_folder_of_txt_files_per_class(tmp_path):
    for label, adj in (("pos", "great"), ("neg", "awful")):
        (tmp_path / label).mkdir()
        for i in range(5):
            (tmp_path / label / f"{i}.txt").write_text(f"it was {adj} number {i}")
    splits = load_dataset(str(tmp_path))
    assert splits.class_names == ["neg", "pos"]
    assert len(splits.train) + len(splits.val) + len(splits.test) == 10


def test_text_option_names_the_column_and_numeric_text_column_is_refused(tmp_path):
    path = write_csv(tmp_path / "r.csv", GOOD * 2, LABELS * 2, notes=GOOD[::-1] * 2)
    with pytest.raises(DataError, match="2 columns hold free text"):
        load_dataset(str(path))
    assert len(load_dataset(str(path), text="notes").train) > 0
    with pytest.raises(DataError, match=r"column 'score' holds numbers, not text"):
        write_csv(tmp_path / "n.csv", GOOD * 2, LABELS * 2, score=list(range(20)))
        load_dataset(str(tmp_path / "n.csv"), text="score")


def test_empty_texts_are_counted_with_the_first_row(tmp_path):
    texts = list(GOOD * 2)
    texts[3], texts[7] = "", "   \t "
    path = write_csv(tmp_path / "r.csv", texts, LABELS * 2)
    message = r"2 empty or whitespace-only text\(s\), the first at row 5"
    with pytest.raises(DataError, match=message):
        load_dataset(str(path), text="review")


def test_bytes_that_are_not_utf8_name_the_row_and_offset(tmp_path):
    path = write_csv(tmp_path / "r.csv", GOOD * 2, LABELS * 2)
    data = path.read_bytes().split(b"\n")
    data[2] = data[2].replace(b"film", b"f\xe9lm", 1) if b"film" in data[2] else b"\xff" + data[2]
    raw = b"\n".join(data)
    path.write_bytes(raw)
    offset = raw.index(b"\xe9") if b"\xe9" in raw else raw.index(b"\xff")
    with pytest.raises(DataError, match=rf"line 3, byte offset {offset}: byte 0x(e9|ff) is not"):
        load_dataset(str(path), text="review")


def test_bytes_that_are_not_utf8_in_a_txt_file_name_the_file(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_bytes(b"caf\xe9 ok")
    with pytest.raises(DataError, match=re.escape("x.txt: byte offset 3: byte 0xe9 is not UTF-8")):
        load_dataset(str(tmp_path))


def test_a_class_seen_once_is_refused_with_its_row(tmp_path):
    labels = LABELS * 2
    labels[6] = "meh"
    path = write_csv(tmp_path / "r.csv", GOOD * 2, labels)
    with pytest.raises(DataError, match=r"class 'meh' has a single text \(row 8\)"):
        load_dataset(str(path))


def test_numeric_tables_still_load_as_series(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(20, 5)), columns=[f"t{i}" for i in range(5)])
    df["label"] = ["a", "b"] * 10
    df.to_csv(tmp_path / "s.csv", index=False)
    splits = load_dataset(str(tmp_path / "s.csv"), target="label")
    assert splits.train.x.dim() == 3 and "tokenizer" not in splits.metadata


def test_parse_fortunes_splits_on_percent_lines():
    text = "First one.\n%\nSecond,\n  two lines.\n%\n%\nThird.\n"
    assert parse_fortunes(text) == ["First one.", "Second,\n  two lines.", "Third."]


def test_fortunes_loads_the_expected_topics_deterministically():
    splits = load_dataset("text:fortunes")
    assert splits.class_names == sorted(FORTUNE_TOPICS)
    counts = np.bincount(torch.cat([splits.train.y, splits.val.y, splits.test.y]).numpy())
    assert counts.min() >= 190 and counts.max() <= 200
    again = load_dataset("text:fortunes")
    assert again.test.texts == splits.test.texts
    assert load_dataset("text:fortunes", seed=1).test.texts != splits.test.texts
    assert not set(splits.train.texts) & set(splits.test.texts)


def test_fortunes_says_which_package_to_install_when_missing(tmp_path):
    with pytest.raises(DataError, match=r"apt-get install fortunes"):
        fortunes_table(10, 0, directory=tmp_path / "absent")


def test_long_document_label_needs_both_markers():
    rng = np.random.default_rng(0)
    seen = set()
    for first in MARKERS:
        for last in MARKERS:
            words = long_document(400, first, last, rng).split()
            # the bag of words is the same for every label: two of each marker
            assert sorted(w for w in words if w in MARKERS) == ["alpha"] * 2 + ["beta"] * 2
            assert words.index(first) < 20 and len(words) - 1 - words[::-1].index(last) >= 380
            seen.add((first, last, long_document_label(first, last)))
    # changing either marker alone flips the label
    assert seen == {("alpha", "alpha", "same"), ("beta", "beta", "same"),
                    ("alpha", "beta", "different"), ("beta", "alpha", "different")}


def test_long_documents_load_with_thousands_of_tokens_between_markers():
    splits = load_dataset("text:long_documents?n=40&words=2500")
    assert splits.class_names == ["different", "same"]
    assert splits.train.x.shape[1] == 2500  # one token per word at the default vocabulary
    tok = pipeline_from_metadata(splits.metadata).tokenizer()
    alpha, beta = tok.token_to_id("alpha"), tok.token_to_id("beta")
    for row, mask in zip(splits.train.x, splits.train.mask, strict=True):
        where = torch.nonzero((row == alpha) | (row == beta)).flatten()
        assert len(where) == 4 and int(where[-1] - where[0]) > 2000
        assert mask.all()


def test_bad_text_parameters_raise():
    with pytest.raises(DataError, match="unknown text set"):
        load_dataset("text:nope")
    with pytest.raises(DataError, match="unknown parameter"):
        load_dataset("text:fortunes?horizon=3")
    with pytest.raises(DataError, match="tokenizer= must be one of"):
        load_dataset("text:fortunes?tokenizer=spm")


def test_bundled_text_sets_are_listed():
    rows = {r["name"]: r for r in list_datasets()}
    assert rows["text:fortunes"]["classes"] == len(FORTUNE_TOPICS)
    assert rows["text:long_documents"]["kind"] == "text"


def test_regression_targets_on_texts(tmp_path):
    scores = [float(i) + 0.5 for i in range(20)]
    path = write_csv(tmp_path / "r.csv", GOOD * 2, scores)
    splits = load_dataset(str(path), normalize=False)
    assert splits.task == "regress" and splits.train.y.shape[1] == 1
    got = sorted(torch.cat([splits.train.y, splits.val.y, splits.test.y])[:, 0].tolist())
    assert got == scores


def test_text_table_round_trips():
    from seqselect.data.text_table import TextTable

    table = fortunes_table(3, 0)
    assert TextTable.from_dict(table.to_dict()) == table
    assert len(table.texts) == 3 * len(FORTUNE_TOPICS)
