"""Ours vs the frontier peers at equal configuration: minGRU / minLSTM vs mingru-pytorch,
xLSTM vs the ``xlstm`` package (its native PyTorch backend).

    .venv/bin/python benchmarks/frontier_peers.py                         # L = 512, 2048
    .venv/bin/python benchmarks/frontier_peers.py --pairs mingru --lengths 512 --threads 1

Install the peers without touching torch: ``pip install --no-deps mingru-pytorch xlstm``
(mingru-pytorch needs einops, already present).

* ``mingru``/``minlstm``: one layer each side, ``(B, L, D) -> (B, L, D)``, expansion 1
  (both: a bias-free ``D -> 2D`` or ``3D`` projection, log-space Heinsen scan; mingru-pytorch
  scans the whole length at once under autograd, ours in chunks of 256 steps that carry
  the state, inside one autograd Function whose backward is a closed-form reverse scan).
* ``xlstm``: the backbone each side, ``n_layers`` blocks with an sLSTM block at index 1,
  the others mLSTM; ``n_heads`` heads, up-projection 2, q/k/v block size 4, conv 4.
  Theirs: ``xLSTMBlockStack`` with the ``vanilla`` sLSTM backend (a Python loop, as ours)
  and the mLSTM's stabilised parallel form, O(L^2) (``context_length`` = L); ours: the
  chunkwise mLSTM (chunks of 64). Their sLSTM feed-forward uses proj factor 1.3 and GELU;
  parameter counts are reported, not forced equal (the blocks differ in details).

Before timing, ``agreement`` checks that the two sides compute the same function: minGRU
and minLSTM with the peer's weights copied into ours (float64), and our chunkwise mLSTM
kernel against xlstm's ``parallel_stabilized_simple`` (float64, its eps set to 0).

Forward + backward of ``out.sum()``, dropout off, timed alternately in one process
(``_timing.py``): A, B, A, B, ..., median after warm-up; ratio = ours / theirs (below 1:
ours is faster). Timings are noisy on a shared machine; the command and threads print.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))

from _timing import environment, forward_backward, time_alternating
from peers import _BackboneOnly
from seqselect.models.mingru import MinRNNConfig, MinRNNLayer
from seqselect.models.xlstm import XLSTMConfig, mlstm_chunkwise, xlstm_backbone

PAIRS = ("mingru", "minlstm", "xlstm")


def min_rnn_pair(kind: str, d_model: int) -> tuple[nn.Module, nn.Module]:
    from minGRU_pytorch.minGRU import minGRU
    from minGRU_pytorch.minLSTM import minLSTM

    ours = MinRNNLayer(kind, MinRNNConfig(d_model=d_model, expand=1))
    theirs = (minGRU if kind == "mingru" else minLSTM)(d_model, expansion_factor=1.0)
    return ours, theirs


def xlstm_pair(d_model: int, n_layers: int, n_heads: int, length: int):
    from xlstm import (
        FeedForwardConfig,
        mLSTMBlockConfig,
        mLSTMLayerConfig,
        sLSTMBlockConfig,
        sLSTMLayerConfig,
        xLSTMBlockStack,
        xLSTMBlockStackConfig,
    )

    ours = xlstm_backbone(XLSTMConfig(d_model=d_model, n_layers=n_layers, n_heads=n_heads,
                                     slstm_at=(1,), dropout=0.0))
    cfg = xLSTMBlockStackConfig(
        mlstm_block=mLSTMBlockConfig(mlstm=mLSTMLayerConfig(
            conv1d_kernel_size=4, qkv_proj_blocksize=4, num_heads=n_heads)),
        slstm_block=sLSTMBlockConfig(
            slstm=sLSTMLayerConfig(backend="vanilla", num_heads=n_heads, conv1d_kernel_size=0),
            feedforward=FeedForwardConfig(proj_factor=1.3, act_fn="gelu")),
        context_length=length, num_blocks=n_layers, embedding_dim=d_model, slstm_at=[1],
    )
    return _BackboneOnly(ours), xLSTMBlockStack(cfg)


def agreement(d_model: int, length: int = 300) -> dict[str, float]:
    """Max |ours - theirs| on one random input, float64, with shared weights."""
    from xlstm.blocks.mlstm.backends import parallel_stabilized_simple

    torch.manual_seed(0)
    out = {}
    x = torch.randn(2, length, d_model, dtype=torch.float64)
    for kind in ("mingru", "minlstm"):
        ours, theirs = (m.double() for m in min_rnn_pair(kind, d_model))
        # Theirs stacks [candidate, gate(s)]; ours [gate(s), candidate].
        w = next(theirs.parameters()).detach()
        with torch.no_grad():
            ours.in_proj.weight.copy_(torch.cat([w[d_model:], w[:d_model]]))
            out[kind] = (ours(x) - theirs(x)).abs().max().item()
    q, k, v = (torch.randn(2, 2, length, 16, dtype=torch.float64) for _ in range(3))
    pre_i, pre_f = (3 * torch.randn(2, 2, length, dtype=torch.float64) for _ in range(2))
    theirs = parallel_stabilized_simple(q, k, v, pre_i[..., None], pre_f[..., None], eps=0.0)
    ours = mlstm_chunkwise(q, k, v, pre_i, pre_f, chunk=64)
    out["mlstm kernel"] = (ours - theirs).abs().max().item()
    return out


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def run(args) -> list[dict]:
    lengths = [int(n) for n in args.lengths.split(",")]
    rows = []
    for pair in args.pairs.split(","):
        for L in lengths:
            torch.manual_seed(0)
            if pair == "xlstm":
                ours, theirs = xlstm_pair(args.d_model, args.layers, args.heads, L)
            else:
                ours, theirs = min_rnn_pair(pair, args.d_model)
            x = torch.randn(args.batch, L, args.d_model)
            ms = time_alternating(
                {"ours": forward_backward(ours.train(), x),
                 "theirs": forward_backward(theirs.train(), x)},
                repeats=args.repeats, warmup=args.warmup,
            )
            rows.append({
                "pair": pair, "length": L, "batch": args.batch, "d_model": args.d_model,
                "load_avg_1min": round(os.getloadavg()[0], 2),
                "ours_ms": round(ms["ours"], 2), "theirs_ms": round(ms["theirs"], 2),
                "ratio": round(ms["ours"] / ms["theirs"], 3),
                "ours_params": _count(ours), "theirs_params": _count(theirs),
            })
            r = rows[-1]
            print(f"{pair:<8} L={L:>5}  ours {r['ours_ms']:>9.2f} ms  theirs "
                  f"{r['theirs_ms']:>9.2f} ms  ratio {r['ratio']:.3f}  params "
                  f"{r['ours_params']} vs {r['theirs_params']}  load {r['load_avg_1min']}",
                  flush=True)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", default=",".join(PAIRS))
    p.add_argument("--lengths", default="512,2048")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", dest="json_path", default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    agree = agreement(args.d_model)
    print("max |ours - theirs| (float64, shared weights): "
          + ", ".join(f"{k} {v:.2e}" for k, v in agree.items()), flush=True)
    rows = run(args)
    print(f"\ncommand: {' '.join(sys.argv)}  ({environment()})")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(
            {"settings": vars(args), "environment": environment(), "agreement": agree,
             "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
