"""Peak memory that follows live memory, not what the C library happens to keep."""

import subprocess
import sys
import textwrap

import pytest

# Free a 24 MB buffer, then a 12 MB one. By default glibc raises its mmap threshold to
# 24 MB after the first free, so the second buffer comes from the heap and stays resident
# after it is freed; with the exact allocator both are unmapped on free.
PROBE = textwrap.dedent("""
    import sys
    import torch
    from seqselect.bench import memory
    exact = sys.argv[1] == "exact"
    assert not exact or memory.exact_allocator()
    base = memory.current_rss_mb()
    for mb in (24, 12):
        t = torch.ones(mb * 2**20 // 4)  # touched: resident
        del t
    print(memory.current_rss_mb() - base)
""")


def _kept_mb(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt is Linux-only")
def test_exact_allocator_returns_freed_blocks_that_glibc_would_keep():
    assert _kept_mb("default") > 8  # the probe shows the problem ...
    assert _kept_mb("exact") < 4  # ... and the exact allocator removes it


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt is Linux-only")
def test_train_cells_take_their_peak_from_the_exact_first_run():
    from seqselect.bench import measure_cell

    row = measure_cell("tcn", 64, "train", batch=2, params=3_000, repeats=2, warmup=0,
                       device="cpu", count_flops=False)
    assert row.status == "ok", row
    assert "of the first run, glibc mmap threshold 128 KiB" in row.memory_method
    assert len(row.times_ms) == 2  # the memory run is not timed


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM reset is Linux-only")
def test_the_peak_of_a_cell_covers_what_it_allocates():
    """A naive attention at B=2, L=1024 materialises its (B, 1, L, L) float32 scores, 8 MiB,
    and their softmax (8 MiB more) while the scores are alive: the peak holds at least one."""
    from seqselect.bench import measure_cell

    row = measure_cell("attention-naive", 1024, "infer", batch=2, params=None, repeats=1,
                       warmup=0, device="cpu", kind="attention", impl="naive", d_model=32,
                       n_heads=1, count_flops=False)
    assert row.status == "ok", row
    scores_mb = 2 * 1024 * 1024 * 4 / 2**20
    assert row.peak_mb >= scores_mb
    assert row.peak_mb < 20 * scores_mb  # and it is this cell's, not the interpreter's
