"""Analytic training-memory estimates per candidate, and the measured numbers that replace them.

Symbols: B batch, L length, D model width, H heads, N state size, E expanded width
(Mamba), T chunk length (chunkwise forms), w window (keys each side) or block size, g global
tokens, r random blocks, k projected length (Linformer), m random features (Performer).
Bytes are float32 (4 bytes); GB = 1e9 bytes.

Per layer, autograd keeps ``c`` tensors of size ``(B, L, D)`` (inputs, gates, norms,
residuals: ``c`` per model in ``rules.json``, calibrated against the bytes autograd
actually saves for the zoo's models) plus the term that sets each family apart:

=================  ==============================================  =====================
kind               extra term per layer                             in L
=================  ==============================================  =====================
dense_attention    naive: B·H·L²·4 (the guide's formula);           O(L²) naive
                   fused SDPA/FlashAttention: B·H·L·4 (logsumexp)   O(L) fused
sliding_window     B·H·L·(3w+2g)·4: blocked band, each query block  O(L·w)
                   scores 3 blocks of w keys, plus g global tokens
block_sparse       B·H·L·(w·(3+r)+2g)·4: 3 window + r random        O(L·w)
                   blocks of size w, g global tokens both ways
low_rank           B·H·L·k·4                                        O(L·k)
kernel             4·B·H·L·m·4 (query and key features, their exp)  O(L·m)
ssm_conv           FFT buffers 4·B·L·D·4 + kernel 2·D·L·4           O(L)
                   (+ S4's Cauchy terms, about 2·D·N·L bytes)
selective_scan     naive scan: states B·L·E·N·4 (E = expand·D);     O(L·N)
                   chunked scan with recomputation (the zoo's):
                   chunk-boundary states only, ~2·B·L·N·4          O(L)
chunked            t·B·L·T·W·4: the intra-chunk matrices of a       O(L·T)
                   chunkwise form (T steps per chunk) kept for
                   backward: T x T decays and scores per head
                   (Mamba-2's SSD, xLSTM's mLSTM: W = H), or the
                   T x K decays of GLA (W = H·K = expand_k·D)
linear (RNN, CNN)  none                                             O(L)
=================  ==============================================  =====================

Fused attention never stores the L×L matrix, but its compute still grows as L²
(Dao et al. 2022, FlashAttention). Pretrained models also count weights + gradients +
Adam state (16 bytes per parameter) and are assumed to run eager (naive) attention.
These are estimates: ``seqselect bench`` measures, and its rows replace them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from seqselect.advisor.rules import load_rules
from seqselect.bench.records import BenchCell

__all__ = [
    "MemoryEstimate",
    "calibration_ratio",
    "estimate_memory",
    "format_bytes",
    "measured_memory",
    "saved_activation_bytes",
]

_F32 = 4
_ADAM_BYTES_PER_PARAM = 16  # weights, gradients, Adam m and v, all float32
_CONFIG_FIELDS = ("d_model", "n_layers", "n_heads", "window", "n_global", "n_random",
                  "proj_len", "n_features", "d_state", "expand", "ff_mult", "chunked",
                  "kernel_dnl", "chunk_size", "expand_k")


@dataclass
class MemoryEstimate:
    """Peak training memory of one candidate at one length and batch.

    ``bytes`` is what feasibility is judged on: the estimate, or the measurement when
    ``source == "measured"``. ``naive_attention_bytes`` is the B·H·L²·4 score matrix the
    guide's memory analysis counts (dense attention only), whether or not it is stored;
    ``naive_scan_bytes`` the B·L·E·N states a naive selective scan would keep (Mamba).
    ``fused``: the zoo's implementation avoids that naive term.
    """

    model: str
    seq_len: int
    batch_size: int
    bytes: float
    source: str = "estimate"  # "estimate" or "measured"
    kind: str = "linear"
    fused: bool = False
    naive_attention_bytes: float | None = None
    naive_scan_bytes: float | None = None
    config: dict[str, Any] = field(default_factory=dict)
    status: str = "ok"  # a measurement's status (e.g. "oom"), "ok" for estimates

    @property
    def gb(self) -> float:
        return self.bytes / 1e9

    def describe(self) -> str:
        """One line for a reason: the number, where it comes from, the attention note."""
        if self.source == "measured":
            head = (f"measured peak {format_bytes(self.bytes)}" if self.status == "ok"
                    else f"measured: {self.status}")
            mode = self.config.get("mode") or "train"
            return f"{head} (seqselect bench, {mode}, B={self.batch_size}, L={self.seq_len})"
        cfg = self.config
        shape = f"B={self.batch_size}, L={self.seq_len}, D={cfg.get('d_model')}, " \
                f"{cfg.get('n_layers')} layers"
        text = f"estimated {format_bytes(self.bytes)} for training ({shape})"
        if self.naive_attention_bytes is not None:
            scores = format_bytes(self.naive_attention_bytes)
            if self.fused:
                text += (f"; fused SDPA does not store the {scores} of B·H·L²·4 attention "
                         "scores naive attention would, but compute still grows as L²")
            else:
                text += f", of which {scores} is the B·H·L²·4 attention-score matrix"
        if self.naive_scan_bytes is not None and self.fused:
            text += (f"; the chunked scan recomputes states instead of storing the "
                     f"{format_bytes(self.naive_scan_bytes)} of B·L·E·N states a naive "
                     "scan would")
        return text


def format_bytes(n: float) -> str:
    """Human size in decimal units, as the guide writes them (128 MB, 3.2 GB)."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


