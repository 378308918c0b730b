"""User files: the loader picks the reader by suffix and checks the path first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seqselect.data import load_dataset
from seqselect.data.files import check_readable, file_kind, load_file
from seqselect.errors import DataError


def test_unknown_file_type_and_missing_file(tmp_path):
    (tmp_path / "x.xlsx").write_text("hi")
    with pytest.raises(DataError, match="unsupported file type"):
        load_dataset(str(tmp_path / "x.xlsx"))
    with pytest.raises(DataError, match="no such file"):
        load_dataset(str(tmp_path / "nope.csv"), target="label")


@pytest.mark.parametrize(
    ("name", "kind"),
    [("a.csv", "csv"), ("a.TSV", "csv"), ("a.csv.gz", "csv"), ("a.txt", "csv"),
     ("a.parquet", "parquet"), ("a.pq", "parquet"), ("a.npz", "npz")],
)
def test_file_kind_by_suffix(name, kind):
    assert file_kind(Path(name)) == kind


def test_folder_and_empty_file_are_refused(tmp_path):
    with pytest.raises(DataError, match="is a folder"):
        check_readable(tmp_path)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="0 bytes"):
        check_readable(empty)


def test_npz_takes_no_table_options(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.zeros((4, 3)), y=np.arange(4) % 2)
    with pytest.raises(DataError, match="apply to CSV/Parquet"):
        load_file(path, task=None, target="y", id_col=None, time_col=None, impute=None)
    with pytest.raises(DataError, match="not NPZ"):
        load_file(path, task="forecast", target=None, id_col=None, time_col=None, impute=None)
