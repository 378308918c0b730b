"""What keeps a baseline's cost down: n-grams counted without scikit-learn's Python loop
(the vectorizer's own matrix), latency repeats bounded in time, a shared validation/test
split predicted once, and the floor cards the bake-off always fits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.feature_extraction.text import TfidfVectorizer

from seqselect.baselines import baseline_card, list_baselines, run
from seqselect.baselines.ngrams import WordNgramTfidf, WordwiseCharTfidf
from seqselect.data.types import DatasetSplits, SequenceData

TEXTS = [
    "Hello  World\tfoo", "A b  ÉTÉ naïve x", "", "the cat sat on the mat; the cat!",
    "a\nbb ccc dddd eeeee ffffff", "İstanbul STRASSE straße",
]
UNSEEN = ["unseen wörds here", "", "cat mat", "zzz qqq", "the the the"]


@pytest.mark.parametrize("max_features", [None, 40, 7])
@pytest.mark.parametrize("ngram_range", [(2, 5), (1, 3)])
def test_wordwise_char_ngrams_equal_the_vectorizers(max_features, ngram_range):
    reference = TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range,
                                sublinear_tf=True, max_features=max_features)
    ours = WordwiseCharTfidf(ngram_range, sublinear_tf=True, max_features=max_features)
    expected, got = reference.fit_transform(TEXTS), ours.fit_transform(TEXTS)
    assert ours.vocabulary_ == reference.vocabulary_  # the same cut on ties, too
    np.testing.assert_allclose(got.toarray(), expected.toarray(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours.transform(UNSEEN).toarray(),
                               reference.transform(UNSEEN).toarray(), rtol=1e-12, atol=1e-15)


WORDS = [
    "The cat sat on the mat; the cat sat.", "", "a I x", "Dogs, dogs & DOGS: dog-days",
    "naïve café über straße İstanbul 2024 x2 _under_score", "the mat the mat the mat",
    "one two three four five six",
]
WORDS_UNSEEN = ["the cat ran", "zebra quagga", "", "dog days dogs", "six five four three"]


def _same_as_the_vectorizer(ours, reference, texts, unseen):
    expected, got = reference.fit_transform(texts), ours.fit_transform(texts)
    assert ours.vocabulary_ == reference.vocabulary_
    np.testing.assert_allclose(got.toarray(), expected.toarray(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours.transform(unseen).toarray(),
                               reference.transform(unseen).toarray(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("max_features", [None, 25, 4])
@pytest.mark.parametrize("ngram_range", [(1, 2), (1, 1), (2, 3), (1, 4)])
def test_word_ngrams_counted_as_integers_equal_the_vectorizers(max_features, ngram_range):
    _same_as_the_vectorizer(
        WordNgramTfidf(ngram_range, sublinear_tf=True, max_features=max_features),
        TfidfVectorizer(ngram_range=ngram_range, sublinear_tf=True, max_features=max_features),
        WORDS, WORDS_UNSEEN,
    )


def test_word_ngrams_past_the_integer_range_use_the_vectorizers_counts():
    ours = WordNgramTfidf((1, 14))  # 22 distinct tokens: 23 ** 14 > 2 ** 62
    _same_as_the_vectorizer(ours, TfidfVectorizer(ngram_range=(1, 14), sublinear_tf=True),
                            WORDS, WORDS_UNSEEN)
    assert ours.counter_ is not None


def test_wordwise_char_ngrams_refuse_texts_without_words():
    for vectorizer in (WordwiseCharTfidf(), WordNgramTfidf()):
        with pytest.raises(ValueError, match="empty vocabulary"):
            vectorizer.fit_transform(["", "  \n"])


class _Counting:
    """Predicts class 0, taking ``seconds`` a call on a fake clock (``now``, which the
    module under test reads through ``perf_counter``); counts the sequences predicted."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.calls, self.now = seconds, [], 0.0

    def perf_counter(self) -> float:
        return self.now

    def fit(self, train):
        return self

    def predict(self, data):
        self.calls.append(len(data))
        self.now += self.seconds
        return np.zeros(len(data), dtype=np.int64)


def _part(n: int) -> SequenceData:
    return SequenceData(torch.randn(n, 8, 1), torch.ones(n, 8, dtype=torch.bool),
                        torch.arange(n) % 2)


def test_latency_is_one_sequence_alone_with_repeats_stopped_at_the_time_limit(monkeypatch):
    model = _Counting(0.1)  # 0.1 s per predict call, whatever its size
    monkeypatch.setattr(run, "LATENCY_SECONDS", 0.25)
    monkeypatch.setattr(run, "time", model)  # the fake clock: no real time is read
    _, latency_ms, _ = run._timed_predict(model, _part(10), repeats=10)
    # the whole split once (predictions, memory), then one sequence: a warm-up (0.1 s) and
    # timed repeats until 0.25 s: two of them
    assert model.calls == [10, 1, 1, 1]
    assert latency_ms == pytest.approx(100.0)  # one call's time, not divided by 10
    model = _Counting(0.0)
    run._timed_predict(model, _part(10), repeats=0)
    assert model.calls == [10, 1]  # no repeats: the warm-up's time


def test_a_validation_split_that_is_the_test_split_is_predicted_once(monkeypatch):
    model = _Counting(0.0)
    monkeypatch.setattr(run, "create_baseline", lambda name, seed, **options: model)
    fold = _part(6)
    splits = DatasetSplits(name="toy", task="classify", model_task="classify",
                           train=_part(12), val=fold, test=fold, d_output=2, d_input=1,
                           class_names=["a", "b"])
    fitted = run.run_baseline("minirocket", splits, seed=0, repeats=0)
    assert fitted.ok and model.calls == [6, 1]  # the split once; one sequence for latency
    assert fitted.val_metrics == fitted.test_metrics


def test_the_floor_cards_are_the_free_baselines():
    floors = {name for name in list_baselines() if baseline_card(name).floor}
    assert floors == {"majority", "mean", "seasonal_naive"}
