"""A local Hugging Face checkpoint as a zoo model: ``transformers`` AutoModel + our head.

Symbols: B batch, L tokens (at most the checkpoint's maximum positions), D the encoder's
hidden size, C input channels, O outputs.

``create_model("pretrained", vocab_size=V, d_output=O, checkpoint=DIR)`` loads the encoder
of the checkpoint in ``DIR`` (``config.json`` + ``*.safetensors``; nothing is downloaded:
``local_files_only=True``, and ``use_safetensors=True`` so no pickled ``.bin`` is read) and
puts the zoo's head on its token features (mean over real tokens, or per step), so it
trains, is measured and exported like any other candidate. The token ids must come from
the checkpoint's own tokenizer (``load_dataset(..., pretrained=DIR)`` encodes the texts with
it and truncates them to the checkpoint's maximum length).

Without a checkpoint the model is a randomly initialised DistilBERT-shaped encoder
(Sanh et al. 2019) of width ``d_model``, so ``params=`` and the registry-wide contract
tests apply to the architecture; real-valued inputs ``(B, L, C)`` enter through a linear
map into the encoder's ``inputs_embeds``. A folder holding only a ``config.json`` (an
exported model's copy) builds that architecture untrained, for its weights to be loaded.

Padding: the mask is the encoder's ``attention_mask`` (padded keys get no weight) and
positions are absolute from the left, so right padding never changes real outputs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from seqselect.errors import SeqSelectError
from seqselect.models.base import Head, ModelSpec, check_input
from seqselect.models.registry import ModelCard, register_model

#: Position limit of the untrained DistilBERT shape (BERT's and DistilBERT's own).
DEFAULT_MAX_POSITIONS = 512
WEIGHT_SUFFIX = ".safetensors"


@dataclass
class PretrainedConfig:
    checkpoint: str = ""  # a local HF folder (config.json + safetensors); "" = untrained
    d_model: int = 64  # width of the untrained DistilBERT shape; a checkpoint sets its own
    n_layers: int = 2  # layers of the untrained shape (DistilBERT has 6)
    n_heads: int = 4  # attention heads of the untrained shape
    dropout: float = 0.1  # the untrained shape's dropout; a checkpoint keeps its own


def require_transformers():
    """The ``transformers`` package, or a clear message saying how to install it."""
    try:
        import transformers
    except ModuleNotFoundError:  # an optional extra, not our own code
        raise SeqSelectError(
            "pretrained checkpoints need the transformers package: "
            "pip install 'seqselect[text]' (or pip install transformers)"
        ) from None
    return transformers


def checkpoint_files(folder: str | Path) -> tuple[Path, list[Path]]:
    """``(config.json, safetensors files)`` of a local checkpoint folder.

    Raises:
        SeqSelectError: not a folder, or no config.json (naming what is expected).
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise SeqSelectError(f"--pretrained {folder}: no such folder (give a local Hugging "
                             "Face checkpoint: config.json, *.safetensors, tokenizer.json)")
    config = folder / "config.json"
    if not config.is_file():
        raise SeqSelectError(f"--pretrained {folder}: no config.json; a Hugging Face "
                             "checkpoint folder holds config.json, *.safetensors and "
                             "tokenizer.json")
    return config, sorted(folder.glob(f"*{WEIGHT_SUFFIX}"))


def max_positions(folder: str | Path) -> int | None:
    """The checkpoint's maximum input length in tokens (its position embeddings)."""
    config, _ = checkpoint_files(folder)
    data = json.loads(config.read_text())
    value = data.get("max_position_embeddings") or data.get("n_positions")
    return int(value) if value else None


def _load_encoder(folder: str) -> nn.Module:
    """The checkpoint's encoder: safetensors weights, or (config.json only) untrained."""
    tf = require_transformers()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: never the network
    _, weights = checkpoint_files(folder)
    tf.utils.logging.disable_progress_bar()  # library code logs; it draws no bars
    if weights:
        return tf.AutoModel.from_pretrained(folder, local_files_only=True, use_safetensors=True)
    config = tf.AutoConfig.from_pretrained(folder, local_files_only=True)
    return tf.AutoModel.from_config(config)


