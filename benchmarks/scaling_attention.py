"""How time and memory grow with length: dense Transformer vs the four efficient ones.

    .venv/bin/python benchmarks/scaling_attention.py                   # L = 1K .. 16K
    .venv/bin/python benchmarks/scaling_attention.py --lengths 1024,2048 --json out.json

Every cell (model x length) is one forward + backward (+ AdamW step) of the whole zoo
model, run by ``seqselect.bench.measure_cell`` in its own subprocess: the peak-memory
figure is that process's peak RSS growth after model and data exist (activation memory),
and a time-out or out-of-memory is a recorded result, not a crash. All models share
width, depth, heads and batch; each keeps its own attention defaults (window, block,
random blocks, k, features) unless overridden.

Fitted log-log exponents are printed over all lengths and over 2K..8K, with the targets
(issue 3): every sparse model has memory exponent <= 1.15 and time exponent <= 1.2
between 2K and 8K, and is faster than full attention at 8K. Timings are noisy on a
shared machine: read them with the exact command and the environment that is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from seqselect.bench import fit_exponent, measure_cell
from seqselect.models import model_card

MODELS = ("transformer", "longformer", "bigbird", "linformer", "performer")
SPARSE = MODELS[1:]
TARGET_MEMORY, TARGET_TIME = 1.15, 1.2


def run(args) -> dict:
    lengths = sorted(int(n) for n in args.lengths.split(","))
    models = args.models.split(",")
    rows = []
    for name in models:
        overrides = dict(d_model=args.d_model, n_layers=args.layers, n_heads=args.heads,
                         dropout=0.0)
        if "max_len" in model_card(name).accepts:
            overrides["max_len"] = max(lengths)  # one Linformer for every length
        overrides.update(json.loads(args.overrides).get(name, {}))
        for n in lengths:
            row = measure_cell(name, n, "train", batch=args.batch, params=None,
                               repeats=args.repeats, warmup=args.warmup, device="cpu",
                               threads=args.threads, timeout_s=args.timeout,
                               d_input=args.d_input, overrides=overrides).to_dict()
            row.pop("times_ms", None)
            rows.append(row)
            print(f"{name:<12} L={n:>6}  {row['status']:<8} time {_fmt(row.get('time_ms'))} ms"
                  f"  peak +{_fmt(row.get('peak_mb'))} MB", flush=True)
    return {"settings": vars(args), "rows": rows, "summary": summarize(rows, lengths)}


def _fmt(x) -> str:
    return "      -" if x is None else f"{x:9.1f}"


def summarize(rows: list[dict], lengths: list[int]) -> dict:
    out = {}
    by_model: dict[str, list[dict]] = {}
    for r in rows:
        by_model.setdefault(r["model"], []).append(r)
    dense8k = next((r["time_ms"] for r in rows if r["model"] == "transformer"
                    and r["length"] == 8192 and r["status"] == "ok"), None)
    for name, rs in by_model.items():
        ok = [r for r in rs if r["status"] == "ok"]
        mid = [r for r in ok if 2048 <= r["length"] <= 8192]
        t8k = next((r["time_ms"] for r in ok if r["length"] == 8192), None)
        s = {
            "time_exp_all": fit_exponent([r["length"] for r in ok], [r["time_ms"] for r in ok]),
            "mem_exp_all": fit_exponent([r["length"] for r in ok], [r["peak_mb"] for r in ok]),
            "time_exp_2k_8k": fit_exponent([r["length"] for r in mid], [r["time_ms"] for r in mid]),
            "mem_exp_2k_8k": fit_exponent([r["length"] for r in mid], [r["peak_mb"] for r in mid]),
            "speedup_vs_dense_8k": (dense8k / t8k) if dense8k and t8k else None,
        }
        if name in SPARSE:
            s["meets_targets"] = bool(
                s["mem_exp_2k_8k"] <= TARGET_MEMORY and s["time_exp_2k_8k"] <= TARGET_TIME
                and (s["speedup_vs_dense_8k"] or 0) > 1.0
            )
        out[name] = s
    return out


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--lengths", default="1024,2048,4096,8192,16384")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--d-input", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per cell")
    p.add_argument("--overrides", default="{}",
                   help='JSON per model, e.g. \'{"longformer": {"window": 64}}\'')
    p.add_argument("--json", dest="json_path", default=None)
    args = p.parse_args()
    result = run(args)
    print(f"\n{'model':<12} {'time k':>7} {'mem k':>7} {'time k 2-8K':>12} {'mem k 2-8K':>11}"
          f" {'x dense 8K':>11}  targets")
    for name, s in result["summary"].items():
        speed = s["speedup_vs_dense_8k"]
        verdict = {True: "met", False: "MISSED"}.get(s.get("meets_targets"), "")
        print(f"{name:<12} {s['time_exp_all']:7.2f} {s['mem_exp_all']:7.2f} "
              f"{s['time_exp_2k_8k']:12.2f} {s['mem_exp_2k_8k']:11.2f} "
              f"{'-' if speed is None else f'{speed:.2f}':>11}  {verdict}")
    print(f"\ncommand: {' '.join(sys.argv)}")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
