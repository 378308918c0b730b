"""The advisor gives the guide's answers: every quick-reference row, every 'Based on
answers' line of the checklist, every scenario, every decision-tree branch, every pitfall.

``expect(rec, best, alternative, avoid)``: the top pick is one of ``best``; all of
``best`` rank before anything else; the guide's ``alternative`` ranks right after them;
``avoid`` models are in the avoid list. "Sparse Transformer" is the zoo's
sparse-transformer family (models with a maximum length below L are excluded).
"""

from __future__ import annotations

import pytest

from seqselect.advisor import recommend

SPARSE = ("longformer", "bigbird", "linformer", "performer")


def expect(rec, best, alternative=(), avoid=()):
    names = rec.names()
    avoided = {c.model for c in rec.avoid}
    best = [m for m in best if m not in avoided or m in names]
    assert names, f"nothing ranked; avoid={sorted(avoided)}"
    assert names[0] in best, f"top pick {names[0]!r} not in {best}; ranked {names}"
    k = len(best)
    assert set(names[:k]) == set(best), f"expected {best} first, got {names}"
    if alternative:
        got = names[k:k + len(alternative)]
        assert set(got) == set(alternative), f"alternative {alternative} should follow the " \
            f"best {best}; ranked {names}"
    for m in avoid:
        assert m in avoided, f"{m} should be avoided; avoid={sorted(avoided)}, ranked={names}"
    for cand in rec.ranked + rec.avoid:
        assert cand.reasons, f"{cand.model} has no reasons"


# --- Summary: Quick Reference Table, one test per row ---------------------------------

QUICK_REFERENCE = {
    "short text (< 50 tokens)": (
        dict(data_type="text", seq_len=30),
        ["bilstm", "pretrained:distilbert"], ["cnn1d"], ["pretrained:bert"]),
    "long text (> 512 tokens)": (
        dict(data_type="text", seq_len=2000),
        ["longformer", "bigbird"], [], ["pretrained:bert", "transformer"]),
    "time series (< 1k steps)": (
        dict(data_type="time-series", seq_len=500),
        ["tcn", "transformer"], ["lstm"], ["rnn"]),
    "time series (> 1k steps)": (
        dict(data_type="time-series", seq_len=3000),
        [*SPARSE, "s4"], [], ["transformer"]),
    "small dataset (< 10k)": (
        dict(n_examples=5000), ["lstm", "tcn"], [], ["transformer"]),
    "large dataset (> 100k)": (
        dict(n_examples=200_000), ["transformer"], ["tcn"], ["lstm"]),
    "edge deployment": (
        dict(deployment="edge"), ["tcn", "lstm"], ["transformer"], []),
    "edge deployment, text (avoid large Transformer)": (
        dict(deployment="edge", data_type="text"),
        ["tcn", "lstm"], ["transformer"], ["pretrained:bert"]),
    "real-time inference": (
        dict(latency="realtime"), ["tcn"], ["lstm"], ["bilstm", "transformer"]),
}


@pytest.mark.parametrize("row", list(QUICK_REFERENCE))
def test_quick_reference_row(row):
    kwargs, best, alternative, avoid = QUICK_REFERENCE[row]
    expect(recommend(**kwargs), best, alternative, avoid)


# --- Decision Checklist: every 'Based on answers' line --------------------------------

CHECKLIST = {
    "language + large data -> Transformer": (
        dict(data_type="text", n_examples=200_000), ["transformer", "pretrained:bert"]),
    "language + small data -> BiLSTM or DistilBERT": (
        dict(data_type="text", n_examples=5000), ["bilstm", "pretrained:distilbert"]),
    "time series + speed -> TCN": (
        dict(data_type="time-series", speed_critical=True), ["tcn"]),
    "time series + accuracy + large data -> Transformer": (
        dict(data_type="time-series", speed_critical=False, n_examples=200_000),
        ["transformer"]),
    "very long sequences -> Sparse Transformer or S4": (
        dict(seq_len=5000), ["longformer", "bigbird"]),
    "very long sequences (> 10k) -> S4": (dict(seq_len=20_000), ["s4"]),
    "edge deployment -> TCN or LSTM": (dict(deployment="edge"), ["tcn", "lstm"]),
    "real-time latency -> TCN": (dict(latency="realtime"), ["tcn"]),
}


