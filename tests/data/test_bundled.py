"""aeon's bundled datasets: discovery, offline loading, official splits, forecasting windows."""

from __future__ import annotations

import pytest
import torch

from seqselect.data import list_datasets, load_dataset, profile_dataset
from seqselect.data.bundled import archive_problems
from seqselect.errors import DataError


def test_discovery_finds_the_shipped_problems():
    problems = archive_problems()
    for name in ("GunPoint", "ItalyPowerDemand", "JapaneseVowels", "BasicMotions", "ArrowHead",
                 "OSULeaf", "PickupGestureWiimoteZ"):
        assert problems[name].kind == "classification"
    assert problems["Covid3Month"].kind == "regression"


def test_gunpoint_keeps_the_official_split():
    s = load_dataset("ucr:GunPoint")
    assert len(s.test) == 150 and len(s.train) + len(s.val) == 50  # UCR: 50 train / 150 test
    assert s.train.x.shape[1:] == (150, 1) and s.class_names == ["1", "2"]
    assert s.metadata["split"] == "official" and s.source == "ucr:GunPoint"


def test_unequal_length_dataset_is_padded_with_a_mask():
    s = load_dataset("uea:JapaneseVowels")
    assert s.d_input == 12 and s.d_output == 9
    p = profile_dataset(s).to_dict()
    assert p["length"]["min"] == 7 and p["length"]["max"] == 29 and p["multivariate"]
    assert torch.all(s.test.x[~s.test.mask] == 0)


def test_regression_archive_problem():
    s = load_dataset("tser:Covid3Month")
    assert s.task == "regress" and s.d_output == 1 and s.train.y.dtype == torch.float32


def test_forecast_airline_offset_and_errors():
    s = load_dataset("forecast:Airline?horizon=12&window=36")
    assert s.d_output == 12 and s.train.x.shape[1:] == (36, 1) and s.model_task == "regress"
    assert torch.allclose(s.train.x[:, -1], torch.zeros(1))  # offset by the last value
    with pytest.raises(DataError, match="too short"):
        load_dataset("forecast:ShampooSales?horizon=12&window=36")
    with pytest.raises(DataError, match="Did you mean forecast:Airline"):
        load_dataset("forecast:Airlin")
    with pytest.raises(DataError, match="has no column 'Foo'"):
        load_dataset("forecast:Uschange", target="Foo")


@pytest.mark.parametrize(
    ("name", "season"),
    [("Airline", 12), ("PBS", 12), ("ShampooSales", 12), ("Solar", 48), ("Uschange", 4),
     ("Lynx", 1)],
)
def test_each_bundled_series_has_the_season_of_its_sampling(name, season):
    s = load_dataset(f"forecast:{name}")
    assert s.metadata["season_length"] == season
    for split in ("train", "val", "test"):  # one offset row (C values) per window
        offsets = s.metadata["window_offsets"][split]
        assert len(offsets) == len(getattr(s, split))
        assert all(len(row) == s.d_input for row in offsets)


def test_the_season_option_overrides_and_is_checked():
    s = load_dataset("forecast:Airline?season=6")
    assert s.metadata["season_length"] == 6 and "season=6" in s.source
    assert "season" not in load_dataset("forecast:Airline").source  # the default is implied
    with pytest.raises(DataError, match="season"):
        load_dataset("forecast:Airline?season=x")
    with pytest.raises(DataError, match="season="):
        load_dataset("forecast:Airline?seasons=12")


def test_unknown_archive_name_suggests():
    with pytest.raises(DataError, match="Did you mean ucr:GunPoint"):
        load_dataset("ucr:GunPont")


def test_list_datasets_rows():
    rows = {r["name"]: r for r in list_datasets()}
    gp = rows["ucr:GunPoint"]
    facts = (gp["length"], gp["channels"], gp["classes"], gp["n_train"], gp["n_test"])
    assert facts == (150, 1, 2, 50, 150)
    assert rows["ucr:JapaneseVowels"]["min_length"] == 7
    assert rows["forecast:Airline"]["kind"] == "forecasting"
    assert rows["task:adding"]["kind"] == "synthetic"
    for r in rows.values():
        assert {"name", "kind", "length", "channels", "classes", "n_train", "n_test"} <= set(r)


def test_list_datasets_skips_a_damaged_archive_file_with_a_warning(monkeypatch, caplog):
    from seqselect.data import bundled

    def damaged(name):
        raise OSError(f"{name}: truncated")

    monkeypatch.setattr(bundled, "describe_archive", damaged)
    with caplog.at_level("WARNING", logger="seqselect.data"):
        rows = list_datasets()
    assert not any(r["name"].startswith(("ucr:", "tser:")) for r in rows)
    assert any(r["name"].startswith("task:") for r in rows)
    assert "cannot read" in caplog.text


def test_list_datasets_does_not_hide_a_bug(monkeypatch):
    from seqselect.data import bundled

    def buggy(name):
        raise KeyError(name)

    monkeypatch.setattr(bundled, "describe_archive", buggy)
    with pytest.raises(KeyError):
        list_datasets()
