"""``seqselect bench`` (speed, memory, FLOPs, scaling on this machine) and
``seqselect verify-claims`` (the guide's numbers, re-measured)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.table import Table

from seqselect.bench.judge import BUSY_LOAD
from seqselect.bench.records import MODES
from seqselect.cli._app import command, console, err_console
from seqselect.errors import SeqSelectError
from seqselect.formatting import format_compact

_STATUS_STYLE = {"ok": "green", "oom": "red", "timeout": "yellow", "error": "red",
                 "skipped": "yellow", "unsupported": "dim"}
_VERDICT_STYLE = {"holds": "green", "does-not-hold": "red", "inconclusive": "yellow"}


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _parse_overrides(items: list[str]) -> dict[str, dict[str, Any]]:
    """``["longformer.window=64", ...]`` -> ``{"longformer": {"window": 64}}``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        model, dot, field = key.partition(".")
        if not (sep and dot and model and field):
            raise SeqSelectError(f"--override must look like MODEL.FIELD=VALUE, got {item!r}")
        out.setdefault(model, {})[field] = _parse_value(value)
    return out


def _fixed(v: float | None, digits: int = 2) -> str:
    """``v`` with ``digits`` decimals; ``-`` when missing (None or NaN)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.{digits}f}"


def _write_json(payload: Any, target: str) -> None:
    text = json.dumps(payload, indent=2, default=str) + "\n"
    if target == "-":
        sys.stdout.write(text)
    else:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(text)


def _params_text(params: int | None) -> str:
    """The title's parameter budget: ``100,000``, or ``default`` (each model's own width)."""
    return f"{params:,}" if params else "default"


def render_bench(report) -> None:
    """The results table (absolute numbers and the guide's view, LSTM = 100%) and the
    fitted exponents."""
    s = report.settings
    env = report.environment
    table = Table(
        title=f"seqselect bench: batch {s.get('batch')}, params {_params_text(s.get('params'))}, "
        f"median of {s.get('repeats')} after {s.get('warmup')} warm-up",
        caption=f"{env.get('device')} · {env.get('cpu')} · {env.get('threads')} threads · "
        f"torch {env.get('torch')}. vs LSTM: time as % of LSTM's at the same L and mode "
        "(the guide's view). stream: per-step latency.",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 0),
    )
    table.add_column("model", no_wrap=True)
    table.add_column("mode", no_wrap=True)
    # the real-time factor only when --sample-rate gave the stream cells an audio rate
    rtf = any(cell.rtf is not None for cell in report.results)
    for col in ("L", "params", "ms", "vs LSTM", "peak MB", "GFLOP", *(("RTF",) if rtf else ())):
        table.add_column(col, justify="right", no_wrap=True)
    if rtf:
        table.caption += (f" RTF: stream processing time / audio duration at "
                          f"{s.get('sample_rate'):,} Hz (below 1: faster than real time).")
    table.add_column("status", min_width=6)
    for cell in report.results:
        status = cell.status
        note = status if status == "ok" else f"{status}: {(cell.error or '')[:60]}"
        rel = cell.relative_pct
        table.add_row(
            cell.model, cell.mode, str(cell.length),
            f"{cell.params / 1000:,.0f}k" if cell.params else "-",
            format_compact(cell.time_ms),
            f"{rel:.0f}%" if rel is not None else "-",
            format_compact(cell.peak_mb),
            format_compact(cell.flops / 1e9 if cell.flops else None),
            *((format_compact(cell.rtf),) if rtf else ()),
            f"[{_STATUS_STYLE.get(status, 'white')}]{note}[/]",
        )
    console.print(table)
    exps = Table(title="Scaling exponents (log-log slope in L: 1 = linear, 2 = quadratic)")
    for col in ("model", "mode", "time", "memory", "FLOPs"):
        exps.add_column(col, justify="left" if col in ("model", "mode") else "right")
    for model, by_mode in report.exponents.items():
        for mode, e in by_mode.items():
            exps.add_row(model, mode, _fixed(e.get("time")), _fixed(e.get("memory")),
                         _fixed(e.get("flops")))
    console.print(exps)
    loads = [c.load_avg for c in report.results if c.load_avg is not None]
    cpus = env.get("cpu_count") or 1
    if loads and max(loads) > BUSY_LOAD * cpus:
        console.print(
            f"[yellow]warning:[/] the machine was busy during the run (load average up to "
            f"{max(loads):.1f} on {cpus} CPUs): other work competed for the cores, so the "
            "timings are unreliable; memory and FLOPs are not affected."
        )


@command("bench")
def bench_command(
    models: str = typer.Option("lstm,tcn,transformer", help="Comma-separated model names."),
    lengths: str = typer.Option("256,1024", help="Comma-separated sequence lengths."),
    batch: int = typer.Option(8, help="Batch size, the same for every cell."),
    params: int = typer.Option(100_000, help="Parameter budget every model's width is matched "
                               "to (±10%); 0 keeps each model's default width."),
    modes: str = typer.Option("train,infer", help=f"Any of {', '.join(MODES)}."),
    repeats: int = typer.Option(5, help="Timed repeats per cell (the median is reported)."),
    warmup: int = typer.Option(2, help="Untimed warm-up runs per cell."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    threads: int = typer.Option(None, help="Torch threads per cell (default: torch's)."),
    timeout: float = typer.Option(300.0, help="Seconds per cell before it is recorded as timeout."),
    override: list[str] = typer.Option(None, "--override", help="MODEL.FIELD=VALUE, e.g. "
                                       "longformer.window=64 (repeatable)."),
    causal: bool = typer.Option(False, help="Build train/infer models causally."),
    memory_check: bool = typer.Option(True, help="Skip cells whose estimate exceeds free memory."),
    flops: bool = typer.Option(True, help="Count FLOPs (one more pass per cell)."),
    sample_rate: int = typer.Option(None, "--sample-rate", min=1, help="Hz of the audio a "
                                    "stream stands for (one sample per step): stream cells "
                                    "then report the real-time factor, RTF = processing time "
                                    "/ audio duration; spectrogram models are built for it."),
    json_out: str = typer.Option(None, "--json", metavar="FILE", help="Write the JSON report "
                                 "('-': print it on stdout instead of the table)."),
    csv_out: str = typer.Option(None, "--csv", metavar="FILE", help="Write the rows as CSV."),
    plots: str = typer.Option(None, "--plots", metavar="DIR", help="Write PNG plots here."),
) -> None:
    """Measure training step time, inference latency, streaming step latency, peak memory
    and FLOPs for each model x length x mode, each cell in a fresh process, and fit the
    scaling exponents."""
    from seqselect.bench import run_bench

    report = run_bench(
        _split(models), [int(n) for n in _split(lengths)], batch=batch,
        params=params or None, modes=_split(modes), repeats=repeats, warmup=warmup,
        device=device, threads=threads, timeout_s=timeout,
        overrides=_parse_overrides(override or []), causal=causal,
        progress=sys.stderr.isatty(), memory_check=memory_check, count_flops=flops,
        sample_rate=sample_rate,
    )
    if json_out:
        _write_json(report.to_dict(), json_out)
    if json_out != "-":
        render_bench(report)
    out = err_console if json_out == "-" else console
    if csv_out:
        out.print(f"CSV: {report.to_csv(csv_out)}")
    if plots:
        for path in report.plot(plots):
            out.print(f"plot: {path}")
    if json_out and json_out != "-":
        out.print(f"JSON: {json_out}")


@command("verify-claims")
def verify_claims_command(
    quick: bool = typer.Option(False, "--quick", help="Scaled-down lengths and batch (minutes, "
                               "not the guide's settings; the output says so)."),
    only: str = typer.Option(None, help="Comma-separated claim ids (default: all)."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    threads: int = typer.Option(None, help="Torch threads per cell."),
    timeout: float = typer.Option(None, help="Seconds per cell (default 1200, quick 180)."),
    json_out: str = typer.Option(None, "--json", metavar="FILE", help="Write the verdicts as "
                                 "JSON ('-': stdout)."),
    markdown: str = typer.Option(None, "--markdown", metavar="FILE",
                                 help="Write a Markdown report."),
    list_only: bool = typer.Option(False, "--list", help="List the claims and how each is "
                                   "measured; run nothing."),
    cache: str = typer.Option(None, metavar="FILE", help="Keep finished cells in this JSON-lines "
                              "file; run again with it to resume a stopped run."),
) -> None:
    """Re-measure every quantitative claim of the guide on this machine and say which hold."""
    from seqselect.bench.claims import load_claims
    from seqselect.bench.judge import describe_measure, format_measured
    from seqselect.bench.verify import verify_claims

    if list_only:
        data = load_claims()
        table = Table(title=f"{len(data['claims'])} quantitative claims of the guide")
        table.add_column("id", no_wrap=True)
        table.add_column("guide")
        table.add_column("measured as")
        for c in data["claims"]:
            table.add_row(c["id"], c["guide_text"], describe_measure(c["measure"]))
        console.print(table)
        return
    report = verify_claims(quick=quick, device=device, threads=threads,
                           only=_split(only) if only else None,
                           progress=sys.stderr.isatty(), timeout_s=timeout, cache=cache)
    if json_out:
        _write_json(report.to_dict(), json_out)
    if markdown:
        Path(markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(markdown).write_text(report.to_markdown())
    if json_out == "-":
        return
    console.print(f"[bold]Settings:[/] {report.settings['description']}")
    console.print(f"[dim]{report.settings['why_params']}[/]")
    table = Table(title="The guide's claims, measured on this machine", show_lines=True)
    for col, ratio in (("claim", 3), ("guide", 1), ("measured", 1), ("verdict", 1), ("why", 5)):
        table.add_column(col, ratio=ratio)
    for c in report.claims:
        style = _VERDICT_STYLE[c["verdict"]]
        table.add_row(c["text"], c["guide_text"], format_measured(c),
                      f"[{style}]{c['verdict']}[/]", c["why"])
    console.print(table)
    n = report.counts()
    console.print(f"{n['holds']} hold, {n['does-not-hold']} do not hold, "
                  f"{n['inconclusive']} inconclusive.")
