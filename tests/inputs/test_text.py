"""The text pipeline: a tokenizer trained on training texts only, encoding, masks."""

from __future__ import annotations

import pytest
import torch

from seqselect.errors import SeqSelectError
from seqselect.inputs.text import KINDS, UNK, TextPipeline, default_vocab_size, train_pipeline

TRAIN = ["the cat sat on the mat", "a dog ran in the park", "the cat and the dog"] * 4


@pytest.mark.parametrize("kind", ["wordpiece", "bpe"])
def test_a_word_seen_only_outside_training_is_unknown(kind):
    pipe = train_pipeline(TRAIN, kind=kind, vocab_size=60)
    tok = pipe.tokenizer()
    assert tok.token_to_id("zebra") is None  # never learnt: it only occurs in "test"
    ids, mask = pipe.encode(["zebra"])
    assert pipe.unk_id in ids[mask].tolist()
    assert tok.token_to_id("cat") is not None and tok.token_to_id("cat") != pipe.unk_id


def test_byte_level_never_meets_an_unknown_character():
    pipe = train_pipeline(TRAIN, kind="byte", vocab_size=300, max_len=64)
    ids, mask = pipe.encode(["zebra ünïcödé ✓"])
    assert pipe.unk_id not in ids[mask].tolist()
    assert pipe.decode(ids[0][mask[0]].tolist()).strip() == "zebra ünïcödé ✓"


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_of_training_words(kind):
    pipe = train_pipeline(TRAIN, kind=kind, vocab_size=300)
    ids, mask = pipe.encode(["The cat sat on the mat"])
    assert pipe.decode(ids[0][mask[0]].tolist()).strip() == "the cat sat on the mat"


def test_masks_are_right_padded_with_pad_id_zero_and_lengths_per_text():
    pipe = train_pipeline(TRAIN, vocab_size=60)
    texts = ["the cat", "the cat sat on the mat", "dog"]
    ids, mask = pipe.encode(texts)
    alone = [pipe.encode([t])[0][0] for t in texts]
    assert ids.dtype == torch.long and mask.dtype == torch.bool
    assert ids.shape == mask.shape == (3, max(len(a) for a in alone))
    for row, single in enumerate(alone):
        n = len(single)
        assert mask[row, :n].all() and not mask[row, n:].any()
        assert torch.equal(ids[row, :n], single)
        assert (ids[row, n:] == 0).all()
    assert pipe.tokenizer().id_to_token(0) == "[PAD]"


def test_truncation_to_max_len_and_default_max_len_is_the_longest_training_text():
    pipe = train_pipeline(TRAIN, vocab_size=60)
    longest = max(len(pipe.encode([t])[0][0]) for t in TRAIN)
    assert pipe.max_len == longest
    short = train_pipeline(TRAIN, vocab_size=60, max_len=3)
    ids, mask = short.encode(["the cat sat on the mat " * 5])
    assert ids.shape == (1, 3) and mask.all()


def test_a_text_without_tokens_still_has_one_real_step():
    pipe = train_pipeline(TRAIN, vocab_size=60)
    ids, mask = pipe.encode(["   "])
    assert mask.tolist() == [[True]] and ids.tolist() == [[pipe.unk_id]]
    assert pipe.tokenizer().id_to_token(pipe.unk_id) == UNK


def test_record_round_trips_and_encodes_identically():
    pipe = train_pipeline(TRAIN, kind="bpe", vocab_size=80, lowercase=False)
    again = TextPipeline.from_dict(pipe.to_dict())
    assert again == pipe
    assert torch.equal(again.encode(["A dog sat"])[0], pipe.encode(["A dog sat"])[0])
    assert set(pipe.to_dict()) == {"kind", "vocab_size", "max_len", "lowercase",
                                   "tokenizer_json"}


def test_lowercase_is_part_of_the_tokenizer():
    lower = train_pipeline(TRAIN, vocab_size=60)
    cased = train_pipeline(TRAIN, vocab_size=60, lowercase=False)
    assert torch.equal(lower.encode(["THE CAT"])[0], lower.encode(["the cat"])[0])
    assert not torch.equal(cased.encode(["THE CAT"])[0], cased.encode(["the cat"])[0])


def test_default_vocab_size_follows_the_data_within_bounds():
    assert default_vocab_size(["a b c"]) == 500
    words = [f"w{i}" for i in range(2000)]
    assert default_vocab_size([" ".join(words)]) == 2000
    assert default_vocab_size([" ".join(f"w{i}" for i in range(40_000))]) == 30_000
    assert default_vocab_size(["Cat cat CAT"], lowercase=False) == 500


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"kind": "sentencepiece"}, "unknown tokenizer"), ({"vocab_size": 2}, "vocab_size"),
     ({"max_len": 0}, "max_len")],
)
def test_bad_settings_raise(kwargs, message):
    with pytest.raises(SeqSelectError, match=message):
        train_pipeline(TRAIN, **kwargs)
    with pytest.raises(SeqSelectError, match="no training texts"):
        train_pipeline([])
