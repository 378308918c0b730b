"""Forecasting windows on a known series: exact inputs, targets, gaps, scaling and offsets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqselect.data.windows import make_windows, window_counts, window_starts
from seqselect.errors import DataError

# T = 12 steps 0..11, W = 3, H = 2: 8 windows; validation round(8 * 0.125) = 1, test
# round(8 * 0.25) = 2, one window (H - 1) left out at each of the two boundaries: 3 train.
SERIES = np.arange(12, dtype=np.float64)[:, None]  # (T, 1)
SETTING = {"window": 3, "horizon": 2, "val_fraction": 0.125, "test_fraction": 0.25}


def _windows(series=SERIES, **kw):
    args = {"name": "s", "source": "s", "columns": ["v"], "target_columns": [0], **SETTING}
    args.update(kw)
    return make_windows(series, **args)


def test_window_counts_and_starts_known_answer():
    assert window_counts(12, 3, 2, 0.125, 0.25) == (8, 3, 1, 2)
    train, val, test = window_starts(12, 3, 2, 0.125, 0.25)
    assert train.tolist() == [0, 1, 2]
    assert val.tolist() == [4]  # window 3 is the gap before it
    assert test.tolist() == [6, 7]  # window 5 is the gap before them


def test_windows_without_scaling_or_offset_are_the_raw_values():
    s = _windows(normalize=False, offset="none")
    assert s.train.x[:, :, 0].tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4]]
    assert s.train.y.tolist() == [[3, 4], [4, 5], [5, 6]]
    assert s.val.x[:, :, 0].tolist() == [[4, 5, 6]] and s.val.y.tolist() == [[7, 8]]
    assert s.test.x[:, :, 0].tolist() == [[6, 7, 8], [7, 8, 9]]
    assert s.test.y.tolist() == [[9, 10], [10, 11]]
    # No target step is shared between splits: train <= 6 < val <= 8 < test.
    assert s.train.y.max() < s.val.y.min() and s.val.y.max() < s.test.y.min()
    assert s.train.mask.all() and s.train.mask.shape == (3, 3)
    assert (s.task, s.model_task, s.d_input, s.d_output) == ("forecast", "regress", 1, 2)


def test_offset_last_subtracts_each_windows_last_input():
    s = _windows(normalize=False, offset="last")
    assert s.train.x[0, :, 0].tolist() == [-2, -1, 0]
    assert s.train.y[0].tolist() == [1, 2]  # predicting 0 is the last-value forecast
    assert s.metadata["offset"] == "last"


def test_standardisation_uses_the_steps_training_windows_cover():
    # Training windows cover steps 0..6: mean 3, population std 2.
    s = _windows(normalize=True, offset="none")
    assert s.metadata["normalization"] == {"x_mean": [3.0], "x_std": [2.0]}
    assert s.metadata["target_normalization"] == {"y_mean": [3.0, 3.0], "y_std": [2.0, 2.0]}
    assert torch.allclose(s.train.x[0, :, 0], torch.tensor([-1.5, -1.0, -0.5]))
    assert torch.allclose(s.test.y[-1], torch.tensor([3.5, 4.0]))


def test_several_targets_are_flattened_time_major():
    series = np.stack([np.arange(12.0), 100 + np.arange(12.0)], axis=1)  # (T, 2)
    s = _windows(series, columns=["a", "b"], target_columns=[0, 1], normalize=False,
                 offset="none")
    assert s.train.y[0].tolist() == [3, 103, 4, 104]
    assert s.d_output == 4 and s.metadata["target_columns"] == ["a", "b"]


def test_too_short_series_names_the_steps_needed():
    with pytest.raises(DataError, match="series of 8 steps is too short .* at least 9 steps"):
        _windows(SERIES[:8])


@pytest.mark.parametrize(
    ("kw", "match"),
    [({"offset": "mean"}, "offset must be"), ({"window": 0}, "must be >= 1")],
)
def test_bad_settings_are_refused(kw, match):
    with pytest.raises(DataError, match=match):
        _windows(**kw)


def test_forecast_windows_do_not_share_targets_across_splits():
    series = np.arange(100, dtype=float)[:, None]
    s = make_windows(series, name="lin", source="lin", columns=["v"], target_columns=[0],
                     window=10, horizon=5, val_fraction=0.15, test_fraction=0.2,
                     normalize=False, offset="none")

    def target_steps(part):
        return set(part.y.reshape(-1).tolist())
    tr, va, te = target_steps(s.train), target_steps(s.val), target_steps(s.test)
    assert not (tr & va) and not (va & te) and not (tr & te)
    assert max(tr) < min(va) and max(va) < min(te)  # time order
    assert s.test.y[-1, -1] == 99  # the last window ends at the end of the series


def test_the_kept_offsets_put_windows_back_on_the_series_values():
    from seqselect.data.windows import ForecastLayout, window_offsets

    rng = np.random.default_rng(0)
    series = np.cumsum(rng.normal(size=(40, 2)), axis=0) + 50  # (T, C = 2)
    s = make_windows(
        series, name="s", source="s", columns=["a", "b"], target_columns=[1], window=5,
        horizon=3, val_fraction=0.15, test_fraction=0.2, offset="last",
    )
    layout = ForecastLayout.from_metadata(s.metadata, d_input=2, d_output=3)
    assert layout.target_channels == (1,) and layout.horizon == 3 and layout.offset == "last"
    _, _, test_starts = window_starts(40, 5, 3, 0.15, 0.2)
    offsets = window_offsets(s.metadata, "test", len(s.test))
    assert offsets.shape == (len(s.test), 2)
    back = layout.to_original(s.test.y.double().numpy(), offsets)  # (N, H * K)
    expected = np.stack([series[t + 5 : t + 8, 1] for t in test_starts])
    assert np.allclose(back, expected, atol=1e-4)
    # the inputs too: x + offset, un-standardised, is the series
    norm = s.metadata["normalization"]
    x = (s.test.x.double().numpy() + offsets[:, None, :]) * norm["x_std"] + norm["x_mean"]
    assert np.allclose(x, np.stack([series[t : t + 5] for t in test_starts]), atol=1e-4)
    for split in ("train", "val"):
        assert len(s.metadata["window_offsets"][split]) == len(getattr(s, split))
    assert window_offsets(s.metadata, "test", len(s.test) + 1) is None  # not this split's


def test_season_length_is_written_and_checked():
    assert _windows().metadata["season_length"] == 1
    assert _windows(season_length=4).metadata["season_length"] == 4
    assert _windows(metadata={"season_length": 6}).metadata["season_length"] == 6
    for bad in (0, "x", 2.5):
        with pytest.raises(DataError, match="season"):
            _windows(season_length=bad)


def test_offsets_of_unshifted_windows_are_zero():
    s = _windows(offset="none")
    assert np.all(np.asarray(s.metadata["window_offsets"]["train"]) == 0)