def _untrained_encoder(spec: ModelSpec, cfg: PretrainedConfig) -> nn.Module:
    tf = require_transformers()
    if cfg.d_model % cfg.n_heads:
        raise ValueError(f"d_model={cfg.d_model} must be a multiple of n_heads={cfg.n_heads}")
    config = tf.DistilBertConfig(
        vocab_size=spec.vocab_size or 1, dim=cfg.d_model, n_layers=cfg.n_layers,
        n_heads=cfg.n_heads, hidden_dim=4 * cfg.d_model, dropout=cfg.dropout,
        attention_dropout=cfg.dropout, max_position_embeddings=DEFAULT_MAX_POSITIONS,
    )
    return tf.DistilBertModel(config)


class PretrainedModel(nn.Module):
    """``x (B, L)`` ids or ``(B, L, C)`` values -> encoder -> head: ``(B, O)`` or ``(B, L, O)``."""

    def __init__(self, spec: ModelSpec, encoder: nn.Module):
        super().__init__()
        self.spec = spec
        self.encoder = encoder
        hidden = int(encoder.config.hidden_size)
        # Real-valued inputs become embeddings; token ids use the checkpoint's own.
        self.proj = None if spec.vocab_size is not None else nn.Linear(spec.d_input, hidden)
        self.head = Head(spec.task, hidden, spec.d_output, "mean")
        limit = getattr(encoder.config, "max_position_embeddings", None)
        self.max_len = int(limit) if limit else None

    @property
    def streaming(self) -> bool:
        return False  # a bidirectional encoder has no step()

    def forward_features(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Token features ``(B, L, D)``."""
        attention = None if mask is None else mask.long()  # (B, L), 1 = real token
        if self.proj is None:
            out = self.encoder(input_ids=x, attention_mask=attention)
            return out.last_hidden_state
        # Values enter as embeddings: their projection plus token 0's embedding, a learned
        # offset (so the word-embedding table the encoder owns is trained, not dead).
        words = self.encoder.get_input_embeddings()
        offset = words(x.new_zeros(x.shape[:2], dtype=torch.long))  # (B, L, D)
        out = self.encoder(inputs_embeds=self.proj(x) + offset, attention_mask=attention)
        return out.last_hidden_state

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        mask = check_input(x, mask, self.spec)
        if mask is not None:  # out-of-range ids or NaN in padding must not reach the encoder
            x = x.masked_fill(~(mask if x.dim() == 2 else mask.unsqueeze(-1)), 0)
        return self.head(self.forward_features(x, mask), mask)


@register_model(
    ModelCard(
        name="pretrained",
        family="pretrained",
        year=2019,
        time_complexity="O(L^2)",
        memory_complexity="O(L^2)",
        causal=False,
        streaming=False,
        max_len=DEFAULT_MAX_POSITIONS,
        summary="A local Hugging Face checkpoint (--pretrained DIR) fine-tuned with a head; "
        "untrained: a DistilBERT-shaped encoder.",
        paper="Sanh et al. 2019, DistilBERT, a distilled version of BERT",
    ),
    PretrainedConfig,
    width_multiple=lambda cfg: cfg.n_heads,
)
def pretrained(spec: ModelSpec, cfg: PretrainedConfig) -> PretrainedModel:
    if spec.causal:
        raise ValueError("a pretrained bidirectional encoder cannot run causally")
    if cfg.checkpoint:
        encoder = _load_encoder(cfg.checkpoint)
        vocab = int(getattr(encoder.config, "vocab_size", 0) or 0)
        if spec.vocab_size is not None and vocab and spec.vocab_size > vocab:
            raise ValueError(
                f"the data has {spec.vocab_size} token ids but the checkpoint's vocabulary "
                f"is {vocab}: encode the texts with its tokenizer (--pretrained)"
            )
    else:
        encoder = _untrained_encoder(spec, cfg)
    return PretrainedModel(spec, encoder)
