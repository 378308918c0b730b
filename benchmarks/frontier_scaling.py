"""The frontier models (Mamba-2, minGRU, minLSTM, xLSTM, GLA) against GRU/LSTM: training
time and memory across lengths, parameter-matched.

    .venv/bin/python benchmarks/frontier_scaling.py                       # L = 512, 2048
    .venv/bin/python benchmarks/frontier_scaling.py --models mingru,gru,lstm --lengths 512 \\
        --threads 1 --json out.json
    .venv/bin/python benchmarks/frontier_scaling.py --models mamba,mamba2 --lengths 2048 \
        --overrides '{"mamba": {"d_state": 64}, "mamba2": {"d_state": 64}}'   # SSD vs S6

Every cell runs in its own subprocess through ``seqselect.bench.measure_cell``: ``train``
is forward + backward + AdamW step of the whole zoo model (causal, ``--params`` parameters
by ``params=``, dropout off); peak memory is the process's peak RSS growth (activations).
``--mode stream`` times ``step()`` one input at a time: its time is the median latency of
one step, so a time exponent near 0 is a flat per-step cost. The row ``vs_gru`` is each
model's time over GRU's at the same length. ``--overrides``
sets config fields per model (e.g. equal state sizes for the Mamba-2 claim: SSD 2-8x
faster than Mamba's selective scan at equal state size, Dao & Gu 2024, on GPU). The paper's claim
(Feng et al. 2024: minGRU 175x faster to train than GRU at L = 512) is on a GPU, where
the GRU loop cannot use the width of the device; on a CPU both sides are bounded by the
same cores, so expect a much smaller ratio. Timings are noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from seqselect.bench import fit_exponent, measure_cell

MODELS = ("mamba2", "mingru", "minlstm", "xlstm", "gla", "gru", "lstm")


def run(args) -> dict:
    models = args.models.split(",")
    lengths = sorted(int(n) for n in args.lengths.split(","))
    rows = []
    per_model = json.loads(args.overrides)
    for name in models:
        overrides = {"dropout": 0.0, **per_model.get(name, {})}
        for n in lengths:
            row = measure_cell(name, n, args.mode, batch=args.batch, params=args.params,
                               repeats=args.repeats, warmup=args.warmup, device="cpu",
                               threads=args.threads, timeout_s=args.timeout,
                               d_input=args.d_input, overrides=overrides, causal=True,
                               count_flops=False)
            row = row.to_dict()
            row.pop("times_ms", None)
            rows.append(row)
            print(f"{name:<8} L={n:>6}  {row['status']:<8} params {row.get('params')}  "
                  f"time {_fmt(row.get('time_ms'))} ms  peak +{_fmt(row.get('peak_mb'))} MB",
                  flush=True)
    return {"settings": vars(args), "rows": rows, "summary": summarize(rows)}


def _fmt(x) -> str:
    return "      -" if x is None else f"{x:9.2f}"


def summarize(rows: list[dict]) -> dict:
    """Per model: time and memory exponents over the lengths, and the time ratio to GRU."""
    gru = {r["length"]: r["time_ms"] for r in rows if r["model"] == "gru" and r["status"] == "ok"}
    out = {}
    for name in dict.fromkeys(r["model"] for r in rows):
        ok = [r for r in rows if r["model"] == name and r["status"] == "ok"]
        lengths = [r["length"] for r in ok]
        out[name] = {
            "time_exp": fit_exponent(lengths, [r["time_ms"] for r in ok]) if len(ok) > 1 else None,
            "mem_exp": fit_exponent(lengths, [r["peak_mb"] for r in ok]) if len(ok) > 1 else None,
            "vs_gru": {r["length"]: round(r["time_ms"] / gru[r["length"]], 3)
                       for r in ok if r["length"] in gru},
        }
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--lengths", default="512,2048")
    p.add_argument("--mode", default="train", choices=("train", "infer", "stream"),
                   help="stream: the median latency of one step() (flat: exponent ~0)")
    p.add_argument("--params", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--d-input", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per cell")
    p.add_argument("--overrides", default="{}", help='JSON per model: {"mamba2": {"d_state": 64}}')
    p.add_argument("--json", dest="json_path", default=None)
    args = p.parse_args()
    result = run(args)
    print(f"\n{'model':<8} {'time k':>7} {'mem k':>7}  time / gru's")
    for name, s in result["summary"].items():
        time_k = "-" if s["time_exp"] is None else f"{s['time_exp']:.2f}"
        mem_k = "-" if s["mem_exp"] is None else f"{s['mem_exp']:.2f}"
        ratios = "  ".join(f"L={n}: {v:.3g}" for n, v in s["vs_gru"].items())
        print(f"{name:<8} {time_k:>7} {mem_k:>7}  {ratios}")
    print(f"\ncommand: {' '.join(sys.argv)}")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
