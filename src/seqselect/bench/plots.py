"""PNG plots of a bench report: time and memory against length, linear and log-log.

matplotlib runs on the Agg backend (files only, no display), imported here and nowhere
in the cell processes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seqselect.bench.harness import BenchReport

_METRICS = (("time_ms", "time", "time (ms)"), ("peak_mb", "memory", "peak memory (MB)"))


def _series(report: BenchReport, mode: str, key: str) -> dict[str, tuple[list, list]]:
    out: dict[str, tuple[list, list]] = {}
    for r in report.results:
        if r["mode"] == mode and r["status"] == "ok" and r.get(key) is not None:
            xs, ys = out.setdefault(r["model"], ([], []))
            xs.append(r["length"])
            ys.append(r[key])
    return {m: tuple(zip(*sorted(zip(*xy, strict=True)), strict=True)) for m, xy in out.items()}


def plot_report(report: BenchReport, directory: Path) -> list[Path]:
    """Write ``time_vs_length.png``, ``memory_vs_length.png`` and ``loglog.png`` (one
    panel per mode; the log-log legend carries each fitted exponent). Returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    modes = [m for m in ("train", "infer", "stream") if any(r["mode"] == m for r in report.results)]
    if not modes:
        return []
    paths = []
    for key, name, label in _METRICS:
        fig, axes = plt.subplots(1, len(modes), figsize=(5 * len(modes), 4), squeeze=False)
        for ax, mode in zip(axes[0], modes, strict=True):
            for model, (xs, ys) in _series(report, mode, key).items():
                ax.plot(xs, ys, marker="o", label=model)
            ax.set(title=f"{mode}", xlabel="sequence length L", ylabel=label)
            ax.grid(alpha=0.3)
            ax.legend(fontsize="small")
        fig.suptitle(f"{label} vs length (batch {report.settings.get('batch', '?')})")
        fig.tight_layout()
        path = directory / f"{name}_vs_length.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)

    fig, axes = plt.subplots(2, len(modes), figsize=(5 * len(modes), 8), squeeze=False)
    for row, (key, name, label) in enumerate(_METRICS):
        for ax, mode in zip(axes[row], modes, strict=True):
            for model, (xs, ys) in _series(report, mode, key).items():
                k = report.exponents.get(model, {}).get(mode, {}).get(name)
                tag = f"{model} (slope {k:.2f})" if k is not None else model
                ax.loglog(xs, ys, marker="o", label=tag)
            ax.set(title=f"{mode}: {name}", xlabel="L (log)", ylabel=f"{label} (log)")
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize="small")
    fig.suptitle("log-log: the slope is the scaling exponent (1 = linear, 2 = quadratic)")
    fig.tight_layout()
    path = directory / "loglog.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)
    return paths
