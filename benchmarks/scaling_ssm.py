"""How S4D, S4 and Mamba scale with length: training time and memory, streaming latency.

    .venv/bin/python benchmarks/scaling_ssm.py                          # L = 1K .. 16K
    .venv/bin/python benchmarks/scaling_ssm.py --models mamba --lengths 1024,2048 --json o.json

Every cell runs in its own subprocess through ``seqselect.bench.measure_cell``:

* ``train``: forward + backward + AdamW step of the whole zoo model (causal, batch 1,
  D = 64, 2 layers by default); peak memory is the process's peak RSS growth after the
  model and data exist (activation memory);
* ``stream``: the median latency of one ``step()`` while feeding L steps: it must not
  grow with L (the recurrent state has a fixed size).

Targets (issue 4): memory exponent <= 1.15 and time exponent <= 1.25 between 2K and 8K;
streaming latency flat in L (we report the ratio of the longest to the shortest length).
Timings are noisy on a shared machine: read them with the printed command and threads.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from seqselect.bench import fit_exponent, measure_cell

MODELS = ("s4d", "s4", "mamba")
TARGET_MEMORY, TARGET_TIME, TARGET_STREAM = 1.15, 1.25, 1.5


def run(args) -> dict:
    models = args.models.split(",")
    lengths = sorted(int(n) for n in args.lengths.split(","))
    stream_lengths = sorted(int(n) for n in args.stream_lengths.split(",") if n)
    rows = []
    for name in models:
        overrides = dict(d_model=args.d_model, n_layers=args.layers, dropout=0.0)
        overrides.update(json.loads(args.overrides).get(name, {}))
        cells = [("train", n) for n in lengths] + [("stream", n) for n in stream_lengths]
        for mode, n in cells:
            row = measure_cell(name, n, mode, batch=args.batch, params=None, repeats=args.repeats,
                               warmup=args.warmup, device="cpu", threads=args.threads,
                               timeout_s=args.timeout, d_input=args.d_input, overrides=overrides,
                               causal=True, count_flops=False).to_dict()
            row.pop("times_ms", None)
            rows.append(row)
            print(f"{name:<6} {mode:<6} L={n:>6}  {row['status']:<8} "
                  f"time {_fmt(row.get('time_ms'))} ms"
                  f"  peak +{_fmt(row.get('peak_mb'))} MB", flush=True)
    return {"settings": vars(args), "rows": rows, "summary": summarize(rows)}


def _fmt(x) -> str:
    return "      -" if x is None else f"{x:9.2f}"


def summarize(rows: list[dict]) -> dict:
    out = {}
    for name in dict.fromkeys(r["model"] for r in rows):
        train = [r for r in rows
                 if r["model"] == name and r["mode"] == "train" and r["status"] == "ok"]
        mid = [r for r in train if 2048 <= r["length"] <= 8192]
        stream = sorted((r for r in rows if r["model"] == name and r["mode"] == "stream"
                         and r["status"] == "ok"), key=lambda r: r["length"])

        def fit(rs, key):
            if len(rs) < 2:
                return None
            return fit_exponent([r["length"] for r in rs], [r[key] for r in rs])

        s = {
            "time_exp_all": fit(train, "time_ms"), "mem_exp_all": fit(train, "peak_mb"),
            "time_exp_2k_8k": fit(mid, "time_ms"), "mem_exp_2k_8k": fit(mid, "peak_mb"),
            "stream_ratio": (
                stream[-1]["time_ms"] / stream[0]["time_ms"] if len(stream) > 1 else None
            ),
        }
        checks = [s["time_exp_2k_8k"] is not None and s["time_exp_2k_8k"] <= TARGET_TIME,
                  s["mem_exp_2k_8k"] is not None and s["mem_exp_2k_8k"] <= TARGET_MEMORY]
        if s["stream_ratio"] is not None:
            checks.append(s["stream_ratio"] <= TARGET_STREAM)
        s["meets_targets"] = all(checks)
        out[name] = s
    return out


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--lengths", default="1024,2048,4096,8192,16384")
    p.add_argument("--stream-lengths", default="1024,4096,16384", help="empty: no stream cells")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--d-input", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per cell")
    p.add_argument("--overrides", default="{}",
                   help='JSON per model, e.g. \'{"s4": {"d_state": 32}}\'')
    p.add_argument("--json", dest="json_path", default=None)
    args = p.parse_args()
    result = run(args)

    def num(x, spec=".2f"):
        return "-" if x is None else format(x, spec)

    print(f"\n{'model':<6} {'time k':>7} {'mem k':>7} {'time k 2-8K':>12} {'mem k 2-8K':>11} "
          f"{'stream max/min':>15}  targets (time <= {TARGET_TIME}, mem <= {TARGET_MEMORY}, "
          f"stream <= {TARGET_STREAM})")
    for name, s in result["summary"].items():
        print(f"{name:<6} {num(s['time_exp_all']):>7} {num(s['mem_exp_all']):>7} "
              f"{num(s['time_exp_2k_8k']):>12} {num(s['mem_exp_2k_8k']):>11} "
              f"{num(s['stream_ratio']):>15}  {'met' if s['meets_targets'] else 'MISSED'}")
    print(f"\ncommand: {' '.join(sys.argv)}")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
