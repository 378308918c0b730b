"""The model registry, in the style of timm: small entrypoints, one ``create_model``.

Each model file registers an entrypoint with :func:`register_model`, giving

* a :class:`ModelCard` — the metadata the advisor and the benchmarks read (never an
  if-chain on model names elsewhere);
* a config dataclass — the overrides the model accepts, each field with a "why" comment;
* a builder ``fn(spec: ModelSpec, cfg: Config) -> SequenceModel``.

The registry imports no model file: ``seqselect.models`` imports ``zoo.py`` after this
module, and ``zoo.py`` imports every model file, whose entrypoints then register here.
So any import of ``seqselect.models.*`` fills the registry, and the import graph has
no cycle (registry <- model files <- zoo <- package).

``create_model(name, d_output=..., params=N, **overrides)`` validates the overrides
against the config's fields and, when ``params`` is given, searches the width
(``d_model``) so the model has N parameters within ±10%.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from seqselect.models.base import ModelSpec
from seqselect.vocabulary import MODEL_TASKS

__all__ = [
    "ModelCard",
    "create_model",
    "get_entry",
    "list_models",
    "model_card",
    "register_model",
]


@dataclass(frozen=True)
class ModelCard:
    """What a model is, in the terms the advisor and the benchmarks use.

    Complexities are per layer in sequence length L (width and depth held fixed).
    """

    name: str
    family: str  # rnn, cnn, transformer, tcn, sparse-transformer, ssm, linear-attention
    year: int  # year of the paper that introduced it
    time_complexity: str  # e.g. "O(L^2)", "O(L log L)"
    memory_complexity: str  # activation memory in L, e.g. "O(L)"
    causal: bool  # can run causally (causal=True is accepted)
    streaming: bool  # has init_state()/step() when built with causal=True
    max_len: int | None  # fixed maximum length (None: unbounded)
    summary: str
    paper: str = ""  # citation, for reports
    requires_causal: bool = False  # always causal (e.g. unidirectional RNNs, SSM scans)
    accepts: tuple[str, ...] = field(default=())  # override names, filled by the registry

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class _Entry:
    card: ModelCard
    config_cls: type
    builder: Callable[[ModelSpec, Any], nn.Module]
    width_multiple: Callable[[Any], int]


_REGISTRY: dict[str, _Entry] = {}


def register_model(
    card: ModelCard,
    config: type,
    width_multiple: Callable[[Any], int] | int = 1,
) -> Callable[[Callable[[ModelSpec, Any], nn.Module]], Callable[[ModelSpec, Any], nn.Module]]:
    """Register ``builder(spec, cfg) -> nn.Module`` under ``card.name``.

    Args:
        card: the model's card (``accepts`` is filled from ``config``'s fields).
        config: a dataclass whose fields are the overrides the model accepts; it must
            have a ``d_model`` field, the width that ``params=`` searches.
        width_multiple: ``d_model`` must be a multiple of this (e.g. ``n_heads``); an int
            or a function of the config.

    Raises:
        ValueError: the name is already registered, or the config has no ``d_model``.
    """
    if not dataclasses.is_dataclass(config):
        raise TypeError(f"config for {card.name!r} must be a dataclass")
    names = tuple(f.name for f in dataclasses.fields(config))
    if "d_model" not in names:
        raise ValueError(f"config for {card.name!r} needs a d_model field")
    if callable(width_multiple):
        multiple = width_multiple
    else:
        def multiple(_cfg, fixed: int = width_multiple) -> int:
            return fixed

    def decorator(builder):
        if card.name in _REGISTRY:
            raise ValueError(f"model {card.name!r} is already registered")
        full_card = dataclasses.replace(card, accepts=names)
        _REGISTRY[card.name] = _Entry(full_card, config, builder, multiple)
        return builder

    return decorator


def list_models(family: str | None = None) -> list[str]:
    """Names of all registered models, sorted; optionally only one family."""
    return sorted(n for n, e in _REGISTRY.items() if family is None or e.card.family == family)


def get_entry(name: str) -> _Entry:
    """The registry entry for ``name``; an unknown name raises and suggests close ones."""
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise KeyError(
            f"unknown model {name!r}.{hint} Known models: {', '.join(sorted(_REGISTRY))}"
        )
    return _REGISTRY[name]


def model_card(name: str) -> ModelCard:
    """The :class:`ModelCard` of a registered model."""
    return get_entry(name).card


def _make_config(entry: _Entry, overrides: dict[str, Any]):
    accepted = entry.card.accepts
    unknown = sorted(set(overrides) - set(accepted))
    if unknown:
        raise TypeError(
            f"model {entry.card.name!r} does not take override(s) {', '.join(unknown)}; "
            f"it accepts: {', '.join(accepted)}"
        )
    return entry.config_cls(**overrides)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _build(entry: _Entry, spec: ModelSpec, cfg) -> nn.Module:
    model = entry.builder(spec, cfg)
    model.card = entry.card
    model.config = cfg
    model.spec = spec
    return model


def _params_at_width(entry: _Entry, spec: ModelSpec, cfg, d_model: int) -> int:
    # Build on the meta device: shapes only, no memory, no initialisation cost.
    with torch.device("meta"):
        model = entry.builder(spec, dataclasses.replace(cfg, d_model=d_model))
    return count_parameters(model)


def _match_width(entry: _Entry, spec: ModelSpec, cfg, target: int) -> int:
    """Smallest-error ``d_model`` (a multiple of the width multiple) for ``target`` params.

    Parameter count grows monotonically with width, so a doubling search followed by a
    bisection finds the bracketing widths in O(log width) builds.
    """
    step = max(1, int(entry.width_multiple(cfg)))
    lo, hi = 1, 1
    while _params_at_width(entry, spec, cfg, hi * step) < target:
        lo, hi = hi, hi * 2
        if hi * step > 1 << 16:
            break
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _params_at_width(entry, spec, cfg, mid * step) < target:
            lo = mid
        else:
            hi = mid
    best = min(
        (lo, hi), key=lambda units: abs(_params_at_width(entry, spec, cfg, units * step) - target)
    )
    width = best * step
    got = _params_at_width(entry, spec, cfg, width)
    if abs(got - target) > 0.1 * target:
        raise ValueError(
            f"cannot match params={target} for {entry.card.name!r}: the closest width "
            f"d_model={width} gives {got} parameters (outside ±10%); change n_layers or "
            "other overrides"
        )
    return width


def create_model(
    name: str,
    *,
    d_output: int,
    d_input: int | None = None,
    vocab_size: int | None = None,
    task: str = "classify",
    causal: bool = False,
    params: int | None = None,
    data_sample_rate: int | None = None,
    **overrides: Any,
) -> nn.Module:
    """Build a registered model.

    Args:
        name: a name from :func:`list_models`.
        d_output: classes (classify), targets (regress) or outputs per step (per_step).
        d_input: channels of real-valued input ``x: (B, L, d_input)``.
        vocab_size: vocabulary of token input ``x: (B, L)`` long; give exactly one of
            ``d_input`` and ``vocab_size``.
        task: ``classify``/``regress`` -> ``(B, d_output)``; ``per_step`` -> ``(B, L, d_output)``.
        causal: outputs at step t depend only on inputs up to t (streaming models then
            offer ``init_state``/``step``).
        params: choose ``d_model`` so the model has this many parameters (±10%);
            cannot be combined with a ``d_model`` override.
        data_sample_rate: Hz of raw audio input (the dataset's); a family with a
            spectrogram front-end (a ``sample_rate`` config field) lays its filterbank and
            STFT out for it (:func:`~seqselect.models.base.rate_fields`), others ignore
            it. Explicit overrides (``sample_rate=``, ``n_fft=``, ``hop=``) win, so a full
            config passed back as overrides rebuilds the same model.
        **overrides: the family's config fields (``d_model``, ``n_layers``, ...).

    Raises:
        KeyError: unknown name. TypeError: unknown override. ValueError: bad values.
    """
    entry = get_entry(name)
    if task not in MODEL_TASKS:
        raise ValueError(f"task must be one of {', '.join(MODEL_TASKS)}, got {task!r}")
    if causal and not entry.card.causal:
        raise ValueError(f"model {name!r} cannot run causally (its card says causal=False)")
    if params is not None and "d_model" in overrides:
        raise ValueError("give either params= or d_model=, not both")
    spec = ModelSpec(
        d_output=d_output,
        d_input=d_input,
        vocab_size=vocab_size,
        task=task,
        causal=causal or entry.card.requires_causal,
    )
    if data_sample_rate is not None and "sample_rate" in entry.card.accepts:
        from seqselect.models.base import rate_fields

        overrides = {**rate_fields(int(data_sample_rate)), **overrides}
    cfg = _make_config(entry, overrides)
    if params is not None:
        if params <= 0:
            raise ValueError(f"params must be positive, got {params}")
        cfg = dataclasses.replace(cfg, d_model=_match_width(entry, spec, cfg, params))
    return _build(entry, spec, cfg)
