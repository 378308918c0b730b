"""Text baselines: TF-IDF word and character n-grams + logistic regression (scikit-learn).

The guide's non-network row for text classification: a linear model on sparse n-gram
counts, strong on short texts with topical words and blind to word order beyond the
n-gram span (it sits at chance on ``text:long_documents``, whose bag of words is the
same in both classes).

Raw texts, not token ids: text datasets load each split as a
:class:`~seqselect.data.text.TextSequenceData`, whose ``texts`` holds every row's raw
text; ``fit`` and ``predict`` read it, so word n-grams are the user's words and character
n-grams see spelling (robust to typos and to words the tokenizer split). A split of token
ids without raw texts (``task:listops``, a user's NPZ of ids) is read as words, one per
id (``t<id>``), with word n-grams only: spelling is then meaningless.

The n-grams are counted by :mod:`seqselect.baselines.ngrams`, not by scikit-learn's
vectorizers, whose Python loop over every n-gram occurrence was most of the baseline's
time on long documents (``text:long_documents``, 260 documents of 21,000 characters: 3.7
of a 4.1 s fit, and again at every predict); the features and their values are the same.
"""

from __future__ import annotations

import numpy as np

from seqselect.baselines.arrays import class_targets
from seqselect.baselines.registry import BaselineCard, register_baseline
from seqselect.data.types import SequenceData
from seqselect.errors import SeqSelectError


def raw_texts(data: SequenceData) -> list[str] | None:
    """The raw text of each row of ``data`` (a text dataset's split); None without them."""
    texts = getattr(data, "texts", None)
    return list(texts) if texts is not None and len(texts) == len(data) else None


def id_words(data: SequenceData) -> list[str]:
    """Each row of token ids ``x (N, L)`` as a text of one word per real id (``t<id>``)."""
    if data.x.dim() != 2 or data.x.is_floating_point():
        raise SeqSelectError(
            "baseline tfidf_logreg reads texts or token ids; this data is numeric series "
            f"of shape {tuple(data.x.shape)}"
        )
    lengths = data.mask.sum(dim=1).tolist()
    rows = zip(data.x.tolist(), lengths, strict=True)
    return [" ".join(f"t{i}" for i in row[:n]) for row, n in rows]


class TfidfLogReg:
    """``FeatureUnion(word TF-IDF, char_wb TF-IDF) -> LogisticRegression`` on raw texts;
    ``word TF-IDF -> LogisticRegression`` on token ids (module docstring)."""

    def __init__(self, seed: int, word_ngrams: int = 2, char_ngrams: int = 5, c: float = 10.0,
                 max_features: int = 200_000) -> None:
        self.seed, self.word_ngrams, self.char_ngrams = seed, word_ngrams, char_ngrams
        self.c, self.max_features = c, max_features
        self.estimator = None
        self.reads_texts = True

    def _pipeline(self, with_chars: bool):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, make_pipeline

        from seqselect.baselines.ngrams import WordNgramTfidf, WordwiseCharTfidf

        # sublinear_tf: log counts, the usual choice for documents of unequal length.
        parts = [("word", WordNgramTfidf(ngram_range=(1, self.word_ngrams), sublinear_tf=True,
                                         max_features=self.max_features))]
        if with_chars:
            parts.append(("char", WordwiseCharTfidf(
                ngram_range=(2, self.char_ngrams), sublinear_tf=True,
                max_features=self.max_features)))
        return make_pipeline(
            FeatureUnion(parts), LogisticRegression(C=self.c, max_iter=2000,
                                                    random_state=self.seed)
        )

    def _texts(self, data: SequenceData) -> list[str]:
        texts = raw_texts(data) if self.reads_texts else None
        return texts if texts is not None else id_words(data)

    def fit(self, train: SequenceData) -> TfidfLogReg:
        labels = class_targets(train)
        if len(np.unique(labels)) < 2:
            raise SeqSelectError("tfidf_logreg: the training split has a single class")
        self.reads_texts = raw_texts(train) is not None
        self.estimator = self._pipeline(with_chars=self.reads_texts)
        self.estimator.fit(self._texts(train), labels)
        return self

    def predict(self, data: SequenceData) -> np.ndarray:
        if self.estimator is None:
            raise SeqSelectError("tfidf_logreg: predict before fit")
        if len(data) == 0:
            return np.zeros(0, dtype=np.int64)
        return np.asarray(self.estimator.predict(self._texts(data)), np.int64)


@register_baseline(
    BaselineCard(
        name="tfidf_logreg",
        task="classify",
        summary="TF-IDF word (1-2) + character (2-5) n-grams + logistic regression",
        reference="the linear text baseline; Wang & Manning, ACL 2012 (bigram baselines)",
        inputs=("tokens",),
        multivariate=False,
        variable_length="reads the raw texts, or the token ids as words (any length)",
        options=("word_ngrams", "char_ngrams", "c", "max_features"),
        requires=("scikit-learn",),
    )
)
def _tfidf_logreg(seed: int, **options) -> TfidfLogReg:
    return TfidfLogReg(seed, **options)
