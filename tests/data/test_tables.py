"""User tables (CSV / TSV / Parquet): every form on tiny fixtures, and every bad input refused
with one message."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import torch

from seqselect.data import load_dataset, profile_dataset
from seqselect.errors import DataError


def _wide(n_per_class: int = 6, length: int = 5, classes=("a", "b")) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for c, label in enumerate(classes):
        for _ in range(n_per_class):
            rows.append([*(rng.normal(size=length) + 3 * c).round(4), label])
    return pd.DataFrame(rows, columns=[*(f"t{i}" for i in range(length)), "label"])


def write_csv(tmp_path, text: str, name: str = "data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def good_csv_text(extra_row: str | None = None, n_per_class: int = 6) -> str:
    text = _wide(n_per_class).to_csv(index=False)
    return text + (extra_row + "\n" if extra_row else "")


# ---- the good cases -------------------------------------------------------------------------
def test_wide_csv_loads_and_splits(tmp_path):
    path = write_csv(tmp_path, good_csv_text())
    s = load_dataset(str(path), target="label")
    assert s.task == "classify" and s.class_names == ["a", "b"] and s.d_input == 1
    assert len(s.train) + len(s.val) + len(s.test) == 12
    assert s.train.x.shape[1:] == (5, 1) and s.train.x.dtype == torch.float32
    assert s.metadata["split"] == "stratified"
    # Standardised with training statistics.
    real = s.train.x[s.train.mask]
    assert abs(float(real.mean())) < 1e-5


def test_wide_csv_ragged_rows_become_padding_and_mask(tmp_path):
    text = "t0,t1,t2,t3,label\n" + "\n".join(
        [f"1,2,3,4,{c}" for c in "ab" * 3] + [f"1,2,,,{c}" for c in "ab" * 3]
    )
    s = load_dataset(str(write_csv(tmp_path, text)), target="label", normalize=False)
    lengths = sorted(torch.cat([p.lengths for p in (s.train, s.val, s.test)]).tolist())
    assert lengths == [2] * 6 + [4] * 6
    for part in (s.train, s.val, s.test):
        assert torch.all(part.x[~part.mask] == 0)
    assert profile_dataset(s).to_dict()["length"] == {"min": 2, "median": 3.0, "p95": 4.0, "max": 4}


def test_long_form_csv(tmp_path):
    rows = []
    for sid in range(8):
        label = "up" if sid % 2 else "down"
        for t in range(3 + sid % 3):  # ragged lengths 3..5
            rows.append({"sid": f"s{sid}", "time": 10 - t, "v1": t, "v2": -t, "y": label})
    path = tmp_path / "long.csv"
    pd.DataFrame(rows).sample(frac=1, random_state=0).to_csv(path, index=False)
    s = load_dataset(str(path), target="y", id_col="sid", time_col="time", normalize=False)
    assert s.d_input == 2 and s.class_names == ["down", "up"]
    x = torch.cat([s.train.x, s.val.x.new_zeros(0, *s.train.x.shape[1:])])
    # Ordered by time: times 10, 9, 8 -> t = 0, 1, 2, so after sorting v1 runs backwards.
    first = s.train.x[0, : int(s.train.lengths[0]), 0]
    assert torch.all(first[1:] < first[:-1])
    assert x.shape[-1] == 2


def test_parquet_wide_with_nulls_as_ragged_padding(tmp_path):
    df = _wide()
    df.loc[0, ["t3", "t4"]] = None
    path = tmp_path / "d.parquet"
    df.to_parquet(path)
    s = load_dataset(str(path), target="label")
    lengths = torch.cat([p.lengths for p in (s.train, s.val, s.test)])
    assert sorted(lengths.tolist())[0] == 3


def test_regression_target_is_inferred_and_standardised(tmp_path):
    df = _wide(10)
    df["label"] = np.linspace(100.5, 300.25, len(df))
    path = tmp_path / "r.csv"
    df.to_csv(path, index=False)
    s = load_dataset(str(path), target="label")
    assert s.task == "regress" and s.model_task == "regress" and s.d_output == 1
    assert s.train.y.dtype == torch.float32 and s.train.y.shape[1] == 1
    assert abs(float(s.train.y.mean())) < 1e-5


@pytest.mark.parametrize("how", ["zero", "ffill", "mean"])
def test_impute_fills_interior_gaps(tmp_path, how):
    text = good_csv_text().splitlines()
    cells = text[1].split(",")
    cells[2] = ""  # row 2, column t2
    text[1] = ",".join(cells)
    path = write_csv(tmp_path, "\n".join(text) + "\n")
    s = load_dataset(str(path), target="label", impute=how, normalize=False)
    assert s.metadata["imputed_cells"] == 1
    for p in (s.train, s.val, s.test):
        assert torch.isfinite(p.x).all()


def test_forecast_from_a_series_file(tmp_path):
    t = np.arange(80)
    df = pd.DataFrame({"when": pd.date_range("2020-01-01", periods=80, freq="D").astype(str),
                       "sales": np.sin(t / 5) + t / 40, "temp": np.cos(t / 7)})
    path = tmp_path / "series.csv"
    df.iloc[::-1].to_csv(path, index=False)  # reverse order: --time sorts it back
    s = load_dataset(
        f"{path}?horizon=4&window=12", task="forecast", target="sales", time_col="when"
    )
    assert s.task == "forecast" and s.model_task == "regress"
    assert s.d_input == 2 and s.d_output == 4 and s.train.x.shape[1] == 12
    assert s.metadata["target_columns"] == ["sales"]
    assert s.metadata["season_length"] == 7  # daily steps: a weekly season


@pytest.mark.parametrize(
    ("freq", "season"),
    [("30min", 48), ("h", 24), ("D", 7), ("W", 52), ("MS", 12), ("QS", 4), ("YS", 1)],
)
def test_the_season_of_a_series_file_follows_its_time_step(tmp_path, freq, season):
    df = pd.DataFrame({"when": pd.date_range("2001-01-01", periods=60, freq=freq).astype(str),
                       "v": np.arange(60.0)})
    path = tmp_path / "s.csv"
    df.to_csv(path, index=False)
    s = load_dataset(f"{path}?horizon=2&window=8", task="forecast", time_col="when")
    assert s.metadata["season_length"] == season


def test_a_series_file_without_dates_has_no_season(tmp_path):
    path = tmp_path / "s.csv"
    pd.DataFrame({"t": np.arange(60), "v": np.arange(60.0)}).to_csv(path, index=False)
    with_numbers = load_dataset(f"{path}?horizon=2&window=8", task="forecast", time_col="t")
    assert with_numbers.metadata["season_length"] == 1
    pd.DataFrame({"v": np.arange(60.0)}).to_csv(path, index=False)
    no_time = load_dataset(f"{path}?horizon=2&window=8", task="forecast")
    assert no_time.metadata["season_length"] == 1


# ---- bad inputs: one clear DataError each, naming file/row/column -------------------------------
def _expect(tmp_path, text, match, **kw):
    path = write_csv(tmp_path, text)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    kw.setdefault("target", "label")
    with pytest.raises(DataError, match=match) as info:
        load_dataset(str(path), **kw)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # never modified
    assert str(path) in str(info.value)
    return str(info.value)


def test_nan_inside_a_sequence_names_row_and_column(tmp_path):
    lines = good_csv_text().splitlines()
    cells = lines[3].split(",")
    cells[1] = "NaN"
    lines[3] = ",".join(cells)
    msg = _expect(tmp_path, "\n".join(lines), r"row 4, column 't1' is 'NaN', a missing value")
    assert "--impute" in msg and "header is row 1" in msg


def test_empty_interior_cell_is_missing(tmp_path):
    lines = good_csv_text().splitlines()
    cells = lines[5].split(",")
    cells[0] = ""
    lines[5] = ",".join(cells)
    _expect(tmp_path, "\n".join(lines), r"row 6, column 't0' is empty")


def test_infinity_is_refused(tmp_path):
    _expect(tmp_path, good_csv_text("1,2,inf,4,5,a"), r"row 14, column 't2': 'inf' is infinite")


def test_non_numeric_value_is_refused(tmp_path):
    _expect(tmp_path, good_csv_text("1,2,3,abc,5,b"), r"row 14, column 't3': 'abc' is not a number")


def test_empty_file_and_header_only(tmp_path):
    _expect(tmp_path, "", "empty")
    _expect(tmp_path, "t0,t1,label\n", "no data rows")


def test_unreadable_csv(tmp_path):
    path = tmp_path / "bin.csv"
    path.write_bytes(b"\xff\xfe\x00\x81garbage\x00\x00")
    with pytest.raises(DataError, match="bin.csv"):
        load_dataset(str(path), target="label")


def test_ragged_csv_lines_are_refused(tmp_path):
    _expect(tmp_path, good_csv_text("1,2,3,4,5,a,7,8"), "cannot be read as CSV")


def test_single_class(tmp_path):
    text = _wide(6, classes=("a",)).to_csv(index=False)
    _expect(tmp_path, text, "single class")


def test_too_few_examples_for_the_split(tmp_path):
    text = _wide(1).to_csv(index=False)  # 2 rows, 2 classes
    _expect(tmp_path, text, r"too few .* provide at least \d+")


def test_unseen_test_labels(tmp_path):
    df = _wide(6, classes=("a", "b", "c"))
    df["split"] = "train"
    df.loc[df.label == "c", "split"] = "test"
    df.loc[df.index[:2], "split"] = "test"
    msg = _expect(tmp_path, df.to_csv(index=False), r"label 'c' appears in the test split")
    assert "never in training" in msg


def test_missing_target_column_suggests(tmp_path):
    _expect(
        tmp_path, good_csv_text(), r"no target column 'labl'.*Did you mean 'label'", target="labl"
    )


def test_target_required_for_tables(tmp_path):
    _expect(tmp_path, good_csv_text(), "name the target column", target=None)


def test_empty_target_cell(tmp_path):
    _expect(tmp_path, good_csv_text("1,2,3,4,5,"), r"row 14, target column 'label' is empty")


def test_long_form_conflicting_targets_and_duplicates(tmp_path):
    text = "id,t,v,label\na,1,0.5,x\na,2,0.7,y\nb,1,0.1,x\n"
    _expect(tmp_path, text, r"sequence 'a' has 'label' = 'x' at row 2 but 'y' at row 3",
            id_col="id", time_col="t")
    text = "id,t,v,label\na,1,0.5,x\na,1,0.7,x\n"
    _expect(tmp_path, text, r"row 2 and row 3 both give id 'a' at time", id_col="id", time_col="t")


def test_long_form_needs_both_id_and_time(tmp_path):
    _expect(tmp_path, good_csv_text(), "needs both --id and --time", id_col="t0")


def test_bad_impute_and_fraction(tmp_path):
    path = write_csv(tmp_path, good_csv_text())
    with pytest.raises(DataError, match="unknown impute method"):
        load_dataset(str(path), target="label", impute="median")
    with pytest.raises(DataError, match="must be below 1"):
        load_dataset(str(path), target="label", val_fraction=0.5, test_fraction=0.5)


def test_label_typos_are_flagged(tmp_path):
    df = _wide(20, classes=("cat", "dog"))
    df.loc[0, "label"] = "Cat"
    df.loc[25, "label"] = "dgo"
    path = tmp_path / "typo.csv"
    df.to_csv(path, index=False)
    s = load_dataset(str(path), target="label")
    text = " ".join(s.metadata["warnings"])
    assert "'Cat', 'cat'" in text and "'dgo'" in text and "'dog'" in text
    assert profile_dataset(s).to_dict()["extra"]["warnings"]


def test_a_season_given_after_the_path_overrides_the_one_inferred_from_dates(tmp_path):
    import numpy as np
    import pandas as pd

    from seqselect.data import load_dataset

    path = tmp_path / "monthly.csv"
    steps = np.arange(120)
    pd.DataFrame({
        "Date": pd.date_range("2000-01", periods=120, freq="MS"),
        "y": 10 + np.sin(steps * 2 * np.pi / 12) + 0.05 * steps,
    }).to_csv(path, index=False)
    inferred = load_dataset(f"{path}?horizon=6", task="forecast", time_col="Date")
    given = load_dataset(f"{path}?horizon=6&season=4", task="forecast", time_col="Date")
    assert inferred.metadata["season_length"] == 12
    assert given.metadata["season_length"] == 4
    with pytest.raises(DataError, match="season must be integers"):
        load_dataset(f"{path}?season=monthly", task="forecast", time_col="Date")
