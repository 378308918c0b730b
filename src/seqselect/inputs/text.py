"""Text input pipeline: a Hugging Face ``tokenizers`` vocabulary trained on training texts.

Symbols: N texts, L tokens (the longest encoded text of the batch, at most ``max_len``).

:func:`train_pipeline` learns a WordPiece or BPE vocabulary (or a byte-level BPE, which
never meets an unknown character) from the **training split only**: a word seen only in
validation or test is split into known pieces or becomes ``[UNK]``, exactly as it would for
a new text at prediction time. The result is a frozen :class:`TextPipeline` that carries the
tokenizer as its JSON string, so it travels with the splits (``metadata["tokenizer"]``) and
can be saved beside exported weights as ``tokenizer.json``.

    >>> pipe = train_pipeline(["the cat sat", "a dog ran"], vocab_size=100)
    >>> ids, mask = pipe.encode(["the dog sat"])   # ids (1, L) long, mask (1, L) bool

Token id 0 is ``[PAD]`` (the padding value of ``DatasetSplits``), 1 is ``[UNK]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from seqselect.errors import SeqSelectError

#: Tokenizer models we train; ``byte`` is byte-level BPE (GPT-2 style, no unknown tokens).
KINDS = ("wordpiece", "bpe", "byte")
#: ``TextPipeline.kind`` of a checkpoint's own tokenizer (loaded, never trained).
PRETRAINED = "pretrained"
PAD, UNK = "[PAD]", "[UNK]"
#: The default vocabulary is the number of distinct training words, within these bounds:
#: below ~500 a subword vocabulary is little more than characters; above 30K (BERT's size)
#: the embedding dominates the parameter budget of the small zoo models.
MIN_VOCAB, MAX_VOCAB = 500, 30_000
#: The default maximum length: the longest training text, capped here (16K is issue 14's
#: target for long-sequence models; quadratic models refuse long inputs on their own cards).
MAX_TOKENS = 16_384


def _require_tokenizers():
    try:
        import tokenizers
    except ModuleNotFoundError:  # a third-party package, not our own code
        raise SeqSelectError(
            "text inputs need the Hugging Face tokenizers package: pip install tokenizers"
        ) from None
    return tokenizers


def default_vocab_size(texts: Sequence[str], lowercase: bool = True) -> int:
    """Distinct whitespace-separated words of ``texts``, clipped to [500, 30000]."""
    words: set[str] = set()
    for text in texts:
        words.update((text.lower() if lowercase else text).split())
    return int(min(MAX_VOCAB, max(MIN_VOCAB, len(words))))


def _build(kind: str, lowercase: bool, vocab_size: int):
    """An untrained tokenizer and its trainer for ``kind``."""
    tk = _require_tokenizers()
    from tokenizers import decoders, models, normalizers, pre_tokenizers, trainers

    special = [PAD, UNK]
    norm = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
    if kind == "wordpiece":
        tokenizer = tk.Tokenizer(models.WordPiece(unk_token=UNK))
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tokenizer.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(
            vocab_size=vocab_size, special_tokens=special, show_progress=False
        )
    elif kind == "bpe":
        tokenizer = tk.Tokenizer(models.BPE(unk_token=UNK))
        tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, special_tokens=special, show_progress=False
        )
    else:
        tokenizer = tk.Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=max(vocab_size, 256 + len(special)),
            special_tokens=special,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
    tokenizer.normalizer = normalizers.Sequence(norm)
    return tokenizer, trainer


@dataclass(frozen=True)
class TextPipeline:
    """A trained tokenizer and how it is applied: raw texts -> ``(ids, mask)``.

    ``kind`` is one of :data:`KINDS`; ``vocab_size`` the trained vocabulary (ids are
    ``0 .. vocab_size - 1``); ``max_len`` the truncation length in tokens; ``lowercase``
    whether the normaliser lowercases; ``tokenizer_json`` the tokenizer itself
    (``tokenizers.Tokenizer.to_str()``, the content of a ``tokenizer.json``).
    """

    kind: str
    vocab_size: int
    max_len: int
    lowercase: bool
    tokenizer_json: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextPipeline:
        return cls(**data)

    def tokenizer(self):
        """The ``tokenizers.Tokenizer``, truncating to ``max_len`` and without padding."""
        tk = _require_tokenizers()
        tokenizer = tk.Tokenizer.from_str(self.tokenizer_json)
        tokenizer.no_padding()
        tokenizer.enable_truncation(self.max_len)
        return tokenizer

    def token_ids(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Each text's ids ``(L_i,)`` int64, truncated to ``max_len``; never empty (a text
        with no token at all, e.g. only spaces, becomes one ``[UNK]``: a mask needs one
        real step)."""
        unk = self.unk_id
        out = []
        for enc in self.tokenizer().encode_batch(list(texts)):
            ids = np.asarray(enc.ids, dtype=np.int64)
            out.append(ids if len(ids) else np.array([unk], dtype=np.int64))
        return out

    def encode(self, texts: Sequence[str]) -> tuple[Tensor, Tensor]:
        """``ids (N, L)`` long, right-padded with 0 (``[PAD]``), and ``mask (N, L)`` bool
        (True = real token); ``L`` is the longest encoded text, at most ``max_len``."""
        seqs = self.token_ids(texts)
        length = max((len(s) for s in seqs), default=0)
        ids = torch.zeros(len(seqs), length, dtype=torch.long)
        mask = torch.zeros(len(seqs), length, dtype=torch.bool)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.from_numpy(s)
            mask[i, : len(s)] = True
        return ids, mask

    def decode(self, ids: Sequence[int]) -> str:
        """Token ids back to text (padding and special tokens dropped)."""
        return self.tokenizer().decode([int(i) for i in ids], skip_special_tokens=True)

    @property
    def unk_id(self) -> int:
        """``[UNK]``'s id (a checkpoint's tokenizer may lack it: then the padding id 0)."""
        found = self.tokenizer().token_to_id(UNK)
        return int(found) if found is not None else 0


