"""Optimizer groups from parameter tags (``models/optim.py``)."""

from __future__ import annotations

import pytest
import torch

from seqselect.models import create_model
from seqselect.models.optim import param_groups

NAMES = ["s4d", "s4", "mamba"]


@pytest.mark.parametrize("name", NAMES)
def test_param_groups_follow_the_tags(name):
    model = create_model(name, d_input=3, d_output=2, d_model=8, n_layers=2)
    groups = param_groups(model, lr=0.01, weight_decay=0.1)
    ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())  # each exactly once
    assert (groups[0]["lr"], groups[0]["weight_decay"]) == (0.01, 0.1)
    by_param = {id(p): (g["lr"], g["weight_decay"]) for g in groups for p in g["params"]}
    for pname, p in model.named_parameters():
        leaf = pname.rsplit(".", 1)[-1]
        if name == "mamba" and leaf in ("A_log", "D") and "mixer" in pname:
            assert by_param[id(p)] == (0.01, 0.0), pname
        elif name != "mamba" and leaf in (
            "log_dt",
            "log_A_real",
            "A_imag",
            "log_w_real",
            "w_imag",
            "P",
            "B",
        ):
            assert by_param[id(p)] == (0.001, 0.0), pname  # min(0.001, lr), no decay
        else:
            assert by_param[id(p)] == (0.01, 0.1), pname
    # A base learning rate below the ceiling is never raised.
    assert max(g["lr"] for g in param_groups(model, lr=1e-4, weight_decay=0.0)) == 1e-4
    torch.optim.AdamW(groups)  # torch accepts them
