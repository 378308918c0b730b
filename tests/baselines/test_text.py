"""TF-IDF + logistic regression: solves a separable text task, is at chance on the
long-document task whose bag of words carries no signal, and reads token ids as words
when there are no raw texts."""

from __future__ import annotations

import pytest
import torch

import seqselect.baselines.text  # registers tfidf_logreg
from seqselect.baselines import baseline_card, list_baselines, run_baseline
from seqselect.data import load_dataset
from seqselect.data.types import SequenceData
from seqselect.errors import SeqSelectError


def _toy_csv(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    filler = ["the", "a", "it", "was", "and", "very", "so", "then", "we", "they"]
    cues = {"sport": ["goal", "match", "team"], "food": ["soup", "bread", "cheese"]}
    rows = []
    for i in range(120):
        label = "sport" if i % 2 else "food"
        words = [*rng.choice(filler, size=8).tolist(), str(rng.choice(cues[label]))]
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": label})
    path = tmp_path / "toy.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_registered_for_classification_on_text():
    assert "tfidf_logreg" in list_baselines("classify")
    assert "tokens" in baseline_card("tfidf_logreg").inputs


def test_solves_a_separable_toy_set(tmp_path):
    splits = load_dataset(str(_toy_csv(tmp_path)))
    run = run_baseline("tfidf_logreg", splits, seed=0, repeats=1)
    assert run.ok, run.error
    assert run.val_metrics["accuracy"] == 1.0 and run.test_metrics["accuracy"] == 1.0
    assert len(run.test_predictions) == len(splits.test)


def test_is_near_chance_on_long_documents():
    splits = load_dataset("text:long_documents?n=240&words=300")
    run = run_baseline("tfidf_logreg", splits, seed=0, repeats=1)
    assert run.ok, run.error
    # 48 test documents: chance is 0.5; 0.75 is beyond any seed of a bag-of-words model
    assert run.test_metrics["accuracy"] < 0.75


def _without_texts(data):
    return SequenceData(data.x, data.mask, data.y)


def test_token_ids_without_raw_texts_are_read_as_id_words(tmp_path):
    """No raw texts (a task of ids, a user's NPZ): each id is a word; the cue words' ids
    still separate the toy set, on word n-grams alone."""
    splits = load_dataset(str(_toy_csv(tmp_path)))
    for part in ("train", "val", "test"):
        setattr(splits, part, _without_texts(getattr(splits, part)))
    model = seqselect.baselines.text.TfidfLogReg(0).fit(splits.train)
    assert not model.reads_texts
    assert [name for name, _ in model.estimator.steps[0][1].transformer_list] == ["word"]
    run = run_baseline("tfidf_logreg", splits, seed=0, repeats=1)
    assert run.ok, run.error
    # chance is 0.5; the tokenizer's sub-word pieces of a cue word blur a few rows
    assert run.test_metrics["accuracy"] >= 0.9


def test_id_words_are_the_real_ids_only():
    x = torch.tensor([[3, 4, 0, 0], [7, 7, 7, 9]])
    mask = torch.tensor([[True, True, False, False], [True] * 4])
    data = SequenceData(x, mask, torch.tensor([0, 1]))
    assert seqselect.baselines.text.id_words(data) == ["t3 t4", "t7 t7 t7 t9"]


def test_numeric_series_are_refused():
    data = SequenceData(torch.zeros(2, 5, 1), torch.ones(2, 5, dtype=torch.bool),
                        torch.tensor([0, 1]))
    with pytest.raises(SeqSelectError, match="texts or token ids"):
        seqselect.baselines.text.TfidfLogReg(0).fit(data)
