"""Memory feasibility: the analytic estimate, the guide's formula, measured numbers."""

from __future__ import annotations

import pytest

from seqselect.advisor import estimate_memory, recommend
from seqselect.advisor.memory import calibration_ratio


def test_naive_attention_is_the_guides_formula():
    est = estimate_memory("transformer", seq_len=1000, batch_size=32)
    heads, layers = est.config["n_heads"], est.config["n_layers"]
    assert est.naive_attention_bytes == 32 * heads * 1000 * 1000 * 4 * layers
    # The guide's own example: one head, one layer, n=1000, batch 32 -> 128 MB.
    assert est.naive_attention_bytes / (heads * layers) == 128e6


def test_fused_attention_does_not_store_the_score_matrix():
    short = estimate_memory("transformer", seq_len=2500, batch_size=8)
    long = estimate_memory("transformer", seq_len=5000, batch_size=8)
    assert short.fused and long.fused
    assert long.bytes < long.naive_attention_bytes  # the L x L matrix is not counted
    assert long.bytes / short.bytes == pytest.approx(2.0, rel=0.01)  # linear in L
    assert long.naive_attention_bytes / short.naive_attention_bytes == pytest.approx(4.0)
    assert "compute still grows as L²" in long.describe()


@pytest.mark.parametrize("model", ["lstm", "tcn", "cnn1d", "longformer", "bigbird",
                                   "performer", "s4", "mamba", "mamba2", "mingru", "minlstm",
                                   "xlstm", "gla"])
def test_linear_memory_families_scale_linearly(model):
    a = estimate_memory(model, seq_len=4000, batch_size=4)
    b = estimate_memory(model, seq_len=8000, batch_size=4)
    assert b.bytes / a.bytes == pytest.approx(2.0, rel=0.05)
    assert estimate_memory(model, seq_len=4000, batch_size=8).bytes == pytest.approx(
        2 * a.bytes, rel=0.3)


def test_width_override_and_pretrained_weights():
    assert estimate_memory("lstm", 100, 8, d_model=256).bytes == pytest.approx(
        2 * estimate_memory("lstm", 100, 8, d_model=128).bytes)
    bert = estimate_memory("pretrained:bert", 128, 8)
    assert bert.bytes > 110e6 * 16  # weights, gradients and Adam state
    assert bert.config["n_layers"] == 12


def test_infeasible_candidates_move_to_avoid_with_their_estimate():
    free = recommend(data_type="time-series", seq_len=5000)
    tight = recommend(data_type="time-series", seq_len=5000, memory_gb=2.0)
    assert len(tight.names()) < len(free.names())
    moved = [c for c in tight.avoid if any("memory:" in r for r in c.reasons)]
    assert moved
    for cand in moved:
        assert cand.memory is not None and cand.memory.gb > 2.0
        assert any("more than memory_gb=2" in r and "GB" in r for r in cand.reasons)
    for cand in tight.ranked:
        assert cand.memory.gb <= 2.0


def test_no_memory_limit_on_cpu_filters_nothing():
    rec = recommend(seq_len=100_000)
    assert not any("memory:" in r for c in rec.avoid for r in c.reasons)


def test_ranked_candidates_show_their_estimate():
    rec = recommend(data_type="time-series", seq_len=300)
    for cand in rec.ranked:
        assert any(r.startswith("Memory: estimated") for r in cand.reasons)


def test_measured_numbers_replace_estimates():
    rows = [
        {"model": "longformer", "length": 5000, "batch": 32, "mode": "train",
         "peak_mb": 50_000.0, "status": "ok"},
        {"model": "bigbird", "length": 5000, "batch": 32, "mode": "train",
         "peak_mb": None, "status": "oom"},
        {"model": "performer", "length": 5000, "batch": 32, "mode": "train",
         "peak_mb": 10.0, "status": "ok"},
        {"model": "s4", "length": 4096, "batch": 32, "mode": "train",  # other length
         "peak_mb": 10.0, "status": "ok"},
        {"model": "tcn", "length": 5000, "batch": 32, "mode": "train",  # error: ignored
         "peak_mb": None, "status": "error"},
    ]
    rec = recommend(data_type="time-series", seq_len=5000, memory_gb=8, measured=rows)
    avoid = {c.model: c for c in rec.avoid}
    assert "longformer" in avoid and "bigbird" in avoid
    assert any("measured peak" in r for r in avoid["longformer"].reasons)
    assert any("measured: oom" in r for r in avoid["bigbird"].reasons)
    ranked = {c.model: c for c in rec.ranked}
    assert ranked["performer"].memory.source == "measured"
    assert ranked["s4"].memory.source == "estimate"
    assert ranked["tcn"].memory.source == "estimate"


def test_estimate_rejects_bad_sizes():
    with pytest.raises(ValueError):
        estimate_memory("lstm", 0, 32)



@pytest.mark.parametrize("model", ["transformer", "tcn", "wavenet", "mamba2", "mingru", "minlstm",
                                   "xlstm", "gla"])
def test_estimates_track_what_autograd_saves(model):
    """The per-model constants stay calibrated (the full zoo: ``calibration_ratio`` over
    ``list_models()``, see rules.json memory.about)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ratio = calibration_ratio(model, batch_size=2, seq_len=512)
    finally:
        torch.set_num_threads(threads)
    assert 1 / 1.5 < ratio < 1.5


def test_measured_memory_reads_bench_cells_and_prefers_training():
    from seqselect.advisor.memory import measured_memory
    from seqselect.bench import BenchCell

    cells = [
        BenchCell(model="tcn", length=512, batch=8, mode="infer", status="ok", peak_mb=3.0),
        BenchCell(model="tcn", length=512, batch=8, mode="train", status="ok", peak_mb=12.5),
        BenchCell(model="tcn", length=512, batch=4, mode="train", status="ok", peak_mb=1.0),
    ]
    est = measured_memory("tcn", 512, 8, cells)
    assert est.source == "measured" and est.config == {"mode": "train"}
    assert est.bytes == 12.5 * 2**20  # MiB, as the bench writes it
    # The same cells as JSON rows (a `seqselect bench --json` file) give the same answer.
    assert measured_memory("tcn", 512, 8, [c.to_dict() for c in cells]) == est
    assert measured_memory("tcn", 1024, 8, cells) is None

