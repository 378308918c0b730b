"""CRNN: frames from the log-mel front-end, convolutions that keep every frame, a BiLSTM."""

from __future__ import annotations

import torch

from seqselect.models import create_model
from seqselect.models.crnn import ConvFrames


def test_per_step_outputs_are_their_frames_outputs():
    torch.manual_seed(0)
    model = create_model("crnn", d_input=1, d_output=3, task="per_step", d_model=8).eval()
    x = torch.randn(2, 1_600, 1)
    with torch.no_grad():
        out = model(x)  # (B, L, O)
        frames = model.head.linear(model.forward_features(x))  # (B, T, O)
    assert frames.shape[1] == 1_600 // 160 + 1
    torch.testing.assert_close(out, frames[:, torch.arange(1_600) // 160])


def test_the_bilstm_reads_both_ways():
    torch.manual_seed(0)
    model = create_model("crnn", d_input=1, d_output=3, task="per_step", d_model=8).eval()
    x = torch.randn(1, 3_200, 1)
    x2 = x.clone()
    x2[:, 2_400:] = torch.randn(1, 800, 1)
    with torch.no_grad():
        assert not torch.allclose(model(x)[:, :800], model(x2)[:, :800])


def test_even_kernels_keep_every_frame():
    conv = ConvFrames(5, 6, n=2, kernel_size=4, dropout=0.0)
    assert conv(torch.randn(2, 9, 5), None).shape == (2, 9, 6)


def test_waveform_frontend_runs_on_every_sample():
    model = create_model("crnn", d_input=1, d_output=2, frontend="waveform", d_model=8)
    assert model.hop == 1
    assert model.forward_features(torch.randn(2, 50, 1)).shape == (2, 50, 16)