@pytest.mark.parametrize("line", list(CHECKLIST))
def test_checklist_line(line):
    kwargs, best = CHECKLIST[line]
    expect(recommend(**kwargs), best)


def test_very_long_sequences_rank_sparse_and_s4_first():
    names = recommend(seq_len=5000).names()
    assert set(names[:3]) <= {*SPARSE, "s4"}
    assert "s4" in names[:3]


# --- Practical Selection Guide: the three scenarios -----------------------------------

SCENARIOS = {
    # Scenario 1: natural language
    "language short, small data": (
        dict(data_type="text", seq_len=30, n_examples=5000), ["bilstm", "cnn1d"], []),
    "language short, large data": (
        dict(data_type="text", seq_len=30, n_examples=50_000), ["pretrained:distilbert"], []),
    "language short, large data, latency critical": (
        dict(data_type="text", seq_len=30, n_examples=50_000, latency="realtime"),
        ["bilstm"], ["pretrained:distilbert"]),
    "language medium": (
        dict(data_type="text", seq_len=300, n_examples=50_000),
        ["pretrained:bert"], ["transformer"]),
    "language medium, pretrained available": (
        dict(data_type="text", seq_len=300, n_examples=50_000, pretrained=True),
        ["pretrained:bert"], []),
    "language medium, no pretrained model": (
        dict(data_type="text", seq_len=300, n_examples=50_000, pretrained=False),
        ["transformer"], []),
    "language medium, small data": (
        dict(data_type="text", seq_len=300, n_examples=5000), ["pretrained:distilbert"], []),
    "language long documents": (
        dict(data_type="text", seq_len=3000, n_examples=50_000), ["longformer", "bigbird"], []),
    # Scenario 2: time series
    "time series short, fast training": (
        dict(data_type="time-series", seq_len=50, speed_critical=True), ["tcn"], []),
    "time series short, small data": (
        dict(data_type="time-series", seq_len=50, n_examples=2000), ["lstm"], []),
    "time series medium, best accuracy (> 50k)": (
        dict(data_type="time-series", seq_len=500, n_examples=100_000), ["transformer"], []),
    "time series medium, fast training": (
        dict(data_type="time-series", seq_len=500, speed_critical=True), ["tcn"], []),
    "time series medium, multivariate": (
        dict(data_type="time-series", seq_len=500, multivariate=True), ["transformer"], []),
    "time series long": (
        dict(data_type="time-series", seq_len=3000), [*SPARSE, "s4"], []),
    # Scenario 3: audio
    "audio waveform": (
        dict(data_type="audio", seq_len=16_000, multivariate=False), ["s4", "wavenet"], []),
    "audio spectrogram": (
        dict(data_type="audio", seq_len=500, multivariate=True), ["conv_transformer"], ["crnn"]),
    "audio speech recognition": (
        dict(data_type="audio", seq_len=16_000, pretrained=True),
        ["pretrained:wav2vec2", "pretrained:whisper"], []),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_scenario(scenario):
    kwargs, best, alternative = SCENARIOS[scenario]
    expect(recommend(**kwargs), best, alternative)


def test_time_series_short_keeps_lstm_as_baseline():
    names = recommend(data_type="time-series", seq_len=50).names()
    assert names[:2] == ["tcn", "lstm"]


def test_wavenet_leads_and_tcn_is_its_cheaper_relative_on_waveforms():
    rec = recommend(data_type="audio")
    assert rec.names()[0] == "wavenet"
    tcn = next(c for c in rec.ranked if c.model == "tcn")
    assert any("WaveNet is TCN-based" in r for r in tcn.reasons)


# --- Step 2: Decision tree, every branch ----------------------------------------------

DECISION_TREE = {
    "length short, language -> BiLSTM or small Transformer": (
        dict(data_type="text", seq_len=30), ["bilstm"], "transformer"),
    "length short, time series -> TCN or LSTM": (
        dict(data_type="time-series", seq_len=50), ["tcn", "lstm"], None),
    "length medium, language -> Transformer (BERT-style)": (
        dict(data_type="text", seq_len=300), ["pretrained:bert", "transformer"], None),
    "length medium, time series -> Transformer or TCN": (
        dict(data_type="time-series", seq_len=300), ["transformer", "tcn"], None),
    "length long -> Sparse Transformer (Longformer, BigBird)": (
        dict(seq_len=5000), ["longformer", "bigbird"], None),
    "length very long -> S4": (dict(seq_len=20_000), ["s4"], None),
    "language < 50k -> BiLSTM or DistilBERT": (
        dict(data_type="text", n_examples=20_000), ["bilstm", "pretrained:distilbert"], None),
    "language > 50k -> Transformer (BERT, RoBERTa)": (
        dict(data_type="text", n_examples=80_000), ["transformer", "pretrained:bert"], None),
    "time series, fast training -> TCN": (
        dict(data_type="time-series", speed_critical=True), ["tcn"], None),
    "time series, long sequences -> Transformer": (
        dict(data_type="time-series", seq_len=800), ["transformer"], None),
    "time series, multivariate -> Transformer": (
        dict(data_type="time-series", multivariate=True), ["transformer"], None),
    "audio, waveform -> WaveNet (TCN)": (dict(data_type="audio"), ["wavenet"], "tcn"),
    "audio, spectrograms -> CNN + Transformer": (
        dict(data_type="audio", multivariate=True), ["conv_transformer"], "crnn"),
    "edge device -> TCN or small LSTM": (dict(deployment="edge"), ["tcn", "lstm"], None),
    "mobile read as edge": (dict(deployment="mobile"), ["tcn", "lstm"], None),
    "real-time latency -> TCN": (dict(latency="realtime"), ["tcn"], None),
    "cloud, no constraint -> Transformer": (dict(deployment="cloud"), ["transformer"], None),
}


@pytest.mark.parametrize("branch", list(DECISION_TREE))
def test_decision_tree_branch(branch):
    kwargs, best, also_ranked = DECISION_TREE[branch]
    rec = recommend(**kwargs)
    expect(rec, best)
    if also_ranked:
        assert also_ranked in rec.names()


# --- Common pitfalls: the warning appears exactly when the situation walks into it ----

PITFALLS = {
    "Pitfall 1": (dict(data_type="time-series", n_examples=50_000),
                  dict(data_type="time-series", n_examples=5000)),
    "Pitfall 2": (dict(seq_len=5000), dict(seq_len=500)),
    "Pitfall 3": (dict(data_type="time-series", seq_len=50),
                  dict(data_type="time-series", seq_len=5000)),
    "Pitfall 4": (dict(n_examples=5000), dict(n_examples=50_000)),
    "Pitfall 5": (dict(data_type="text"), dict(data_type="text", seq_len=100)),
}


@pytest.mark.parametrize("pitfall", list(PITFALLS))
def test_pitfall_warning(pitfall):
    walks_in, stays_out = PITFALLS[pitfall]
    assert any(w.startswith(pitfall) for w in recommend(**walks_in).warnings)
    assert not any(w.startswith(pitfall) for w in recommend(**stays_out).warnings)


def test_pitfall_2_gives_the_naive_attention_size_and_the_fused_note():
    (warning,) = [w for w in recommend(seq_len=5000).warnings if w.startswith("Pitfall 2")]
    assert "GB" in warning and "B·H·L²·4" in warning
    assert "[seqselect]" in warning and "SDPA" in warning


def test_pitfall_1_not_for_edge():
    rec = recommend(data_type="text", n_examples=50_000, deployment="edge")
    assert not any(w.startswith("Pitfall 1") for w in rec.warnings)


# --- Catalog and conflicts ------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    {}, dict(data_type="time-series", seq_len=50), dict(seq_len=20_000),
    dict(data_type="text", seq_len=30, n_examples=1000, deployment="edge"),
])
def test_basic_rnn_never_ranks(kwargs):
    rec = recommend(**kwargs)
    assert "rnn" not in rec.names()
    rnn = next(c for c in rec.avoid if c.model == "rnn")
    assert any("OUTDATED" in r for r in rnn.reasons)


