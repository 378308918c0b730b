"""TF-IDF n-gram features counted without scikit-learn's per-occurrence Python loop: the
same matrices as ``TfidfVectorizer`` (vocabulary, ``max_features`` cut, weights), at a
cost that follows the distinct words rather than the length of the texts.

``TfidfVectorizer`` builds every n-gram of every occurrence as a Python string and counts
it in a dict. On ``text:long_documents`` (260 documents of 21,000 characters) that was
2.8 s of char n-grams and 0.9 s of word n-grams in a 4.1 s fit, and again at every
predict. Here:

* :class:`WordwiseCharTfidf` (``analyzer="char_wb"``): a ``char_wb`` n-gram never crosses
  a word boundary, so a text's counts are ``C @ G``, ``C (N, W)`` its word counts and
  ``G (W, F)`` the n-grams of each distinct word, cut once per word;
* :class:`WordNgramTfidf` (the default word analyzer): tokens become ids, and each
  n-gram one integer (its ids as digits), counted with numpy.

Its own module so that scikit-learn is imported only when a text baseline is built.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer

__all__ = ["WordNgramTfidf", "WordwiseCharTfidf", "lower_words", "word_counts"]

#: scikit-learn's default ``token_pattern``: words of two or more word characters.
TOKEN = re.compile(r"(?u)\b\w\w+\b")


def lower_words(text: str) -> list[str]:
    """The words ``char_wb`` pads and cuts into n-grams: the lowercased text split on
    whitespace (what scikit-learn's analyzer does before building n-grams)."""
    return text.lower().split()


def word_counts(texts) -> tuple[sparse.csr_matrix, list[str]]:
    """``(C (N, W), words)``: how often each of the W distinct words of ``texts`` occurs in
    each text (:func:`lower_words`; a text without words is a row of zeros)."""
    index: dict[str, int] = {}
    rows, cols, counts = [], [], []
    for row, text in enumerate(texts):
        for word, count in Counter(lower_words(text)).items():
            rows.append(row)
            cols.append(index.setdefault(word, len(index)))
            counts.append(count)
    shape = (len(texts), len(index))
    return sparse.csr_matrix((counts, (rows, cols)), shape=shape, dtype=np.int64), list(index)


def most_frequent(counts: sparse.csr_matrix, limit: int | None) -> np.ndarray:
    """The columns ``max_features=limit`` keeps, in order: scikit-learn's cut (the most
    frequent over the corpus, ties as its ``argsort`` of float64 totals leaves them)."""
    if limit is None or counts.shape[1] <= limit:
        return np.arange(counts.shape[1])
    totals = np.asarray(counts.sum(axis=0)).ravel()
    return np.sort((-totals).argsort()[:limit])


class _CountTfidf(TransformerMixin, BaseEstimator):
    """What ``TfidfVectorizer`` does once the n-grams are counted: the ``max_features``
    cut, then TF-IDF. A subclass counts: ``_fit_counts(texts) -> X (N, F)``, its columns
    in the vectorizer's (sorted) vocabulary order, ``_counts(texts)`` over the same F
    columns, and ``_names()`` the F n-grams."""

    def fit_transform(self, texts, y=None):
        counts = sparse.csr_matrix(self._fit_counts(texts), dtype=np.float64)
        if not counts.shape[1]:  # as the vectorizer refuses it
            raise ValueError("empty vocabulary: the texts hold no words")
        self.keep_ = most_frequent(counts, self.max_features)
        counts = counts[:, self.keep_]
        self.tfidf_ = TfidfTransformer(sublinear_tf=self.sublinear_tf).fit(counts)
        return self.tfidf_.transform(counts)

    def fit(self, texts, y=None):
        self.fit_transform(texts)
        return self

    def transform(self, texts):
        counts = sparse.csr_matrix(self._counts(texts), dtype=np.float64)
        return self.tfidf_.transform(counts[:, self.keep_])

    @property
    def vocabulary_(self) -> dict[str, int]:
        """The vectorizer's ``vocabulary_`` (n-gram -> column), built when asked: the
        features never need the n-grams' text."""
        names = self._names()
        return {names[old]: new for new, old in enumerate(self.keep_.tolist())}


class WordwiseCharTfidf(_CountTfidf):
    """``TfidfVectorizer(analyzer="char_wb")``, each distinct word cut into n-grams once."""

    def __init__(self, ngram_range: tuple[int, int] = (2, 5), sublinear_tf: bool = True,
                 max_features: int | None = None) -> None:
        self.ngram_range = ngram_range
        self.sublinear_tf = sublinear_tf
        self.max_features = max_features

    def _word_grams(self, words, vocabulary: dict[str, int] | None):
        """``(G (W, F), vocabulary)``: the n-gram counts of each of ``words`` over
        ``vocabulary`` (None: these words' n-grams, sorted, become it); n-grams outside a
        given vocabulary are dropped, as the vectorizer drops them."""
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=self.ngram_range)
        analyze = vectorizer.build_analyzer()
        grams = [Counter(analyze(word)) for word in words]
        if vocabulary is None:
            vocabulary = {g: i for i, g in enumerate(sorted(set().union(*grams)))}
        rows, cols, counts = [], [], []
        for row, counter in enumerate(grams):
            for gram, count in counter.items():
                if (col := vocabulary.get(gram)) is not None:
                    rows.append(row)
                    cols.append(col)
                    counts.append(count)
        shape = (len(grams), len(vocabulary))
        return sparse.csr_matrix((counts, (rows, cols)), shape=shape, dtype=np.int64), vocabulary

    def _fit_counts(self, texts):
        per_word, words = word_counts(texts)  # (N, W)
        grams, self.grams_ = self._word_grams(words, None)  # (W, F)
        return per_word @ grams

    def _names(self) -> list[str]:
        return sorted(self.grams_, key=self.grams_.get)

    def _counts(self, texts):
        per_word, words = word_counts(texts)
        return per_word @ self._word_grams(words, self.grams_)[0]


