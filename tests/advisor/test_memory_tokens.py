"""The token-input part of the memory estimate: the embedding table is counted."""

from __future__ import annotations

from seqselect.advisor import estimate_memory


def test_a_vocabulary_adds_its_embedding_weights_gradients_and_adam_state():
    real = estimate_memory("s4d", 4096, 1)
    tokens = estimate_memory("s4d", 4096, 1, vocab_size=30_000)
    d_model = real.config["d_model"]
    assert tokens.bytes - real.bytes == 30_000 * d_model * 16  # 4 bytes x (w, grad, m, v)


def test_the_estimate_stays_linear_in_tokens_for_long_models():
    for model in ("longformer", "bigbird", "s4", "s4d", "mamba"):
        at = [estimate_memory(model, n, 1, vocab_size=8000).bytes for n in (4096, 16384)]
        table = 8000 * estimate_memory(model, 1, 1).config["d_model"] * 16
        # activations grow 4x from 4K to 16K tokens (O(L)); the table does not grow
        assert abs((at[1] - table) / (at[0] - table) - 4.0) < 0.35, model


def test_recommend_counts_the_vocabulary_a_text_profile_brings():
    """A profile of token inputs carries its vocabulary to the advisor, whose per-model
    memory estimate then includes the embedding table (what a trial will allocate)."""
    from seqselect.advisor import characteristics_from_profile, recommend

    profile = {"length": {"p95": 2048}, "n_train": 500, "data_type": "text",
               "value_type": "tokens", "vocab_size": 30000}
    chars = characteristics_from_profile(profile)
    assert chars["vocab_size"] == 30000
    def estimates(rec):
        return {c.model: c.memory.bytes for c in rec.ranked if c.memory is not None}

    with_vocab = estimates(recommend(**chars))
    without = estimates(recommend(**{k: v for k, v in chars.items() if k != "vocab_size"}))
    zoo = [m for m in with_vocab if not m.startswith("pretrained:")]
    assert zoo and all(with_vocab[m] > without[m] for m in zoo)
