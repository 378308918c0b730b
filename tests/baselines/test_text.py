"""TF-IDF + logistic regression: solves a separable text task, is at chance on the
long-document task whose bag of words carries no signal, and needs raw texts."""

from __future__ import annotations

import pytest

import seqselect.baselines.text  # registers tfidf_logreg
from seqselect.baselines import baseline_card, list_baselines, run_baseline
from seqselect.data import load_dataset
from seqselect.data.text import TextSequenceData
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


def test_token_ids_without_raw_texts_are_refused(tmp_path):
    splits = load_dataset(str(_toy_csv(tmp_path)))
    plain = TextSequenceData(splits.train.x, splits.train.mask, splits.train.y, texts=[])
    splits.train = plain
    run = run_baseline("tfidf_logreg", splits, seed=0, repeats=1)
    assert run.status == "failed" and "needs the raw texts" in run.error
    with pytest.raises(SeqSelectError, match="needs the raw texts"):
        seqselect.baselines.text.TfidfLogReg(0).fit(plain)
