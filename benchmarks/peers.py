"""Ours vs the peer packages, at the same width, depth and heads, in one run.

    .venv/bin/python benchmarks/peers.py                 # classic families
    .venv/bin/python benchmarks/peers.py --families all  # + sparse and SSM peers

Classic: ``tcn`` vs pytorch-tcn, ``transformer`` vs ``torch.nn.TransformerEncoder``,
``lstm`` vs ``torch.nn.LSTM``. We compare backbones on the same ``(B, L, D)`` input —
embedding and head are one linear layer each on both sides and would only dilute the ratio.
Forward + backward, timed alternately, median after warm-up; ratio = ours / theirs
(below 1.0 means ours is faster).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from _timing import environment, forward_backward, time_alternating
from seqselect import create_model


def _ours(name: str, args, **overrides) -> nn.Module:
    model = create_model(name, d_input=args.d_model, d_output=1, d_model=args.d_model,
                         n_layers=args.layers, dropout=0.0, **overrides)
    return model.backbone


class _BackboneOnly(nn.Module):
    """Our backbones take ``(h, mask)``; give them the peers' one-argument call."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.backbone(h, None)


def classic_pairs(args) -> dict[str, tuple[nn.Module, nn.Module]]:
    from pytorch_tcn import TCN

    d, n = args.d_model, args.layers
    pairs = {
        "lstm vs torch.nn.LSTM": (
            _BackboneOnly(_ours("lstm", args)),
            nn.LSTM(d, d, num_layers=n, batch_first=True),
        ),
        "transformer vs torch.nn.TransformerEncoder": (
            _BackboneOnly(_ours("transformer", args, n_heads=args.heads)),
            nn.TransformerEncoder(
                nn.TransformerEncoderLayer(d, args.heads, 4 * d, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True),
                num_layers=n, enable_nested_tensor=False,
            ),
        ),
        "tcn vs pytorch-tcn": (
            _BackboneOnly(_ours("tcn", args, kernel_size=args.kernel_size)),
            TCN(d, [d] * n, kernel_size=args.kernel_size, dilations=[2**i for i in range(n)],
                dropout=0.0, causal=True, use_norm="weight_norm", input_shape="NLC"),
        ),
    }
    return pairs


def run(args) -> list[dict]:
    torch.manual_seed(0)
    x = torch.randn(args.batch, args.length, args.d_model)
    rows = []
    for label, (ours, theirs) in classic_pairs(args).items():
        ms = time_alternating(
            {"ours": forward_backward(ours, x), "theirs": forward_backward(theirs, x)},
            repeats=args.repeats, warmup=args.warmup,
        )
        rows.append({
            "pair": label, "length": args.length, "batch": args.batch,
            "ours_ms": round(ms["ours"], 2), "theirs_ms": round(ms["theirs"], 2),
            "ratio": round(ms["ours"] / ms["theirs"], 3),
            "ours_params": sum(p.numel() for p in ours.parameters()),
            "theirs_params": sum(p.numel() for p in theirs.parameters()),
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--families", default="classic", help="classic, sparse, ssm or all")
    parser.add_argument("--length", type=int, default=512)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--kernel-size", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", dest="json_path", default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    families = ["classic", "sparse", "ssm"] if args.families == "all" else args.families.split(",")
    rows = []
    for family in families:
        if family == "classic":
            rows += run(args)
        else:  # benchmarks/peers_sparse.py, benchmarks/peers_ssm.py
            rows += importlib.import_module(f"peers_{family}").run(args)
    for r in rows:
        print(f"{r['pair']:<48} ours {r['ours_ms']:9.2f} ms  theirs {r['theirs_ms']:9.2f} ms  "
              f"ratio {r['ratio']:.3f}")
    if args.json_path:
        payload = {"environment": environment(), "rows": rows}
        Path(args.json_path).write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