def train_pipeline(
    train_texts: Sequence[str],
    *,
    kind: str = "wordpiece",
    vocab_size: int | None = None,
    max_len: int | None = None,
    lowercase: bool = True,
) -> TextPipeline:
    """Train a tokenizer on ``train_texts`` (the training split only) and return its pipeline.

    Args:
        train_texts: the training split's texts; never pass validation or test texts.
        kind: ``wordpiece`` (BERT's), ``bpe`` or ``byte`` (byte-level BPE).
        vocab_size: the most tokens to learn; None sizes it to the data
            (:func:`default_vocab_size`). The trained vocabulary may be smaller.
        max_len: truncation length in tokens; None takes the longest training text
            (capped at :data:`MAX_TOKENS`).
        lowercase: lowercase before tokenizing.

    Raises:
        SeqSelectError: an unknown kind, a bad size, or no training text.
    """
    if kind not in KINDS:
        raise SeqSelectError(f"unknown tokenizer {kind!r}; choose one of {', '.join(KINDS)}")
    texts = list(train_texts)
    if not texts:
        raise SeqSelectError("cannot train a tokenizer: no training texts")
    if vocab_size is None:
        vocab_size = default_vocab_size(texts, lowercase)
    if vocab_size < 3:
        raise SeqSelectError(f"vocab_size must be at least 3, got {vocab_size}")
    if max_len is not None and max_len < 1:
        raise SeqSelectError(f"max_len must be at least 1, got {max_len}")
    tokenizer, trainer = _build(kind, lowercase, vocab_size)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    if max_len is None:
        longest = max(len(e.ids) for e in tokenizer.encode_batch(texts))
        max_len = int(min(MAX_TOKENS, max(1, longest)))
    return TextPipeline(
        kind=kind,
        vocab_size=int(tokenizer.get_vocab_size()),
        max_len=int(max_len),
        lowercase=lowercase,
        tokenizer_json=tokenizer.to_str(),
    )


def checkpoint_max_positions(folder) -> int | None:
    """A checkpoint's maximum length in tokens (``config.json``'s position embeddings)."""
    import json
    from pathlib import Path

    path = Path(folder).expanduser() / "config.json"
    if not path.is_file():
        raise SeqSelectError(f"--pretrained {folder}: no config.json; a Hugging Face "
                             "checkpoint folder holds config.json, *.safetensors and "
                             "tokenizer.json")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise SeqSelectError(f"{path}: not valid JSON ({exc})") from None
    value = data.get("max_position_embeddings") or data.get("n_positions")
    return int(value) if value else None


def pretrained_pipeline(
    folder, train_texts: Sequence[str], *, max_len: int | None = None
) -> TextPipeline:
    """A checkpoint's own tokenizer (``folder/tokenizer.json``, as ``save_pretrained`` of a
    fast tokenizer writes it), truncating to the longest training text and never beyond
    the checkpoint's maximum positions (its special tokens included), nor ``max_len``.

    Raises:
        SeqSelectError: no tokenizer.json in the folder, or no training text.
    """
    from pathlib import Path

    tk = _require_tokenizers()
    path = Path(folder).expanduser() / "tokenizer.json"
    if not path.parent.is_dir():
        raise SeqSelectError(f"--pretrained {folder}: no such folder (give a local Hugging "
                             "Face checkpoint: config.json, *.safetensors, tokenizer.json)")
    if not path.is_file():
        raise SeqSelectError(
            f"--pretrained {folder}: no tokenizer.json; save the checkpoint's fast tokenizer "
            "with save_pretrained (it writes tokenizer.json) into the same folder"
        )
    max_positions = checkpoint_max_positions(folder)
    texts = list(train_texts)
    if not texts:
        raise SeqSelectError("no training texts to size the maximum length with")
    tokenizer = tk.Tokenizer.from_str(path.read_text())
    tokenizer.no_padding()
    tokenizer.no_truncation()
    limit = min(v for v in (max_positions, max_len, MAX_TOKENS) if v)
    longest = max(len(e.ids) for e in tokenizer.encode_batch(texts))
    return TextPipeline(
        kind=PRETRAINED,
        vocab_size=int(tokenizer.get_vocab_size()),
        max_len=int(max(1, min(limit, longest))),
        lowercase=False,  # the checkpoint's normaliser decides
        tokenizer_json=tokenizer.to_str(),
    )
