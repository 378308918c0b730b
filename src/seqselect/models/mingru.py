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
from seqselect.models.scan import (
    LOG_SCAN_CHUNK,
    BlockStack,
    in_float32,
    log_linear_scan,
    reverse_linear_scan,
)

__all__ = ["MinRNNConfig", "min_rnn_ref", "mingru_scan", "minlstm_scan"]


# ---- kernel ---------------------------------------------------------------------------------


def g_positive(x: Tensor) -> Tensor:
    """``g(x) = x + 1/2`` for ``x >= 0`` else ``sigmoid(x)``: positive, continuous."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: Tensor) -> Tensor:
    """``log g(x)``, without forming g for the negative branch (``-softplus(-x)``)."""
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


def _log_coefficients(kind: str, pre: Tensor) -> tuple[Tensor, Tensor]:
    """``(log a, log b)`` of ``h_t = a_t h_{t-1} + b_t`` from ``pre: (B, L, G, E)``.

    minGRU: ``log a = log(1 - z) = -softplus(k)``, ``log b = log z + log g(pre_h)``.
    minLSTM: ``log f' = log f - log(f + i) = -softplus(log i - log f)``, likewise
    ``log i'``, computed from the pre-activations without dividing.
    """
    # -softplus(-x) = x - softplus(x): one softplus gives both logs.
    if kind == "mingru":
        k = pre[..., 0, :]
        log_a = -F.softplus(k)
        return log_a, (log_a + k) + log_g(pre[..., 1, :])
    diff = F.softplus(-pre[..., 0, :]) - F.softplus(-pre[..., 1, :])  # log i - log f
    log_a = -F.softplus(diff)
    return log_a, (log_a + diff) + log_g(pre[..., 2, :])


def _d_log_g(x: Tensor) -> Tensor:
    """``d log g / dx``: ``1 / (x + 1/2)`` for ``x >= 0``, ``1 - sigmoid(x)`` below."""
    return torch.where(x >= 0, 1 / (F.relu(x) + 0.5), torch.sigmoid(-x))


def _grad_pre(kind: str, pre: Tensor, hG: Tensor, bG: Tensor) -> Tensor:
    """Chain the scan's gradients through :func:`_log_coefficients`.

    ``hG = h G``, ``bG = b G`` (``(B, L, E)``): ``dL/d log b = bG`` and
    ``dL/d log a = a h_{t-1} G = hG - bG``, so only their sum ``hG`` and ``bG`` appear.
    """
    grad_h = bG * _d_log_g(pre[..., -1, :])
    if kind == "mingru":  # d log a / dk = -z, d log b / dk = 1 - z
        z = torch.sigmoid(pre[..., 0, :])
        return torch.stack([bG - z * hG, grad_h], dim=-2)
    f, i = torch.sigmoid(pre[..., 0, :]), torch.sigmoid(pre[..., 1, :])
    i_norm = i / (f + i)  # sigmoid(diff); d log a / d diff = -i', d log b / d diff = f'
    grad_diff = bG - i_norm * hG
    return torch.stack([(f - 1) * grad_diff, (1 - i) * grad_diff, grad_h], dim=-2)


class _MinRNNScan(torch.autograd.Function):
    """The log-space scan from pre-activations to ``h`` with a hand-written backward.

    Autograd through the log-space graph keeps a dozen intermediates and runs the generic
    ``logcumsumexp`` backward; this recurrence's gradients have a closed form around one
    reverse scan ``G_t = dL/dh_t + a_{t+1} G_{t+1}``
    (:func:`seqselect.models.scan.reverse_linear_scan`): ``dL/d log b_t = b_t G_t``,
    ``dL/d log a_t = a_t h_{t-1} G_t``, and the gate derivatives are a few elementwise
    products, so one fused backward does the work (profiled: 10-25% under mingru-pytorch's
    autograd path at B = 4, D = 64, L = 512-2048, benchmarks/results/frontier-peers.md).
    """

    @staticmethod
    def forward(ctx, pre: Tensor, kind: str, chunk: int) -> Tensor:
        log_a, log_b = _log_coefficients(kind, pre)  # (B, L, E) each
        h = log_linear_scan(log_a, log_b, chunk=chunk).exp()
        ctx.kind, ctx.chunk = kind, chunk
        ctx.save_for_backward(pre, log_a, log_b, h)
        return h

    @staticmethod
    def backward(ctx, grad_h: Tensor):
        pre, log_a, log_b, h = ctx.saved_tensors
        G = reverse_linear_scan(log_a, grad_h, ctx.chunk)  # (B, L, E)
        return _grad_pre(ctx.kind, pre, h * G, torch.exp(log_b) * G), None, None


def min_rnn_scan(kind: str, pre: Tensor, chunk: int = LOG_SCAN_CHUNK) -> Tensor:
    """The parallel path (first derivatives only): ``pre: (B, L, G, E)`` (gate(s), then
    the candidate's pre-activation) -> ``h: (B, L, E)`` from ``h_{-1} = 0``."""
    return _MinRNNScan.apply(pre, kind, chunk)


def mingru_scan(k: Tensor, pre_h: Tensor, chunk: int = LOG_SCAN_CHUNK) -> Tensor:
    """minGRU: ``k`` gate, ``pre_h`` candidate pre-activations, all ``(B, L, E)``."""
    return min_rnn_scan("mingru", torch.stack([k, pre_h], dim=-2), chunk)


def minlstm_scan(
    pre_f: Tensor, pre_i: Tensor, pre_h: Tensor, chunk: int = LOG_SCAN_CHUNK
) -> Tensor:
    """minLSTM: forget, input and candidate pre-activations, all ``(B, L, E)``."""
    return min_rnn_scan("minlstm", torch.stack([pre_f, pre_i, pre_h], dim=-2), chunk)


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