def _zoo_config(model: str) -> dict[str, Any]:
    """The registered model's config defaults ({} when the model is not registered)."""
    from seqselect.models.registry import get_entry

    try:
        cfg = get_entry(model).config_cls()
    except KeyError:  # not a zoo model (e.g. a name only the rules know)
        return {}
    return {f: getattr(cfg, f) for f in _CONFIG_FIELDS if hasattr(cfg, f)}


def _memory_profile(model: str) -> tuple[dict[str, Any], float, int | float]:
    """(memory spec with config values, tokens per input step, parameters counted)."""
    data = load_rules()
    if model.startswith("pretrained:"):
        pre = data["pretrained"][model.split(":", 1)[1]]
        spec = {"kind": "dense_attention", "c": 14 + 2 * pre["ff_mult"], "fused": False,
                **{k: pre[k] for k in ("d_model", "n_layers", "n_heads")}}
        return spec, float(pre["tokens_per_step"]), pre["params"]
    mem = data["memory"]
    spec = dict(mem["models"].get(model, mem["default"]))
    spec.update(_zoo_config(model))
    return spec, 1.0, 0


def estimate_memory(
    model: str,
    seq_len: int,
    batch_size: int = 32,
    d_model: int | None = None,
    vocab_size: int | None = None,
) -> MemoryEstimate:
    """Analytic peak training memory (activations, plus weights for pretrained models,
    plus the token embedding for token inputs).

    Args:
        model: a zoo name, or ``pretrained:<name>`` from ``rules.json``.
        seq_len: L, input steps (audio samples for the speech models, which downsample).
        batch_size: B.
        d_model: width D for every zoo model; None takes each model's config default.
        vocab_size: V for token inputs ``(B, L)`` (text): the V x D embedding table's
            weights, gradient and Adam state (16 bytes per entry) are added, since at a
            30K vocabulary they rival the activations; None for real-valued inputs.
            Its (B, L, D) lookup is among the 2·B·L·D input/output terms already counted.

    Returns:
        A :class:`MemoryEstimate`; ``naive_attention_bytes`` is B·H·L²·4 summed over layers
        for dense attention (the guide's count), whether or not the fused path stores it.
    """
    if seq_len < 1 or batch_size < 1:
        raise ValueError(f"seq_len and batch_size must be >= 1, got {seq_len}, {batch_size}")
    spec, tokens_per_step, params = _memory_profile(model)
    if d_model is not None and not model.startswith("pretrained:"):
        spec["d_model"] = d_model
    B, D, n_layers = batch_size, int(spec["d_model"]), int(spec["n_layers"])
    L = max(1, math.ceil(seq_len * tokens_per_step))  # (B, L) after any front-end stride
    H = int(spec.get("n_heads", 1))
    kind = spec["kind"]
    width = D * int(spec.get("expand", 1)) if kind == "selective_scan" else D
    per_layer = spec["c"] * B * L * width * _F32  # c tensors of (B, L, D)
    naive = scan_naive = None
    fused = bool(spec.get("fused", False))
    if kind == "dense_attention":
        naive = B * H * L * L * _F32
        per_layer += B * H * L * _F32 if fused else naive
    elif kind == "sliding_window":
        per_layer += B * H * L * (3 * spec["window"] + 2 * spec["n_global"]) * _F32
    elif kind == "block_sparse":
        keys = spec["window"] * (3 + spec["n_random"]) + 2 * spec["n_global"]
        per_layer += B * H * L * keys * _F32
    elif kind == "low_rank":
        per_layer += B * H * L * min(spec["proj_len"], L) * _F32
    elif kind == "kernel":
        per_layer += 4 * B * H * L * spec["n_features"] * _F32
    elif kind == "ssm_conv":
        # S4's NPLR kernel keeps Cauchy terms of size (D, N, L) (not per batch); S4D's
        # Vandermonde path does not: "kernel_dnl" is bytes per D·N·L element (0 for S4D).
        per_layer += 4 * B * L * D * _F32 + 2 * D * L * _F32
        per_layer += spec.get("kernel_dnl", 0) * D * spec["d_state"] * L
    elif kind == "selective_scan":
        scan_naive = B * L * width * spec["d_state"] * _F32
        fused = bool(spec.get("chunked", False))
        per_layer += 2 * B * L * spec["d_state"] * _F32 if fused else scan_naive
    elif kind == "chunked":
        # "t" matrices per chunk step, each T wide and W deep (heads, or GLA's keys).
        cols = H if spec.get("chunk_cols", "heads") == "heads" else spec["expand_k"] * D
        per_layer += spec["t"] * B * L * spec["chunk_size"] * cols * _F32
    elif kind != "linear":
        raise ValueError(f"rules.json: unknown memory kind {kind!r} for {model!r}")
    total = n_layers * per_layer + 2 * B * L * D * _F32 + params * _ADAM_BYTES_PER_PARAM
    if vocab_size is not None and not model.startswith("pretrained:"):  # theirs is in params
        total += int(vocab_size) * D * _ADAM_BYTES_PER_PARAM
    return MemoryEstimate(
        model=model,
        seq_len=seq_len,
        batch_size=batch_size,
        bytes=float(total),
        kind=kind,
        fused=fused,
        naive_attention_bytes=None if naive is None else float(n_layers * naive),
        naive_scan_bytes=None if scan_naive is None else float(n_layers * scan_naive),
        config={k: v for k, v in spec.items() if k in _CONFIG_FIELDS},
    )


