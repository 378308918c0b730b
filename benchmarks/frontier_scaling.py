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

``--interleave`` times the training step in one process instead, the lengths round-robin
(L1, L2, L3, L1, L2, L3, ...; median per length), so that a change in the machine's load
hits every length alike and the fitted exponent is not one busy cell's artefact; it
measures time only (peak memory needs a process per cell). ``--flush-denormal`` (with
``--interleave``) sets ``torch.set_flush_denormal(True)``: on x86 CPUs a matmul over
subnormal floats is many times slower, and the gradients reaching early steps of a long
gated recurrence decay into that range (``prod alpha`` below ~1e-38), a hardware cost that
grows with L on top of the algorithm's (GLA at L = 4096: ``mm`` 17x slower than at 2048).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
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


def _timed_step(model, opt, x, y) -> float:
    """Milliseconds of one training step: forward, cross-entropy, backward, AdamW."""
    import torch.nn.functional as F

    start = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    opt.step()
    return 1000 * (time.perf_counter() - start)


def run_interleaved(args) -> dict:
    """Training-step time per (model, length), the lengths round-robin in this process."""
    import torch

    from seqselect.models import count_parameters, create_model

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.flush_denormal and not torch.set_flush_denormal(True):
        print("flush-denormal: not supported on this CPU; timing without it", flush=True)
    lengths = sorted(int(n) for n in args.lengths.split(","))
    per_model = json.loads(args.overrides)
    rows = []
    for name in args.models.split(","):
        torch.manual_seed(0)
        model = create_model(name, d_input=args.d_input, d_output=2, causal=True,
                             params=args.params or None,  # 0: the overrides give d_model
                             **{"dropout": 0.0, **per_model.get(name, {})})
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        data = {n: (torch.randn(args.batch, n, args.d_input), torch.randint(0, 2, (args.batch,)))
                for n in lengths}

        samples = {n: [] for n in lengths}
        load = [os.getloadavg()[0]]
        for r in range(args.warmup + args.repeats):
            for n in lengths:
                ms = _timed_step(model, opt, *data[n])
                if r >= args.warmup:
                    samples[n].append(ms)
        load.append(os.getloadavg()[0])
        for n in lengths:
            rows.append({"model": name, "length": n, "status": "ok",
                         "params": count_parameters(model), "batch": args.batch,
                         "time_ms": round(statistics.median(samples[n]), 2),
                         "times_ms": [round(t, 2) for t in samples[n]], "peak_mb": None,
                         "load_avg_1min": [round(v, 2) for v in load]})
            print(f"{name:<8} L={n:>6}  time {rows[-1]['time_ms']:9.2f} ms  "
                  f"(load {load[0]:.2f} -> {load[1]:.2f})", flush=True)
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
            "mem_exp": fit_exponent(lengths, [r["peak_mb"] for r in ok])
            if len(ok) > 1 and ok[0]["peak_mb"] is not None else None,
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
    p.add_argument("--params", type=int, default=100_000, help="0: no matching (give d_model)")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--d-input", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per cell")
    p.add_argument("--overrides", default="{}", help='JSON per model: {"mamba2": {"d_state": 64}}')
    p.add_argument("--interleave", action="store_true",
                   help="train mode in one process, lengths round-robin (time only)")
    p.add_argument("--flush-denormal", action="store_true",
                   help="with --interleave: flush subnormal floats to zero (x86 CPUs)")
    p.add_argument("--json", dest="json_path", default=None)
    args = p.parse_args()
    result = run_interleaved(args) if args.interleave else run(args)
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
