"""Two tiny CSV datasets for the study tests: rising vs falling noisy ramps (a few
seconds of training separates them), of different lengths."""

from __future__ import annotations

import numpy as np
import pytest


def write_ramps(path, n: int, length: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, length)
    lines = [",".join(["label", *(f"t{k}" for k in range(length))])]
    for i in range(n):
        slope = 1.0 if i % 2 == 0 else -1.0
        values = slope * t + 0.4 * rng.standard_normal(length)
        lines.append(",".join(["up" if slope > 0 else "down", *(f"{v:.5f}" for v in values)]))
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="session")
def two_csvs(tmp_path_factory):
    root = tmp_path_factory.mktemp("study-data")
    paths = [root / "ramps_a.csv", root / "ramps_b.csv"]
    write_ramps(paths[0], n=80, length=16, seed=1)
    write_ramps(paths[1], n=80, length=24, seed=2)
    return [str(p) for p in paths]