class WordNgramTfidf(_CountTfidf):
    """``TfidfVectorizer(ngram_range=...)`` with its default word analyzer (lowercase,
    :data:`TOKEN`), each n-gram counted as one integer: its token ids plus one as digits
    in base V + 1 (V distinct training tokens), so n-grams of every order are distinct
    numbers. Where those would pass 2**62 (n-grams of 3 over more than 1.6 million
    distinct tokens) the vectorizer's own counting is used."""

    def __init__(self, ngram_range: tuple[int, int] = (1, 2), sublinear_tf: bool = True,
                 max_features: int | None = None) -> None:
        self.ngram_range = ngram_range
        self.sublinear_tf = sublinear_tf
        self.max_features = max_features

    @staticmethod
    def _ids(text: str, index) -> np.ndarray:
        """The text's token ids in ``index`` (a dict: unknown tokens are -1; a
        ``defaultdict`` numbering new tokens: they are added)."""
        tokens = TOKEN.findall(text.lower())
        ids = map(index.__getitem__, tokens) if isinstance(index, defaultdict) else map(
            index.get, tokens, itertools.repeat(-1))
        return np.fromiter(ids, dtype=np.int64, count=len(tokens))

    def _keys(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(keys, counts)``: the distinct n-grams of one text (without unknown tokens)."""
        low, high = self.ngram_range
        parts = []
        for n in range(low, min(high, len(ids)) + 1):
            windows = sliding_window_view(ids, n) + 1  # (L - n + 1, n) digits, 0 = unknown
            windows = windows[(windows > 0).all(axis=1)]
            parts.append(windows @ self.base_ ** np.arange(n - 1, -1, -1, dtype=np.int64))
        keys = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return np.unique(keys, return_counts=True)

    def _tokens_of(self, keys: np.ndarray) -> np.ndarray:
        """``(K, n_max)``: each key's token ids in reading order, -1 after its last."""
        digits = []  # least significant (last token) first
        rest = keys.copy()
        while rest.any():
            digits.append(rest % self.base_)
            rest //= self.base_
        digits = np.stack(digits, axis=1) if digits else np.zeros((len(keys), 0), np.int64)
        length = (digits > 0).sum(axis=1)
        at = length[:, None] - 1 - np.arange(digits.shape[1])[None, :]  # digit of token j
        picked = np.take_along_axis(digits, np.clip(at, 0, None), axis=1) - 1
        return np.where(at >= 0, picked, -1)

    def _vocabulary_order(self, keys: np.ndarray) -> np.ndarray:
        """The keys' positions in the vectorizer's sorted vocabulary. Tokens hold word
        characters only, all above the joining space, so the strings sort as the token
        sequences do, token by token, a sequence before its own extensions."""
        names = list(self.tokens_)
        rank = np.empty(len(names), dtype=np.int64)
        rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
        tokens = self._tokens_of(keys)
        if not tokens.size:
            return np.zeros(0, dtype=np.int64)
        ranks = np.where(tokens >= 0, rank[np.clip(tokens, 0, None)], -1)
        order = np.lexsort(ranks.T[::-1])  # first token first
        columns = np.empty(len(keys), dtype=np.int64)
        columns[order] = np.arange(len(keys))
        return columns

    def _matrix(self, per_text) -> sparse.csr_matrix:
        """``X (N, F)`` of each text's ``(keys, counts)`` (keys outside the vocabulary
        dropped)."""
        shape = (len(per_text), len(self.keys_))
        if not all(shape):
            return sparse.csr_matrix(shape, dtype=np.int64)
        rows, cols, counts = [], [], []
        for row, (keys, count) in enumerate(per_text):
            at = np.minimum(np.searchsorted(self.keys_, keys), len(self.keys_) - 1)
            known = self.keys_[at] == keys
            rows.append(np.full(int(known.sum()), row))
            cols.append(self.columns_[at[known]])
            counts.append(count[known])
        data = (np.concatenate(counts), (np.concatenate(rows), np.concatenate(cols)))
        return sparse.csr_matrix(data, shape=shape, dtype=np.int64)

    def _fit_counts(self, texts):
        index = defaultdict(itertools.count().__next__)
        ids = [self._ids(text, index) for text in texts]
        self.tokens_: dict[str, int] = dict(index)
        self.base_, self.counter_ = len(self.tokens_) + 1, None
        if self.base_ ** self.ngram_range[1] >= 2 ** 62:
            self.counter_ = CountVectorizer(ngram_range=self.ngram_range)
            return self.counter_.fit_transform(texts)
        per_text = [self._keys(i) for i in ids]
        self.keys_ = np.unique(np.concatenate([k for k, _ in per_text] or [np.zeros(0, int)]))
        self.columns_ = self._vocabulary_order(self.keys_)  # numeric key -> sorted column
        return self._matrix(per_text)

    def _counts(self, texts):
        if self.counter_ is not None:
            return self.counter_.transform(texts)
        return self._matrix([self._keys(self._ids(text, self.tokens_)) for text in texts])

    def _names(self) -> list[str]:
        if self.counter_ is not None:
            return self.counter_.get_feature_names_out().tolist()
        words = list(self.tokens_)
        names = [""] * len(self.keys_)
        tokens_of = self._tokens_of(self.keys_).tolist()
        for column, tokens in zip(self.columns_.tolist(), tokens_of, strict=True):
            names[column] = " ".join(words[t] for t in tokens if t >= 0)
        return names
