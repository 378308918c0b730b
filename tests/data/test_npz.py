"""User NPZ archives: arrays, lengths, tokens, fixed splits, and every bad input refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqselect.data import load_dataset
from seqselect.errors import DataError


def test_npz_with_lengths_and_tokens(tmp_path):
    x = np.random.default_rng(0).normal(size=(20, 6, 3)).astype(np.float32)
    lengths = np.array([6, 4] * 10)
    x[1::2, 4:] = np.nan  # beyond the given lengths: ignored
    y = np.array([0, 1] * 10)
    path = tmp_path / "d.npz"
    np.savez(path, X=x, y=y, lengths=lengths)
    s = load_dataset(str(path))
    assert s.task == "classify" and s.d_input == 3
    assert sorted(set(torch.cat([p.lengths for p in (s.train, s.val, s.test)]).tolist())) == [4, 6]
    tok = tmp_path / "tok.npz"
    np.savez(tok, X=np.random.default_rng(1).integers(0, 30, size=(20, 7)), y=y)
    st = load_dataset(str(tok))
    assert st.vocab_size is not None and st.d_input is None and st.train.x.dtype == torch.long


def test_npz_official_split_is_kept(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "s.npz"
    np.savez(path, X_train=rng.normal(size=(12, 4)), y_train=np.array([0, 1] * 6),
             X_test=rng.normal(size=(5, 4)), y_test=np.array([0, 1, 0, 1, 1]))
    s = load_dataset(str(path))
    assert len(s.test) == 5 and len(s.train) + len(s.val) == 12
    assert s.metadata["split"] == "official"


def test_npz_problems(tmp_path):
    x = np.zeros((10, 5))
    x[3, 2] = np.nan
    path = tmp_path / "bad.npz"
    np.savez(path, X=x, y=np.arange(10) % 2)
    with pytest.raises(DataError, match=r"X\[3, 2, 0\] is NaN"):
        load_dataset(str(path))
    np.savez(path, X=np.zeros((10, 5)), y=np.arange(9) % 2)
    with pytest.raises(DataError, match=r"y has shape \(9,\) but X has 10 sequences"):
        load_dataset(str(path))
    np.savez(path, X=np.ones((10, 5)), labels=np.arange(10))
    with pytest.raises(DataError, match="no array 'y'"):
        load_dataset(str(path))
    np.savez(path, X=np.array([object()] * 10, dtype=object), y=np.arange(10))
    with pytest.raises(DataError, match="never unpickles"):
        load_dataset(str(path))


def test_npz_that_is_not_an_archive_is_refused(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"PK\x03\x04 not really a zip file")
    with pytest.raises(DataError, match="cannot be read as NPZ"):
        load_dataset(str(path))


def test_npz_holding_one_array_is_refused(tmp_path):
    path = tmp_path / "one.npz"
    with path.open("wb") as fh:
        np.save(fh, np.zeros((3, 4)))
    with pytest.raises(DataError, match="single array"):
        load_dataset(str(path))


def test_npz_trailing_nan_steps_are_padding(tmp_path):
    x = np.ones((12, 5, 1))
    x[::2, 3:] = np.nan  # every other sequence has 3 real steps
    path = tmp_path / "pad.npz"
    np.savez(path, X=x, y=np.arange(12) % 2)
    s = load_dataset(str(path))
    lengths = torch.cat([p.lengths for p in (s.train, s.val, s.test)])
    assert sorted(set(lengths.tolist())) == [3, 5]
    assert int((lengths == 3).sum()) == 6


def test_npz_negative_token_and_bad_lengths(tmp_path):
    path = tmp_path / "tok.npz"
    x = np.ones((10, 4), dtype=np.int64)
    x[2, 1] = -1
    np.savez(path, X=x, y=np.arange(10) % 2)
    with pytest.raises(DataError, match=r"X\[2, 1\] = -1 is a negative token id"):
        load_dataset(str(path))
    np.savez(path, X=np.ones((10, 4)), y=np.arange(10) % 2, lengths=np.array([5] * 10))
    with pytest.raises(DataError, match=r"lengths\[0\] = 5; expected 1..4"):
        load_dataset(str(path))