def test_scenario_lifts_the_quick_reference_avoid_and_says_so():
    rec = recommend(data_type="text", seq_len=30, n_examples=50_000, latency="realtime")
    bilstm = rec.ranked[0]
    assert bilstm.model == "bilstm"
    assert any("lifts those here" in r for r in bilstm.reasons)


def test_conflict_between_sections_is_a_warning():
    # Edge deployment says TCN or LSTM; the quick reference's large-dataset row says avoid
    # LSTM (plateaus). The edge rules outweigh it, so LSTM stays ranked, with a warning.
    rec = recommend(n_examples=200_000, deployment="edge")
    assert "lstm" in rec.names()
    assert any("disagrees with itself on lstm" in w for w in rec.warnings)


def test_no_pretrained_removes_pretrained_candidates():
    with_pre = recommend(data_type="text", seq_len=300, n_examples=5000)
    without = recommend(data_type="text", seq_len=300, n_examples=5000, pretrained=False)
    assert any(m.startswith("pretrained:") for m in with_pre.names())
    assert not any(m.startswith("pretrained:") for m in without.names())
    assert not any(c.model.startswith("pretrained:") for c in without.avoid)


def test_pretrained_candidates_say_how_to_use_them():
    rec = recommend(data_type="text", seq_len=300, n_examples=5000)
    cand = rec.ranked[0]
    assert cand.model == "pretrained:distilbert"
    assert cand.note and "--pretrained DIR" in cand.note and "save_pretrained" in cand.note
    assert any(r.startswith("How to use:") for r in cand.reasons)