def saved_activation_bytes(model: str, batch_size: int, seq_len: int) -> int:
    """Bytes of the storages autograd saves for backward in one training forward pass of a
    zoo model at its default config (real input of one channel): what ``c`` calibrates to.

    Counted with ``torch.autograd.graph.saved_tensors_hooks``, each storage once. It
    excludes transient workspace and optimizer state, so it is the activation part of a
    peak, not the peak itself.
    """
    import torch

    from seqselect.models import create_model

    net = create_model(model, d_input=1, d_output=2).train()
    seen: dict[tuple[int, int], int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        seen[(storage.data_ptr(), storage.nbytes())] = storage.nbytes()
        return t

    x = torch.randn(batch_size, seq_len, 1)  # (B, L, 1)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = net(x)
    out.sum().backward()
    return sum(seen.values())


def calibration_ratio(model: str, batch_size: int = 4, seq_len: int = 2048) -> float:
    """estimate / saved bytes for one zoo model (1.0 = calibrated). Re-run over
    ``list_models()`` when a model's implementation changes, and adjust its ``c``."""
    saved = saved_activation_bytes(model, batch_size, seq_len)
    return estimate_memory(model, seq_len, batch_size).bytes / max(saved, 1)


_TRAIN_MODES = ("train",)
_MIB = 1024 * 1024  # seqselect.bench reports peak_mb in MiB (bench.memory.MB)


def measured_memory(
    model: str,
    seq_len: int,
    batch_size: int,
    cells: Sequence[BenchCell | Mapping[str, Any]] | None,
) -> MemoryEstimate | None:
    """The benchmark measurement for this model, length and batch, if there is one.

    ``cells`` are ``seqselect.bench`` cells (``BenchReport.results``), or their JSON rows
    as a ``seqselect bench --json`` file holds them (read into :class:`BenchCell` here);
    ``peak_mb`` is in MiB, as the bench writes it. Only an exact match of length and
    batch replaces the estimate, and only a cell that says something about memory: status
    "ok" (its peak) or "oom" (infeasible at that size); errors, time-outs and skipped
    cells leave the estimate in place. A ``train`` cell is preferred; an
    ``infer``/``stream`` cell is used only when no training cell exists (it is a lower
    bound, since inference keeps no activations for backward).
    """
    if not cells:
        return None
    typed = [c if isinstance(c, BenchCell) else BenchCell.from_dict(c) for c in cells]
    matches = [
        c for c in typed
        if c.model == model and c.length == seq_len and c.batch == batch_size
        and str(c.status).lower() in ("ok", "oom")
        and (c.peak_mb is not None or str(c.status).lower() == "oom")
    ]
    if not matches:
        return None
    train = [c for c in matches if str(c.mode or "").lower() in _TRAIN_MODES]
    cell = (train or matches)[0]
    return MemoryEstimate(
        model=model,
        seq_len=seq_len,
        batch_size=batch_size,
        bytes=float(cell.peak_mb) * _MIB if cell.peak_mb is not None else math.inf,
        source="measured",
        status=str(cell.status).lower(),
        config={"mode": cell.mode},
    )
