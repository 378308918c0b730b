"""minGRU and minLSTM: RNNs whose gates read only the input (Feng et al. 2024, arXiv 2410.01201).

Symbols: B batch, L length, D model width, E = expand * D recurrent channels.

Dropping the previous hidden state from the gates makes the recurrence linear in h:

    minGRU:  z_t = sigmoid(W_z x_t),  h~_t = g(W_h x_t)
             h_t = (1 - z_t) h_{t-1} + z_t h~_t
    minLSTM: f_t = sigmoid(W_f x_t),  i_t = sigmoid(W_i x_t),  h~_t = g(W_h x_t)
             f'_t, i'_t = f_t / (f_t + i_t), i_t / (f_t + i_t)     (length-independent scale)
             h_t = f'_t h_{t-1} + i'_t h~_t

with ``g(x) = x + 1/2`` for x >= 0 and ``sigmoid(x)`` below, so that h~ > 0 and the whole
recurrence can run in log space: :func:`mingru_scan` / :func:`minlstm_scan` feed the logs
of the decay and the input to :func:`seqselect.models.scan.log_linear_scan` (Heinsen's
log-cumsum-exp), parallel over the length and stable at long L (paper §3, appendix B).
:func:`min_rnn_ref` is the sequential twin, in linear space.

A block (paper appendix C) is ``h + Drop(out_proj(minRNN(RMSNorm(h))))`` followed by
``h + Drop(MLP(RMSNorm(h)))``; a model built with the paper's causal setting streams with
``step`` in O(E) per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqselect.models.base import ModelSpec, SequenceModel
from seqselect.models.registry import ModelCard, register_model
from seqselect.models.scan import LOG_SCAN_CHUNK, BlockStack, in_float32, log_linear_scan

__all__ = ["MinRNNConfig", "min_rnn_ref", "mingru_scan", "minlstm_scan"]


# ---- kernel ---------------------------------------------------------------------------------


def g_positive(x: Tensor) -> Tensor:
    """``g(x) = x + 1/2`` for ``x >= 0`` else ``sigmoid(x)``: positive, continuous."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: Tensor) -> Tensor:
    """``log g(x)``, without forming g for the negative branch (``-softplus(-x)``)."""
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


def mingru_scan(k: Tensor, pre_h: Tensor, chunk: int = LOG_SCAN_CHUNK) -> Tensor:
    """minGRU over a sequence from ``h_{-1} = 0``.

    Args:
        k: ``(B, L, E)`` gate pre-activations (``z = sigmoid(k)``).
        pre_h: ``(B, L, E)`` candidate pre-activations (``h~ = g(pre_h)``).
        chunk: steps per chunk of the log-space scan.
    Returns:
        ``h: (B, L, E)``.
    """
    log_keep = -F.softplus(k)  # log(1 - z)
    log_z = -F.softplus(-k)  # log z
    return torch.exp(log_linear_scan(log_keep, log_z + log_g(pre_h), chunk=chunk))


def minlstm_scan(
    pre_f: Tensor, pre_i: Tensor, pre_h: Tensor, chunk: int = LOG_SCAN_CHUNK
) -> Tensor:
    """minLSTM over a sequence from ``h_{-1} = 0``; all arguments ``(B, L, E)``.

    ``log f' = log f - log(f + i) = -softplus(log i - log f)``, likewise ``log i'``, computed
    from the pre-activations without dividing.
    """
    diff = F.softplus(-pre_f) - F.softplus(-pre_i)  # log i - log f
    log_input = -F.softplus(-diff) + log_g(pre_h)
    return torch.exp(log_linear_scan(-F.softplus(diff), log_input, chunk=chunk))


def _gates(kind: str, pre: Tensor) -> tuple[Tensor, Tensor]:
    """Linear-space ``(decay, input weight)`` from stacked pre-activations ``(..., G, E)``."""
    if kind == "mingru":
        z = torch.sigmoid(pre[..., 0, :])
        return 1 - z, z
    f, i = torch.sigmoid(pre[..., 0, :]), torch.sigmoid(pre[..., 1, :])
    return f / (f + i), i / (f + i)


def min_rnn_step(kind: str, pre: Tensor, h: Tensor) -> Tensor:
    """One step: ``pre: (B, G, E)`` (gates then candidate), ``h: (B, E)`` -> new ``h``."""
    decay, weight = _gates(kind, pre)
    return decay * h + weight * g_positive(pre[..., -1, :])


def min_rnn_ref(kind: str, pre: Tensor) -> Tensor:
    """Sequential twin (a loop over L; tests only): ``pre: (B, L, G, E)`` -> ``(B, L, E)``."""
    h = pre.new_zeros(pre.shape[0], pre.shape[-1])
    hs = []
    for t in range(pre.shape[1]):
        h = min_rnn_step(kind, pre[:, t], h)
        hs.append(h)
    return torch.stack(hs, dim=1)


