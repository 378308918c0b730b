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


@pytest.mark.parametrize("name", ["adamw", "adam"])
def test_the_fused_kernel_matches_the_per_tensor_loop(name):
    """The fused Adam(W) make_optimizer picks on CPU against torch's per-tensor loop (its
    twin): 20 steps in float64 with a tagged group, the same weights to round-off."""
    def model():
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
        tag_parameter(net[2].bias, lr=1e-3, weight_decay=0.0)
        return net

    fused_net, loop_net = model(), model()
    fused = make_optimizer(name, fused_net, lr=1e-2, weight_decay=0.1)
    assert fused.defaults["fused"] is True
    rule = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam}[name]
    params = dict(loop_net.named_parameters())
    names = _group_names(fused, fused_net)
    loop = rule([{"lr": g["lr"], "weight_decay": g["weight_decay"],
                  "params": [params[n] for n in group]}
                 for g, group in zip(fused.param_groups, names, strict=True)],
                lr=1e-2, foreach=False)
    assert not loop.defaults["fused"] and len(loop.param_groups) == 2
    x = torch.randn(16, 3, dtype=torch.float64)
    for _ in range(20):
        for net, optimizer in ((fused_net, fused), (loop_net, loop)):
            optimizer.zero_grad()
            net(x).square().mean().backward()
            optimizer.step()
    for a, b in zip(fused_net.parameters(), loop_net.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    assert not torch.equal(fused_net[0].weight, model()[0].weight)  # it did train


def _group_names(optimizer, net):
    names = {id(p): n for n, p in net.named_parameters()}
    return [[names[id(p)] for p in group["params"]] for group in optimizer.param_groups]

