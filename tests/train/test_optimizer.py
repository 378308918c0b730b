"""make_optimizer(): the four rules, tagged groups, unknown names refused."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqselect.models.optim import tag_parameter
from seqselect.train.optimizer import OPTIMIZERS, make_optimizer


@pytest.mark.parametrize(
    ("name", "kind"),
    [("adamw", torch.optim.AdamW), ("AdamW", torch.optim.AdamW), ("adam", torch.optim.Adam),
     ("rmsprop", torch.optim.RMSprop), ("sgd", torch.optim.SGD)],
)
def test_each_name_builds_its_rule(name, kind):
    optimizer = make_optimizer(name, nn.Linear(2, 2), lr=0.01, weight_decay=0.1)
    assert type(optimizer) is kind and name.lower() in OPTIMIZERS


def test_sgd_uses_momentum():
    optimizer = make_optimizer("sgd", nn.Linear(2, 2), lr=0.01, weight_decay=0.0)
    assert optimizer.param_groups[0]["momentum"] == 0.9


def test_tagged_parameters_get_their_own_group():
    layer = nn.Linear(2, 2)
    tag_parameter(layer.bias, lr=1e-4, weight_decay=0.0)
    optimizer = make_optimizer("adamw", layer, lr=1e-2, weight_decay=0.1)
    groups = optimizer.param_groups
    settings = sorted((g["lr"], g["weight_decay"], len(g["params"])) for g in groups)
    assert settings == [(1e-4, 0.0, 1), (1e-2, 0.1, 1)]


def test_an_unknown_optimizer_is_refused():
    with pytest.raises(ValueError, match="unknown optimizer 'lion'"):
        make_optimizer("lion", nn.Linear(2, 2), lr=0.01, weight_decay=0.0)
