"""The advisor's inputs: every characteristic checked, normalised and its audio form read."""

from __future__ import annotations

import numpy as np
import pytest

from seqselect.advisor.characteristics import (
    ALLOWED,
    CHECKLIST_FIELDS,
    DEFAULT_BATCH_SIZE,
    DEVICES,
    validate_characteristics,
)
from seqselect.errors import SeqSelectError


def test_defaults_leave_every_question_open():
    chars = validate_characteristics()
    assert all(chars[f] is None for f in CHECKLIST_FIELDS)
    assert chars["batch_size"] == DEFAULT_BATCH_SIZE and chars["device"] == "cpu"
    assert chars["memory_gb"] is None and chars["audio_form"] is None


def test_values_are_normalised():
    chars = validate_characteristics(seq_len=512.0, n_examples=10, pretrained=np.bool_(True),
                                     memory_gb=4, device="cuda:1")
    assert chars["seq_len"] == 512 and isinstance(chars["seq_len"], int)
    assert chars["pretrained"] is True and chars["memory_gb"] == 4.0
    assert chars["device"] == "cuda:1"


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"seq_len": 0}, "seq_len must be >= 1"),
        ({"seq_len": 2.5}, "whole number"),
        ({"n_examples": True}, "whole number"),
        ({"pretrained": "yes"}, "True, False or None"),
        ({"data_type": "video"}, "data_type must be one of text, time-series, audio, other"),
        ({"memory_gb": -1}, "positive number"),
        ({"memory_gb": float("nan")}, "positive number"),
        ({"device": "tpu"}, "device must be one of cpu, cuda, mps"),
    ],
)
def test_bad_values_name_what_is_allowed(kw, match):
    with pytest.raises(SeqSelectError, match=match):
        validate_characteristics(**kw)


@pytest.mark.parametrize(
    ("pretrained", "multivariate", "form"),
    [(True, None, "speech"), (None, True, "spectrogram"), (False, False, "waveform")],
)
def test_audio_form_is_read_from_the_other_answers(pretrained, multivariate, form):
    chars = validate_characteristics(data_type="audio", pretrained=pretrained,
                                     multivariate=multivariate)
    assert chars["audio_form"] == form


def test_allowed_values_are_what_the_cli_offers():
    from seqselect.cli.advisor import DataType, Deployment, Device, Latency

    assert tuple(m.value for m in DataType) == ALLOWED["data_type"]
    assert tuple(m.value for m in Latency) == ALLOWED["latency"]
    assert tuple(m.value for m in Deployment) == ALLOWED["deployment"]
    assert tuple(m.value for m in Device) == DEVICES