def test_bert_past_512_tokens_is_avoided_for_its_length():
    rec = recommend(data_type="text", seq_len=2000, n_examples=5000)
    distil = next(c for c in rec.avoid if c.model == "pretrained:distilbert")
    assert any("at most 512" in r for r in distil.reasons)


def test_memory_budget_of_a_device_without_cuda_is_unlimited():
    from seqselect.advisor.engine import _device_budget_gb

    assert _device_budget_gb("cpu") is None
    assert _device_budget_gb("mps") is None


# ---- seqselect additions: small data, and the models newer than the guide -----------------
TRANSFORMERS = (*SPARSE, "transformer")


def test_small_data_outweighs_length_for_every_transformer():
    """Issue 13: a series of > 1,000 steps with 100 training examples got three sparse
    Transformers and an LSTM; the guide's 'small dataset -> LSTM/TCN, Transformer overfits'
    must win over its length rules, for sparse Transformers too."""
    rec = recommend(data_type="time-series", seq_len=5000, n_examples=100)
    names = rec.names()
    assert names[0] in ("lstm", "tcn")
    assert not set(names[:3]) <= set(TRANSFORMERS)
    for model in TRANSFORMERS:
        if model in names:
            assert names.index(model) > max(names.index("lstm"), names.index("tcn")), names
    reasons = {c.model: c.reasons for c in rec.ranked}
    assert any("[seqselect]" in r and "1,000" in r for r in reasons["longformer"])
    # Text of the same shape, and the boundary: at 1,000 examples or more the length rules
    # are back in charge (the sparse Transformers first, as the guide says for long series).
    text = recommend(data_type="text", seq_len=3000, n_examples=500).names()
    assert text[0] not in TRANSFORMERS and not set(text[:3]) <= set(TRANSFORMERS)
    assert recommend(data_type="time-series", seq_len=5000, n_examples=50_000).names()[0] in SPARSE


