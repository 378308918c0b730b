"""The ``pretrained`` model: a local checkpoint loaded from safetensors, offline, equal to
the Hugging Face model it wraps; bad folders are refused with what is expected."""

from __future__ import annotations

import pytest
import torch

from seqselect.errors import SeqSelectError
from seqselect.models import create_model

transformers = pytest.importorskip("transformers")


def tiny_checkpoint(folder, texts, *, max_positions: int = 64, seed: int = 0):
    """A random DistilBERT-style checkpoint with a WordPiece tokenizer trained on ``texts``,
    saved as Hugging Face saves one (config.json, model.safetensors, tokenizer.json)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(
        vocab_size=300, special_tokens=special, show_progress=False))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=max_positions)
    fast.save_pretrained(folder)
    torch.manual_seed(seed)
    config = transformers.DistilBertConfig(
        vocab_size=tok.get_vocab_size(), dim=32, n_layers=1, n_heads=2, hidden_dim=64,
        max_position_embeddings=max_positions, pad_token_id=0)
    model = transformers.DistilBertModel(config)
    model.save_pretrained(folder, safe_serialization=True)
    return model.eval(), fast


TEXTS = ["the cat sat on the mat", "a dog ran in the park", "birds sing at dawn"] * 4


def test_checkpoint_features_equal_the_wrapped_model(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reference, tok = tiny_checkpoint(tmp_path, TEXTS)
    assert (tmp_path / "model.safetensors").is_file()
    assert not list(tmp_path.glob("*.bin"))  # nothing pickled to read
    model = create_model("pretrained", vocab_size=tok.vocab_size, d_output=3,
                         checkpoint=str(tmp_path)).eval()
    assert model.max_len == 64
    batch = tok(["the cat ran", "a bird sat on the dog in the park"], padding=True,
                return_tensors="pt")
    ids, mask = batch["input_ids"], batch["attention_mask"].bool()
    with torch.inference_mode():
        got = model.forward_features(ids, mask)
        want = reference(input_ids=ids, attention_mask=batch["attention_mask"]).last_hidden_state
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
        # padding never changes the real tokens' outputs (first text alone, unpadded)
        n = int(mask[0].sum())
        alone = model(ids[:1, :n])
        torch.testing.assert_close(model(ids, mask)[:1], alone, rtol=1e-5, atol=1e-5)


def test_a_folder_without_config_or_too_small_a_vocabulary_is_refused(tmp_path):
    with pytest.raises(SeqSelectError, match="no config.json"):
        create_model("pretrained", vocab_size=10, d_output=2, checkpoint=str(tmp_path))
    tiny_checkpoint(tmp_path, TEXTS)
    with pytest.raises(ValueError, match="encode the texts with its tokenizer"):
        create_model("pretrained", vocab_size=10_000, d_output=2, checkpoint=str(tmp_path))
