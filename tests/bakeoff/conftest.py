"""Shared fixtures for the bake-off tests: a small real CSV dataset and one finished
bake-off (with export and report) that several tests read.

Budgets are seconds and models ~3k parameters, so the whole folder stays fast; each
trial gets one torch thread (``cpus_per_trial=1``) because the suite itself runs in
parallel (pytest -n 2) and two multi-threaded trials on two cores slow each other 10x.
"""

from __future__ import annotations

import numpy as np
import pytest


def write_wave_csv(path, n: int = 120, length: int = 16, seed: int = 0) -> None:
    """Wide-form CSV: one row per sequence, a ``label`` column (``up``/``down``) and
    ``length`` step columns; 'up' rows are rising noisy ramps, 'down' falling ones, so a
    few seconds of training separates them."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, length)
    rows = []
    for i in range(n):
        label = "up" if i % 2 == 0 else "down"
        slope = 1.0 if label == "up" else -1.0
        values = slope * t + 0.3 * rng.standard_normal(length)
        rows.append([label, *(f"{v:.5f}" for v in values)])
    header = ["label", *(f"t{k}" for k in range(length))]
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")


@pytest.fixture(scope="session")
def wave_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "waves.csv"
    write_wave_csv(path)
    return path


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory, wave_csv):
    """One small bake-off on the CSV: 2 models x 2 seeds, 6 s, exported and stored."""
    from seqselect import run_bakeoff

    root = tmp_path_factory.mktemp("bakeoff")
    store = root / "runs.db"
    result = run_bakeoff(
        str(wave_csv),
        target="label",
        models="cnn1d,gru",
        budget="6s",
        trim_to_budget=False,  # seed counts are asserted; budget_fit has its own tests
        seeds=2,
        params=3000,
        cpus_per_trial=1,
        store=store,
        run="waves",
        export=root / "model",
    )
    return {"result": result, "store": store, "root": root, "csv": wave_csv}
