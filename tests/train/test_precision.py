"""bfloat16 autocast: which runs get it, and that a bf16 run trains and says so."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqselect.models import create_model
from seqselect.train import train
from seqselect.train.precision import bf16_supported, resolve_precision

CPU = torch.device("cpu")


def test_auto_picks_bf16_for_recurrent_models_only_where_the_cpu_has_it():
    lstm = create_model("lstm", d_input=2, d_output=3, d_model=8)
    conv = create_model("cnn1d", d_input=2, d_output=3, d_model=8)
    gru = create_model("gru", d_input=2, d_output=3, d_model=8)  # no bf16 kernel on CPU
    expected = "bf16" if bf16_supported(CPU) else "fp32"
    assert resolve_precision("auto", lstm, CPU) == expected
    assert resolve_precision("auto", conv, CPU) == "fp32"
    assert resolve_precision("auto", gru, CPU) == "fp32"
    assert resolve_precision("bf16", conv, CPU) == "bf16"  # forced: any model
    assert resolve_precision("fp32", lstm, CPU) == "fp32"
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("fp16", lstm, CPU)


def test_a_bf16_run_trains_reports_its_precision_and_rounds_differently(toy_splits):
    splits = toy_splits()

    def lstm() -> nn.Module:
        return create_model("lstm", d_input=2, d_output=3, d_model=8)

    runs = {
        p: train(lstm, splits, budget="10 steps", batch_size=8, lr=0.01, precision=p,
                 progress=False)
        for p in ("fp32", "bf16")
    }
    assert {p: r.hparams["precision"] for p, r in runs.items()} == {"fp32": "fp32", "bf16": "bf16"}
    fp32_loss = [h["train_loss"] for h in runs["fp32"].history]
    bf16_loss = [h["train_loss"] for h in runs["bf16"].history]
    # autocast really ran (bf16 rounding changes the losses) and stayed close to fp32
    assert fp32_loss != bf16_loss
    assert bf16_loss == pytest.approx(fp32_loss, rel=0.05)
    assert runs["bf16"].test_metrics["cross_entropy"] > 0
    assert "precision" in runs["bf16"].to_dict()["hparams"]