def min_rnn_scan(kind: str, pre: Tensor, chunk: int = LOG_SCAN_CHUNK) -> Tensor:
    """The parallel path for either kind: ``pre: (B, L, G, E)`` -> ``(B, L, E)``."""
    if kind == "mingru":
        return mingru_scan(pre[..., 0, :], pre[..., 1, :], chunk)
    return minlstm_scan(pre[..., 0, :], pre[..., 1, :], pre[..., 2, :], chunk)


# ---- layer, block, backbone -------------------------------------------------------------------

_N_PROJECTIONS = {"mingru": 2, "minlstm": 3}  # G: gate(s) + candidate


@dataclass
class MinRNNConfig:
    d_model: int = 128  # D: residual width; params= searches it
    n_layers: int = 3  # blocks (the paper's language models use 3)
    dropout: float = 0.0  # on each sub-block's output before the residual
    expand: int = 1  # E = expand * D recurrent channels (mingru-pytorch's expansion_factor)
    mlp_ratio: int = 4  # hidden width of each block's MLP, times D (paper appendix C)
    scan_chunk: int = LOG_SCAN_CHUNK  # steps per log-space scan chunk: bounds float32 error

    def __post_init__(self) -> None:
        for name in ("n_layers", "expand", "mlp_ratio", "scan_chunk"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


class MinRNNLayer(nn.Module):
    """minGRU or minLSTM: ``(B, L, D) -> (B, L, D)``, always causal."""

    def __init__(self, kind: str, cfg: MinRNNConfig):
        super().__init__()
        self.kind, self.chunk = kind, cfg.scan_chunk
        self.G = _N_PROJECTIONS[kind]
        E = cfg.expand * cfg.d_model
        self.E = E
        self.in_proj = nn.Linear(cfg.d_model, self.G * E, bias=False)
        self.out_proj = nn.Linear(E, cfg.d_model, bias=False) if cfg.expand > 1 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        pre = self.in_proj(x).unflatten(-1, (self.G, self.E))  # (B, L, G, E)
        h = in_float32(partial(min_rnn_scan, self.kind), pre, chunk=self.chunk)
        return self.out_proj(h.to(x.dtype))

    def init_state(self, batch: int, device, dtype) -> Tensor:
        return torch.zeros(batch, self.E, device=device, dtype=dtype)

    def step(self, x_t: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """``x_t: (B, D)``, ``h: (B, E)`` -> ``((B, D), h)``."""
        h = min_rnn_step(self.kind, self.in_proj(x_t).unflatten(-1, (self.G, self.E)), h)
        return self.out_proj(h), h


class MinRNNBlock(nn.Module):
    """``h + Drop(minRNN(RMSNorm(h)))`` then ``h + Drop(MLP(RMSNorm(h)))``."""

    def __init__(self, kind: str, cfg: MinRNNConfig):
        super().__init__()
        D = cfg.d_model
        self.norm1, self.norm2 = nn.RMSNorm(D, eps=1e-5), nn.RMSNorm(D, eps=1e-5)
        self.rnn = MinRNNLayer(kind, cfg)
        self.mlp = nn.Sequential(
            nn.Linear(D, cfg.mlp_ratio * D), nn.GELU(), nn.Linear(cfg.mlp_ratio * D, D)
        )
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        h = h + self.drop(self.rnn(self.norm1(h)))
        return h + self.drop(self.mlp(self.norm2(h)))

    def init_state(self, batch: int, device, dtype) -> Tensor:
        return self.rnn.init_state(batch, device, dtype)

    def step(self, h_t: Tensor, state: Tensor):
        y, state = self.rnn.step(self.norm1(h_t), state)
        h_t = h_t + y
        return h_t + self.mlp(self.norm2(h_t)), state


def _min_rnn_model(kind: str, spec: ModelSpec, cfg: MinRNNConfig) -> SequenceModel:
    backbone = BlockStack((MinRNNBlock(kind, cfg) for _ in range(cfg.n_layers)), cfg.d_model)
    return SequenceModel(spec, cfg.d_model, backbone, "last")


_PAPER = "Feng, Tung, Ahmed, Bengio & Hajimirsadeghi 2024, Were RNNs All We Needed?"


def _card(name: str, summary: str) -> ModelCard:
    return ModelCard(
        name=name, family="rnn", year=2024, time_complexity="O(L)", memory_complexity="O(L)",
        causal=True, streaming=True, requires_causal=True, max_len=None, summary=summary,
        paper=_PAPER,
    )


@register_model(
    _card("mingru", "minGRU: a GRU whose gate and candidate read only the input, so training "
          "is a parallel log-space scan (no loop over L) while inference steps like an RNN "
          "in O(1) per step; few parameters (2 projections per layer)."),
    MinRNNConfig,
)
def mingru(spec: ModelSpec, cfg: MinRNNConfig) -> SequenceModel:
    return _min_rnn_model("mingru", spec, cfg)


@register_model(
    _card("minlstm", "minLSTM: an LSTM with input-only forget/input gates normalised to sum "
          "to one, trained by a parallel log-space scan, streamed in O(1) per step."),
    MinRNNConfig,
)
def minlstm(spec: ModelSpec, cfg: MinRNNConfig) -> SequenceModel:
    return _min_rnn_model("minlstm", spec, cfg)