def _after(names, model, guide_picks):
    assert model in names, f"{model} not ranked: {names}"
    for pick in guide_picks:
        assert names.index(model) > names.index(pick), (model, pick, names)


def test_mamba2_ranks_beside_mamba_on_long_sequences():
    for chars in (dict(data_type="text", seq_len=8000),
                  dict(data_type="time-series", seq_len=20_000)):
        names = recommend(**chars).names()
        assert names.index("mamba2") == names.index("mamba") + 1, names
        _after(names, "mamba2", ["s4"] if chars["data_type"] != "text" else [])


def test_parallel_rnns_follow_lstm_without_displacing_the_guide():
    fast = recommend(data_type="time-series", seq_len=300, n_examples=5000,
                     speed_critical=True).names()
    for model in ("mingru", "minlstm"):
        _after(fast, model, ["tcn", "lstm", "transformer"])
    assert fast.index("mingru") < fast.index("minlstm")
    edge = recommend(data_type="time-series", seq_len=50, deployment="edge").names()
    for model in ("mingru", "minlstm", "xlstm"):
        _after(edge, model, ["tcn", "lstm", "transformer"])  # the guide's best + alternative


def test_xlstm_and_gla_rank_on_long_text_after_the_guides_picks():
    rec = recommend(data_type="text", seq_len=8000)
    names = rec.names()
    for model in ("xlstm", "gla"):
        _after(names, model, ["longformer", "bigbird", "s4"])
    new = [c for c in rec.ranked if c.model in ("mamba2", "xlstm", "gla")]
    for cand in new:
        marked = [r for r in cand.reasons if "[seqselect]" in r]
        assert marked and all("published-results.md" in r for r in marked), cand.reasons


# --- Audio and text shortlists (issues 14 and 15) ------------------------------------

SPOKEN_DIGITS = dict(data_type="audio", seq_len=16_000, n_examples=195, multivariate=False)


def test_raw_audio_names_wavenet_s4_and_the_spectrogram_models():
    rec = recommend(**SPOKEN_DIGITS)  # what `recommend --from audio:spoken-digits` asks
    top = rec.names()[:4]
    assert top[0] == "wavenet" and {"crnn", "s4"} <= set(top)
    assert "conv_transformer" in rec.names()
    s4 = next(c for c in rec.ranked if c.model == "s4")
    assert any("raw waveforms, 16kHz" in r for r in s4.reasons)
    crnn = next(c for c in rec.ranked if c.model == "crnn")
    assert any("log-mel spectrogram from the raw waveform" in r for r in crnn.reasons)


def test_a_plain_lstm_over_every_sample_loses_the_small_data_points_on_audio():
    audio = {c.model: c.score for c in recommend(**SPOKEN_DIGITS).ranked}
    series = {c.model: c.score for c in recommend(
        **{**SPOKEN_DIGITS, "data_type": "time-series"}).ranked}
    assert "lstm" in series and audio.get("lstm", 0) < series["lstm"]
    assert audio["crnn"] > audio.get("lstm", 0)


@pytest.mark.parametrize("length, names", [
    (30, ["bilstm", "cnn1d"]),
    (300, ["pretrained:distilbert"]),
    (3000, ["longformer", "bigbird", "hierarchical"]),
])
def test_text_shortlists_follow_the_guides_lengths(length, names):
    rec = recommend(data_type="text", seq_len=length, n_examples=500)
    assert set(names) <= set(rec.names()[:6]), rec.names()


def test_the_distilbert_row_names_the_pretrained_flag():
    rec = recommend(data_type="text", seq_len=300, n_examples=500)
    distil = next(c for c in rec.ranked if c.model == "pretrained:distilbert")
    assert any(r.startswith("How to use:") and "--pretrained DIR" in r for r in distil.reasons)
