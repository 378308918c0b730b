"""Ours vs the sparse-attention peer packages, at equal width, depth, heads and window.

    .venv/bin/python benchmarks/peers_sparse.py --length 4096 --batch 1 --d-model 64 --layers 2
    .venv/bin/python benchmarks/peers.py --families sparse  # the same rows, via the lead's script

Pairs (backbones on the same ``(B, L, D)`` input, dropout 0, pre-norm, FFN x4):

* ``longformer`` vs local-attention's ``LocalMHA`` blocks (``exact_windowsize=True``, one
  block back and one ahead, so both use the band ``|i - j| <= w``; no rotary embedding and
  no global tokens on either side, since only one side has each);
* ``linformer`` (learned projections, like the peer) vs linformer's ``Linformer``;
* ``performer`` vs performer-pytorch's ``Performer`` (same number of random features),
  non-causal, and causal (the peer's CPU fallback, ``causal_linear_attention_noncuda``).

Time: forward + backward, alternated ours/theirs in one process, median after warm-up;
ratio = ours / theirs (<= 1.0: ours is no slower). Memory: each side's peak RSS growth
over one forward + backward, in its own subprocess (so one side's allocations cannot hide
in the other's peak). Timings are noisy on a shared machine; the command is the record.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from _timing import environment, forward_backward, time_alternating
from seqselect import create_model

PAIRS = ("longformer vs local-attention", "linformer vs linformer",
         "performer vs performer-pytorch", "performer causal vs performer-pytorch causal")


class _BackboneOnly(nn.Module):
    """Our backbones take ``(h, mask)``; give them the peers' one-argument call."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.backbone(h, None)


class _LocalStack(nn.Module):
    """local-attention has no encoder for ``(B, L, D)``: its own ``LocalMHA`` (pre-norm)
    and ``FeedForward`` (pre-norm, GEGLU) in residual blocks, as its LocalTransformer does."""

    def __init__(self, d: int, depth: int, heads: int, window: int, causal: bool = False):
        super().__init__()
        from local_attention.transformer import FeedForward, LocalMHA

        self.layers = nn.ModuleList(
            nn.ModuleList([
                LocalMHA(dim=d, window_size=window, dim_head=d // heads, heads=heads,
                         causal=causal, prenorm=True, exact_windowsize=True,
                         use_rotary_pos_emb=False),
                FeedForward(d, mult=4),
            ])
            for _ in range(depth)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for attn, ff in self.layers:
            x = x + attn(x)
            x = x + ff(x)
        return x


def _ours(name: str, args, causal: bool = False, **overrides) -> nn.Module:
    model = create_model(name, d_input=args.d_model, d_output=1, d_model=args.d_model,
                         n_layers=args.layers, n_heads=args.heads, dropout=0.0,
                         causal=causal, **overrides)
    return _BackboneOnly(model.backbone)


def build_pair(label: str, args) -> tuple[nn.Module, nn.Module]:
    """``(ours, theirs)`` for one pair label."""
    d, n, h, L = args.d_model, args.layers, args.heads, args.length
    window = getattr(args, "window", 128)
    proj_len = getattr(args, "proj_len", 256)
    n_features = getattr(args, "n_features", 256)
    if label == "longformer vs local-attention":
        return (_ours("longformer", args, window=window, n_global=0, backend="eager"),
                _LocalStack(d, n, h, window))
    if label == "linformer vs linformer":
        from linformer import Linformer

        return (_ours("linformer", args, proj_len=proj_len, max_len=L, learn_proj=True),
                Linformer(d, L, n, k=proj_len, heads=h, dim_head=d // h))
    if label.startswith("performer"):
        from performer_pytorch import Performer

        causal = "causal" in label
        with contextlib.redirect_stdout(io.StringIO()):  # the peer prints its CPU fallback
            theirs = Performer(dim=d, depth=n, heads=h, dim_head=d // h, causal=causal,
                               nb_features=n_features, ff_mult=4)
        return _ours("performer", args, causal=causal, n_features=n_features), theirs
    raise ValueError(f"unknown pair {label!r}; pairs: {', '.join(PAIRS)}")


def _peak_mb(label: str, side: str, args) -> float | None:
    """Peak RSS growth (MB) of one forward + backward of one side, in a fresh process."""
    cmd = [sys.executable, __file__, "--memory-cell", f"{label}|{side}",
           "--length", str(args.length), "--batch", str(args.batch),
           "--d-model", str(args.d_model), "--layers", str(args.layers),
           "--heads", str(args.heads), "--window", str(getattr(args, "window", 128)),
           "--proj-len", str(getattr(args, "proj_len", 256)),
           "--n-features", str(getattr(args, "n_features", 256))]
    if getattr(args, "threads", None):
        cmd += ["--threads", str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("PEAK_MB "):
            return float(line.split()[1])
    return None


def _memory_cell(args) -> None:
    from seqselect.bench import memory

    label, side = args.memory_cell.split("|")
    torch.manual_seed(0)
    ours, theirs = build_pair(label, args)
    module = ours if side == "ours" else theirs
    del ours, theirs
    x = torch.randn(args.batch, args.length, args.d_model)
    run = forward_backward(module, x)
    base = memory.current_rss_mb() if memory.reset_peak_rss() else memory.peak_rss_mb()
    run()
    print(f"PEAK_MB {memory.peak_rss_mb() - base:.2f}")


def run(args) -> list[dict]:
    torch.manual_seed(0)
    x = torch.randn(args.batch, args.length, args.d_model)
    pairs = getattr(args, "sparse_pairs", None) or ",".join(PAIRS)
    rows = []
    for label in pairs.split(","):
        ours, theirs = build_pair(label, args)
        ms = time_alternating(
            {"ours": forward_backward(ours, x), "theirs": forward_backward(theirs, x)},
            repeats=args.repeats, warmup=args.warmup,
        )
        row = {
            "pair": label, "length": args.length, "batch": args.batch,
            "ours_ms": round(ms["ours"], 2), "theirs_ms": round(ms["theirs"], 2),
            "ratio": round(ms["ours"] / ms["theirs"], 3),
            "ours_params": sum(p.numel() for p in ours.parameters()),
            "theirs_params": sum(p.numel() for p in theirs.parameters()),
        }
        del ours, theirs
        if not getattr(args, "no_memory", False):
            row["ours_peak_mb"] = _peak_mb(label, "ours", args)
            row["theirs_peak_mb"] = _peak_mb(label, "theirs", args)
        rows.append(row)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--pairs", dest="sparse_pairs", default=",".join(PAIRS))
    p.add_argument("--length", type=int, default=4096)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--window", type=int, default=128)
    p.add_argument("--proj-len", type=int, default=256)
    p.add_argument("--n-features", type=int, default=256)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--json", dest="json_path", default=None)
    p.add_argument("--memory-cell", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_cell:
        _memory_cell(args)
        return
    rows = run(args)
    for r in rows:
        mem = ""
        if "ours_peak_mb" in r:
            mem = f"  peak ours {r['ours_peak_mb']} MB theirs {r['theirs_peak_mb']} MB"
        print(f"{r['pair']:<46} ours {r['ours_ms']:9.2f} ms  theirs {r['theirs_ms']:9.2f} ms  "
              f"ratio {r['ratio']:.3f}{mem}")
    print(f"command: {' '.join(sys.argv)}")
    if args.json_path:
        payload = {"environment": environment(), "rows": rows}
        Path(args.json_path).write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
