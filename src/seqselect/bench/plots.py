"""PNG plots of a bench report: time and memory against length, linear and log-log.

matplotlib runs on the Agg backend (files only, no display), imported here and nowhere
in the cell processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from seqselect.bench.records import MODES, BenchCell

_METRICS = (("time_ms", "time", "time (ms)"), ("peak_mb", "memory", "peak memory (MB)"))


def _series(results: Sequence[BenchCell], mode: str, key: str) -> dict[str, tuple[list, list]]:
    """``{model: (lengths, values)}`` of the ok cells of ``mode``, sorted by length."""
    out: dict[str, tuple[list, list]] = {}
    for cell in results:
        value = getattr(cell, key)
        if cell.mode == mode and cell.ok and value is not None:
            xs, ys = out.setdefault(cell.model, ([], []))
            xs.append(cell.length)
            ys.append(value)
    return {m: tuple(zip(*sorted(zip(*xy, strict=True)), strict=True)) for m, xy in out.items()}


def plot_report(results: Sequence[BenchCell], exponents: dict[str, dict[str, dict]],
                directory: Path, batch: int | str = "?") -> list[Path]:
    """Write ``time_vs_length.png``, ``memory_vs_length.png`` and ``loglog.png`` (one
    panel per mode; the log-log legend carries each fitted exponent). Returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    modes = [m for m in MODES if any(c.mode == m for c in results)]
    if not modes:
        return []
    paths = []
    for key, name, label in _METRICS:
        fig, axes = plt.subplots(1, len(modes), figsize=(5 * len(modes), 4), squeeze=False)
        for ax, mode in zip(axes[0], modes, strict=True):
            for model, (xs, ys) in _series(results, mode, key).items():
                ax.plot(xs, ys, marker="o", label=model)
            ax.set(title=f"{mode}", xlabel="sequence length L", ylabel=label)
            ax.grid(alpha=0.3)
            ax.legend(fontsize="small")
        fig.suptitle(f"{label} vs length (batch {batch})")
        fig.tight_layout()
        path = directory / f"{name}_vs_length.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)

    fig, axes = plt.subplots(2, len(modes), figsize=(5 * len(modes), 8), squeeze=False)
    for row, (key, name, label) in enumerate(_METRICS):
        for ax, mode in zip(axes[row], modes, strict=True):
            for model, (xs, ys) in _series(results, mode, key).items():
                k = exponents.get(model, {}).get(mode, {}).get(name)
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
