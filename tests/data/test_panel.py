"""Forecasting a long-form file of many series (issue 13, item 7): windows series by
series, none crossing two series, the latest of each series tested, statistics from the
training spans only, the bake-off's export forecasting each series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqselect.data import load_dataset
from seqselect.data.windows import window_starts
from seqselect.errors import DataError

HORIZON, WINDOW = 3, 8
LENGTHS = {"north": 60, "south": 45, "east": 52}


def _panel(tmp_path, lengths=LENGTHS, shuffle=True, name="sales.csv"):
    rng = np.random.default_rng(0)
    rows = []
    for n, (key, length) in enumerate(lengths.items()):
        level = 100.0 * (n + 1)  # each series on its own level
        for t in range(length):
            value = level + 10 * np.sin(2 * np.pi * t / 7) + rng.normal()
            rows.append({"store": key, "t": t, "sales": value})
    df = pd.DataFrame(rows)
    df["day"] = pd.to_datetime("2024-01-01") + pd.to_timedelta(df["t"], unit="D")
    if shuffle:
        df = df.sample(frac=1.0, random_state=1)
    path = tmp_path / name
    df[["store", "day", "sales"]].to_csv(path, index=False)
    return path, df


def _load(path, **kwargs):
    return load_dataset(
        f"{path}?horizon={HORIZON}&window={WINDOW}", task="forecast", target="sales",
        id_col="store", time_col="day", **kwargs,
    )


def _expected_windows(values, starts):
    return np.stack([values[s : s + WINDOW] for s in starts])


def test_each_split_holds_every_series_windows_in_time_order(tmp_path):
    path, df = _panel(tmp_path)
    splits = _load(path, normalize=False)
    meta = splits.metadata
    assert meta["n_series"] == 3 and meta["series_left_out"] == 0
    order = list(dict.fromkeys(df.store))  # series in order of first appearance in the file
    for i, split in enumerate(("train", "val", "test")):
        data = getattr(splits, split)
        offsets = np.asarray(meta["window_offsets"][split])
        got = data.x.numpy()[..., 0] + offsets  # undo offset=last: the raw windows
        expected = []
        for key in order:
            length = LENGTHS[key]
            values = df[df.store == key].sort_values("t")["sales"].to_numpy()
            starts = window_starts(length, WINDOW, HORIZON, 0.15, 0.2)[i]
            expected.append(_expected_windows(values, starts))
        np.testing.assert_allclose(got, np.concatenate(expected), rtol=1e-5, atol=1e-3)
        # the series of each window, in the same order
        assert meta["window_series"][split] == [
            k for k in order for _ in window_starts(LENGTHS[k], WINDOW, HORIZON, 0.15, 0.2)[i]
        ]


def test_standardisation_reads_only_the_training_spans(tmp_path):
    path, df = _panel(tmp_path, shuffle=False)
    base = _load(path).metadata["normalization"]
    # the last steps of every series (test targets) changed: the statistics do not move
    changed = df.copy()
    last = changed.groupby("store")["t"].transform("max") - changed["t"] < HORIZON
    changed.loc[last, "sales"] = 1e6
    other = tmp_path / "changed.csv"
    changed[["store", "day", "sales"]].to_csv(other, index=False)
    assert _load(other).metadata["normalization"] == base


def test_a_series_too_short_is_left_out_and_counted(tmp_path, caplog):
    path, _ = _panel(tmp_path, lengths={**LENGTHS, "tiny": 9})
    splits = _load(path)
    assert splits.metadata["series_left_out"] == 1 and "'tiny'" in caplog.text
    assert "tiny" not in splits.metadata["window_series"]["train"]


def test_no_series_long_enough_names_the_longest(tmp_path):
    path, _ = _panel(tmp_path, lengths={"a": 9, "b": 11})
    with pytest.raises(DataError, match=r"longest, 'b', has 11 steps"):
        _load(path)


def test_a_repeated_series_step_names_both_rows(tmp_path):
    path, df = _panel(tmp_path, shuffle=False)
    df = pd.concat([df, df.iloc[[3]]])
    df[["store", "day", "sales"]].to_csv(path, index=False)
    with pytest.raises(DataError, match=r"row 5 and row \d+ both give id 'north'"):
        _load(path)


def test_the_bakeoff_export_forecasts_each_series_of_the_file(tmp_path):
    from seqselect import run_bakeoff
    from seqselect.bakeoff.predict import predict_file

    path, _ = _panel(tmp_path)
    result = run_bakeoff(
        f"{path}?horizon={HORIZON}&window={WINDOW}", task="forecast", target="sales",
        data_options={"id_col": "store", "time_col": "day"}, models="tcn", budget="3s",
        seeds=1, params=2000,
        baselines="seasonal_naive", cpus_per_trial=1, store=tmp_path / "runs.db",
        run="panel", export=tmp_path / "model",
    )
    assert {row.metric for row in result.leaderboard} == {"mase"}
    assert {row.model for row in result.leaderboard} == {"tcn", "seasonal_naive"}
    out = tmp_path / "next.csv"
    summary = predict_file(tmp_path / "model", path, out)  # --id/--time from the export
    pred = pd.read_csv(out)
    assert summary["series"] == 3 and summary["rows"] == 3 * HORIZON
    assert sorted(pred["store"].unique()) == sorted(LENGTHS)
    # each series is forecast near its own level (100, 200, 300 apart), not a pooled one
    levels = pred.groupby("store")["sales"].mean()
    assert levels["north"] < levels["south"] < levels["east"]
