"""Ours vs mambapy: the pure-PyTorch Mamba peer, at equal width, depth and state size.

    .venv/bin/python benchmarks/peers_ssm.py                              # L = 512..4096
    .venv/bin/python benchmarks/peers_ssm.py --lengths 1024 --threads 1 --json out.json
    .venv/bin/python benchmarks/peers.py --families ssm                   # via the lead's runner

Both sides are the backbone only (a stack of residual RMSNorm + Mamba mixer blocks with
expand 2, d_conv 4, dt_rank ceil(D/16), d_state N) on the same ``(B, L, D)`` input;
forward + backward, timed alternately in one process (``_timing.py``), median after
warm-up; ratio = ours / theirs (below 1.0: ours is faster). The target (issue 4) is a
ratio of at most 1.0. mambapy's scan is a Blelloch parallel scan over (B, L, E, N)
tensors; ours is a chunked blocked scan with a hand-written backward that recomputes
states per chunk (``seqselect.models.mamba``). Timings are noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))

from _timing import environment, forward_backward, time_alternating
from peers import _BackboneOnly
from seqselect import create_model


def mamba_pair(d_model: int, n_layers: int, d_state: int) -> tuple[nn.Module, nn.Module]:
    from mambapy.mamba import Mamba, MambaConfig

    ours = create_model("mamba", d_input=d_model, d_output=1, d_model=d_model,
                        n_layers=n_layers, d_state=d_state, dropout=0.0).backbone
    theirs = Mamba(MambaConfig(d_model=d_model, n_layers=n_layers, d_state=d_state,
                               expand_factor=2, d_conv=4))
    return _BackboneOnly(ours), theirs


def run(args) -> list[dict]:
    """Rows ``{pair, length, batch, ours_ms, theirs_ms, ratio, ours_params, theirs_params}``.

    Reads ``args.length`` (or ``args.lengths``, comma-separated), ``batch``, ``d_model``,
    ``layers``, ``repeats``, ``warmup`` and ``d_state`` (default 16).
    """
    lengths = [int(n) for n in str(getattr(args, "lengths", None) or args.length).split(",")]
    d_state = getattr(args, "d_state", 16)
    torch.manual_seed(0)
    ours, theirs = mamba_pair(args.d_model, args.layers, d_state)
    rows = []
    for L in lengths:
        x = torch.randn(args.batch, L, args.d_model)
        ms = time_alternating(
            {"ours": forward_backward(ours, x), "theirs": forward_backward(theirs, x)},
            repeats=args.repeats, warmup=args.warmup,
        )
        rows.append({
            "pair": f"mamba vs mambapy (N={d_state})", "length": L, "batch": args.batch,
            "ours_ms": round(ms["ours"], 2), "theirs_ms": round(ms["theirs"], 2),
            "ratio": round(ms["ours"] / ms["theirs"], 3),
            "ours_params": sum(p.numel() for p in ours.parameters()),
            "theirs_params": sum(p.numel() for p in theirs.parameters()),
        })
    return rows


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--lengths", default="512,1024,2048,4096")
    p.add_argument("--length", type=int, default=512, help="used when --lengths is empty")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--d-state", type=int, default=16)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", dest="json_path", default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = run(args)
    for r in rows:
        print(f"{r['pair']:<30} L={r['length']:>6} B={r['batch']}  ours {r['ours_ms']:9.1f} ms  "
              f"theirs {r['theirs_ms']:9.1f} ms  ratio {r['ratio']:.3f}  "
              f"(params {r['ours_params']} vs {r['theirs_params']})")
    print(f"\ncommand: {' '.join(sys.argv)}  environment: {environment()}")
    if args.json_path:
        payload = {"environment": environment(), "rows": rows}
        Path(args.json_path).write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
