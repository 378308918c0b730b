"""Text baselines: TF-IDF word and character n-grams + logistic regression (scikit-learn).

The guide's non-network row for text classification: a linear model on sparse n-gram
counts, strong on short texts with topical words and blind to word order beyond the
n-gram span (it sits at chance on ``text:long_documents``, whose bag of words is the
same in both classes).

Raw texts, not token ids: text datasets load each split as a
:class:`~seqselect.data.text.TextSequenceData`, whose ``texts`` holds every row's raw
text; ``fit`` and ``predict`` read it, so word n-grams are the user's words and character
n-grams see spelling (robust to typos and to words the tokenizer split). A split of token
ids without raw texts raises :class:`SeqSelectError`.

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


def raw_texts(data: SequenceData, name: str) -> list[str]:
    """The raw text of each row of ``data`` (a text dataset's split)."""
    texts = getattr(data, "texts", None)
    if texts is None or len(texts) != len(data):
        raise SeqSelectError(
            f"baseline {name} needs the raw texts: load the data with seqselect.load_dataset "
            "from a text file, folder or text: set (token ids alone are not enough)"
        )
    return list(texts)


class TfidfLogReg:
    """``FeatureUnion(word TF-IDF, char_wb TF-IDF) -> LogisticRegression``."""

    def __init__(self, seed: int, word_ngrams: int = 2, char_ngrams: int = 5, c: float = 10.0,
                 max_features: int = 200_000) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, make_pipeline

        from seqselect.baselines.ngrams import WordNgramTfidf, WordwiseCharTfidf

        features = FeatureUnion([
            # sublinear_tf: log counts, the usual choice for documents of unequal length.
            ("word", WordNgramTfidf(ngram_range=(1, word_ngrams), sublinear_tf=True,
                                    max_features=max_features)),
            ("char", WordwiseCharTfidf(ngram_range=(2, char_ngrams), sublinear_tf=True,
                                       max_features=max_features)),
        ])
        self.estimator = make_pipeline(
            features, LogisticRegression(C=c, max_iter=2000, random_state=seed)
        )
        self.fitted = False

    def fit(self, train: SequenceData) -> TfidfLogReg:
        labels = class_targets(train)
        if len(np.unique(labels)) < 2:
            raise SeqSelectError("tfidf_logreg: the training split has a single class")
        self.estimator.fit(raw_texts(train, "tfidf_logreg"), labels)
        self.fitted = True
        return self

    def predict(self, data: SequenceData) -> np.ndarray:
        if not self.fitted:
            raise SeqSelectError("tfidf_logreg: predict before fit")
        if len(data) == 0:
            return np.zeros(0, dtype=np.int64)
        return np.asarray(self.estimator.predict(raw_texts(data, "tfidf_logreg")), np.int64)


@register_baseline(
    BaselineCard(
        name="tfidf_logreg",
        task="classify",
        summary="TF-IDF word (1-2) + character (2-5) n-grams + logistic regression",
        reference="the linear text baseline; Wang & Manning, ACL 2012 (bigram baselines)",
        inputs=("tokens",),
        multivariate=False,
        variable_length="reads the raw texts (any length)",
        options=("word_ngrams", "char_ngrams", "c", "max_features"),
        requires=("scikit-learn",),
    )
)
def _tfidf_logreg(seed: int, **options) -> TfidfLogReg:
    return TfidfLogReg(seed, **options)
