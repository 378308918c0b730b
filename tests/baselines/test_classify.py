"""seqselect.baselines.classify: the majority class and MiniRocket."""

import numpy as np
import pytest
import torch

from seqselect.baselines import create_baseline, run_baseline
from seqselect.data import load_dataset
from seqselect.data.types import SequenceData
from seqselect.errors import SeqSelectError


def _labelled(labels, length=12, channels=1):
    n = len(labels)
    x = torch.randn(n, length, channels, generator=torch.Generator().manual_seed(0))
    return SequenceData(x, torch.ones(n, length, dtype=torch.bool), torch.tensor(labels))


def test_majority_predicts_the_most_frequent_class_and_keeps_the_prior():
    train = _labelled([2, 0, 2, 1, 2, 0])
    model = create_baseline("majority").fit(train)
    assert np.allclose(model.prior_, [2 / 6, 1 / 6, 3 / 6])
    assert model.predict(_labelled([0, 1, 1, 0])).tolist() == [2, 2, 2, 2]


def test_majority_accuracy_equals_the_test_prior_of_the_training_majority():
    splits = load_dataset("ucr:ItalyPowerDemand")
    run = run_baseline("majority", splits, seed=0)
    train_major = int(torch.bincount(splits.train.y).argmax())
    assert run.ok
    test_prior = float((splits.test.y == train_major).double().mean())
    assert run.test_metrics["accuracy"] == pytest.approx(test_prior)
    assert set(run.test_predictions) == {train_major}


@pytest.fixture(scope="module")
def gunpoint():
    return load_dataset("ucr:GunPoint")


@pytest.mark.slow
def test_minirocket_on_gunpoint_matches_the_published_accuracy(gunpoint):
    run = run_baseline("minirocket", gunpoint, seed=0)
    assert run.ok, run.error
    assert run.test_metrics["accuracy"] > 0.95  # published 99.2 (Dempster et al. 2021)
    assert len(run.test_predictions) == len(gunpoint.test)
    assert run.latency_ms > 0 and run.fit_s > 0


@pytest.mark.slow
def test_minirocket_is_deterministic_for_a_seed(gunpoint):
    small = gunpoint.train.subset(torch.arange(20))
    first = create_baseline("minirocket", seed=3, n_kernels=84).fit(small).predict(gunpoint.test)
    again = create_baseline("minirocket", seed=3, n_kernels=84).fit(small).predict(gunpoint.test)
    assert np.array_equal(first, again)


@pytest.mark.slow
def test_minirocket_takes_unequal_lengths_resampled_or_padded():
    splits = load_dataset("ucr:JapaneseVowels")
    assert not bool(splits.train.mask.all())  # really padded
    for how in ("resample", "last"):
        options = {"n_kernels": 840, "unequal_length": how}
        run = run_baseline("minirocket", splits, seed=0, options=options)
        assert run.ok, run.error
        assert run.test_metrics["accuracy"] > 0.8
    with pytest.raises(SeqSelectError, match="unequal_length"):
        create_baseline("minirocket", unequal_length="crop")


def test_rocket_padding_repeats_each_series_last_real_value():
    from seqselect.baselines.arrays import last_value_panel

    x = torch.tensor([[[1.0], [2.0], [0.0]], [[4.0], [5.0], [6.0]]])
    mask = torch.tensor([[True, True, False], [True, True, True]])
    panel = last_value_panel(SequenceData(x, mask, torch.tensor([0, 1])), length=10)
    assert panel.shape == (2, 1, 10)
    assert panel[0, 0].tolist() == [1, 2] + [2] * 8
    assert panel[1, 0].tolist() == [4, 5, 6] + [6] * 7
    assert last_value_panel(SequenceData(x, mask, torch.tensor([0, 1])), length=9).shape[2] == 9


def test_resampling_stretches_the_real_steps_and_keeps_full_series():
    from seqselect.baselines.arrays import resampled_panel

    x = torch.tensor([[[0.0], [2.0], [0.0]], [[4.0], [5.0], [6.0]]])
    mask = torch.tensor([[True, True, False], [True, True, True]])
    data = SequenceData(x, mask, torch.tensor([0, 1]))
    panel = resampled_panel(data, length=9)  # (N, C, 9)
    assert np.allclose(panel[0, 0], np.linspace(0, 2, 9))
    assert np.allclose(panel[1, 0], np.linspace(4, 6, 9))
    full = SequenceData(torch.arange(12.0).reshape(1, 12, 1), torch.ones(1, 12, dtype=torch.bool),
                        torch.tensor([0]))
    assert resampled_panel(full).tolist() == [[list(range(12))]]


def test_a_single_training_class_is_a_failed_run_not_a_crash():
    train = _labelled([1] * 8)
    with pytest.raises(SeqSelectError, match="single class"):
        create_baseline("minirocket").fit(train)


@pytest.mark.slow
def test_multirocket_hydra_separates_gunpoint(gunpoint):
    model = create_baseline("multirocket_hydra", seed=0, n_groups=8).fit(gunpoint.train)
    pred = model.predict(gunpoint.test)
    assert pred.dtype == np.int64 and pred.shape == (len(gunpoint.test),)
    assert (pred == gunpoint.test.y.numpy()).mean() > 0.9


TONES = "audio:tones?n=8&clip_seconds=0.5&sample_rate=8000"


def test_minirocket_on_log_mel_frames_beats_chance_on_the_tone_task():
    splits = load_dataset("audio:tones?n=20&clip_seconds=1&sample_rate=16000", seed=0)
    run = run_baseline("minirocket_logmel", splits, seed=0)
    assert run.ok, run.error
    assert run.options["sample_rate"] == 16_000  # the clips' rate, from the dataset
    # 5 balanced classes, 20 test clips: chance is 0.2 (4 right); it scored 0.6 (12) here
    assert run.test_metrics["accuracy"] >= 0.45, run.test_metrics


def test_the_log_mel_panel_is_40_bands_by_100_frames_a_second():
    splits = load_dataset(TONES, seed=0)
    model = create_baseline("minirocket_logmel", sample_rate=8_000)
    panel = model.to_panel(splits.test)
    assert panel.shape == (len(splits.test), 40, 0.5 * 100 + 1)  # T = L // hop + 1


def test_audio_data_gets_the_log_mel_minirocket_and_not_the_raw_one_by_default():
    from seqselect.bakeoff.baseline_trials import parse_baselines

    audio = parse_baselines("auto", load_dataset(TONES, seed=0))
    assert "minirocket_logmel" in audio and "minirocket" not in audio
    assert "minirocket" in parse_baselines("minirocket", load_dataset(TONES, seed=0))
    series = load_dataset("ucr:ItalyPowerDemand")
    assert "minirocket" in parse_baselines("auto", series)
    assert "minirocket_logmel" not in parse_baselines("auto", series)
    with pytest.raises(SeqSelectError, match="takes audio clips"):
        run_baseline("minirocket_logmel", series)
