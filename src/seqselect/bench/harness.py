"""The benchmark run: plan each model, estimate each cell, measure it in a fresh process.

Symbols: B batch, L length. A *cell* is one (model, length, mode); every cell of a run
uses the same :class:`BenchSettings` (``params=`` matched width, batch, input size,
threads), so cells compare like with like.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from seqselect import system
from seqselect.bench import memory
from seqselect.bench.fit import extrapolate
from seqselect.bench.process import run_child
from seqselect.bench.progress import ProgressArg, RunProgress
from seqselect.bench.records import MODES, BenchCell
from seqselect.bench.report import BenchReport, add_relative, compute_exponents
from seqselect.bench.settings import BenchSettings
from seqselect.errors import SeqSelectError
from seqselect.models import ModelCard

log = logging.getLogger(__name__)

# A cell is skipped when its estimate exceeds this share of the free memory: the rest is
# head-room for the interpreter, the allocator's slack and whatever else runs.
FREE_MEMORY_SHARE = 0.9
# Keys a bare-attention cell takes on top of the settings (see ``cell._attention_cell``).
ATTENTION_KEYS = ("impl", "d_model", "n_heads")


def device_name(device: str | None) -> str:
    """``auto`` resolved to the device the cells run on, as the string a child reads."""
    return str(system.resolve_device(device))


def measure_with(settings: BenchSettings, model_name: str, length: int, mode: str, *,
                 overrides: dict[str, Any] | None = None, seed: int = 0, kind: str = "model",
                 attention: dict[str, Any] | None = None) -> BenchCell:
    """Run ONE cell in a fresh process at ``settings`` (device already resolved)."""
    if mode not in MODES:
        raise SeqSelectError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    s = settings
    args = dict(
        model=model_name, length=int(length), mode=mode, batch=int(s.batch), params=s.params,
        repeats=max(1, int(s.repeats)), warmup=max(0, int(s.warmup)), device=s.device,
        threads=s.threads, d_input=s.d_input, d_output=s.d_output, overrides=overrides or {},
        causal=s.causal, memory_limit_mb=s.memory_limit_mb, seed=seed, kind=kind,
        count_flops=s.count_flops, sample_rate=s.sample_rate, **(attention or {}),
    )
    row: dict[str, Any] = {
        "model": model_name, "length": int(length), "batch": int(s.batch), "params": None,
        "mode": mode, "status": "error", "target_params": s.params, "device": s.device,
    }
    row.update(run_child(args, s.timeout_s, s.threads))
    return BenchCell.from_dict(row)


def measure_cell(
    model_name: str,
    length: int,
    mode: str,
    *,
    overrides: dict[str, Any] | None = None,
    seed: int = 0,
    kind: str = "model",
    device: str = "auto",
    **settings_and_attention: Any,
) -> BenchCell:
    """Run ONE cell in a fresh subprocess and return its :class:`BenchCell`.

    ``status`` is ``ok``, ``oom`` (allocation failed or the process was OOM-killed),
    ``timeout`` (no result within ``timeout_s``) or ``error`` (the message in ``error``).

    Args:
        device: ``auto``, ``cpu`` or ``cuda[:N]``.
        kind: ``model`` (a zoo model) or ``attention`` (a bare attention: ``impl`` =
            ``naive`` or ``sdpa``, ``n_heads`` and ``d_model``).
        settings_and_attention: the :class:`BenchSettings` fields (``batch``, ``params``,
            ``repeats``, ``warmup``, ``threads``, ``timeout_s``, ``d_input``,
            ``d_output``, ``causal``, ``memory_limit_mb``: cap the child's extra address
            space, a deterministic out-of-memory; ``count_flops``) and, for attention
            cells, ``impl``, ``n_heads``, ``d_model``. Anything else raises.
    """
    attention = {k: settings_and_attention.pop(k) for k in ATTENTION_KEYS
                 if k in settings_and_attention}
    unknown = sorted(set(settings_and_attention) - {f.name for f in
                                                    dataclasses.fields(BenchSettings)})
    if unknown:
        raise TypeError(f"measure_cell() got unexpected keyword argument(s): {unknown}")
    settings = BenchSettings(device=device_name(device), **settings_and_attention)
    return measure_with(settings, model_name, length, mode, overrides=overrides, seed=seed,
                        kind=kind, attention=attention)


# ---- planning ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelPlan:
    """A model as every cell of the run builds it: its matched width, or why it cannot."""

    name: str
    card: ModelCard
    overrides: dict[str, Any]
    params: int | None  # actual parameter count at the matched width
    d_model: int | None
    n_layers: int
    n_heads: int
    error: str | None = None  # the model cannot be built at this budget: its cells say so


def plan_model(name: str, settings: BenchSettings, overrides: dict,
               lengths: Sequence[int]) -> ModelPlan:
    """Validate the model and find its matched width, on the meta device (no memory)."""
    import torch

    from seqselect.models import count_parameters, create_model, model_card

    try:
        card = model_card(name)
    except KeyError as exc:
        raise SeqSelectError(str(exc).strip("'\"")) from None
    overrides = dict(overrides)
    if "max_len" in card.accepts and "max_len" not in overrides:
        # Fixed-length models (e.g. Linformer): one configuration for every length.
        overrides["max_len"] = max(lengths)
    try:
        with torch.device("meta"):
            model = create_model(name, d_input=settings.d_input, d_output=settings.d_output,
                                 params=settings.params, causal=settings.causal and card.causal,
                                 **overrides)
    except TypeError as exc:  # create_model's contract: an override the model does not take
        raise SeqSelectError(f"{name}: {exc}") from None
    except ValueError as exc:  # e.g. no width matches the budget: recorded, the run goes on
        return ModelPlan(name=name, card=card, overrides=overrides, params=None,
                         d_model=None, n_layers=1, n_heads=1, error=str(exc))
    cfg = model.config
    return ModelPlan(
        name=name, card=card, overrides=overrides, params=count_parameters(model),
        d_model=getattr(cfg, "d_model", None), n_layers=int(getattr(cfg, "n_layers", 1) or 1),
        n_heads=int(getattr(cfg, "n_heads", 1) or 1),
    )


def estimate_cell_mb(plan: ModelPlan, done: list[BenchCell], batch: int, length: int,
                     mode: str) -> float:
    """Measured peaks extrapolated log-log once two lengths ran; the analytic formula before."""
    ok = [c for c in done if c.ok and c.batch == batch]
    if len({c.length for c in ok}) >= 2:
        # Never below the largest peak measured so far at a smaller length.
        guess = extrapolate([c.length for c in ok], [c.peak_mb for c in ok], length)
        if guess is not None:
            return max([guess, *(c.peak_mb or 0.0 for c in ok if c.length <= length)])
    if mode in ("train", "infer"):
        # The advisor's per-family model (calibrated on what autograd saves, aware of
        # fused attention and chunked scans), plus gradients and Adam's two moments; for
        # inference, which keeps no activations, it is an upper bound.
        from seqselect.advisor import estimate_memory

        try:
            est = estimate_memory(plan.name, length, batch, d_model=plan.d_model)
        except (KeyError, ValueError) as exc:
            log.debug("advisor has no memory estimate for %s: %s", plan.name, exc)
        else:
            return est.bytes / memory.MB + 3 * (plan.params or 0) * 4 / memory.MB
    return memory.estimate_memory_mb(
        params=plan.params or 0, d_model=plan.d_model or 1, n_layers=plan.n_layers,
        n_heads=plan.n_heads, batch=batch, length=length, mode=mode,
        memory_complexity=plan.card.memory_complexity,
    )


def _not_runnable(plan: ModelPlan, mode: str, length: int) -> tuple[str, str] | None:
    """(status, why) of a cell that cannot run as planned, None when it can."""
    if plan.error is not None:
        return "error", plan.error
    if mode == "stream" and not plan.card.streaming:
        return "unsupported", f"{plan.name} has no streaming step() (its card says streaming=False)"
    max_len = plan.overrides.get("max_len", plan.card.max_len)  # the instance's, not the card's
    if max_len is not None and length > max_len:
        return "unsupported", f"{plan.name} takes at most max_len={max_len} steps"
    return None


def run_planned_cell(plan: ModelPlan, mode: str, length: int, done: list[BenchCell],
                     settings: BenchSettings) -> BenchCell:
    """One planned cell: recorded without running when it cannot run or fit, else measured."""
    base = BenchCell(model=plan.name, length=length, batch=settings.batch, mode=mode,
                     status="error", params=plan.params, d_model=plan.d_model,
                     device=settings.device)
    refusal = _not_runnable(plan, mode, length)
    if refusal is not None:
        return dataclasses.replace(base, status=refusal[0], error=refusal[1])
    same = [c for c in done if c.model == plan.name and c.mode == mode]
    estimate = estimate_cell_mb(plan, same, settings.batch, length, mode)
    free = system.free_memory_mb(settings.device)
    if settings.memory_check and free is not None and estimate > FREE_MEMORY_SHARE * free:
        return dataclasses.replace(
            base, status="skipped", estimate_mb=round(estimate, 3),
            error=f"estimated {estimate:,.0f} MB exceeds the free memory ({free:,.0f} MB)")
    cell = measure_with(settings, plan.name, length, mode, overrides=plan.overrides)
    # The child's values win, except where it produced none (a failed cell keeps the plan's).
    measured = {k: v for k, v in cell.to_dict().items() if v is not None and k != "target_params"}
    row = {**base.to_dict(), **measured, "estimate_mb": round(estimate, 3)}
    for key in ("time_ms", "peak_mb"):
        if row.get(key) is not None:
            row[key] = round(row[key], 3)
    return BenchCell.from_dict(row)


# ---- the run ----------------------------------------------------------------------------
def run_cells(
    cells: Sequence[tuple[str, str, int]],
    settings: BenchSettings,
    *,
    overrides: dict[str, dict] | None = None,
    progress: ProgressArg = False,
    on_cell: Callable[[BenchCell], None] | None = None,
) -> list[BenchCell]:
    """Run the given ``(model, mode, length)`` cells in order (one configuration for all)
    and return them, with the guide's view (``relative_pct``) filled in.

    Order cells by length within each (model, mode) so that the memory estimate can
    extrapolate from the lengths already measured. ``on_cell`` is called with each cell
    as soon as it ends (e.g. to save it). ``settings.device`` must be resolved.
    """
    overrides = overrides or {}
    lengths_by_model: dict[str, list[int]] = {}
    for model, _mode, length in cells:
        lengths_by_model.setdefault(model, []).append(length)
    plans = {m: plan_model(m, settings, overrides.get(m, {}), lengths)
             for m, lengths in lengths_by_model.items()}
    results: list[BenchCell] = []
    with RunProgress(progress, len(cells)) as bar:
        for model, mode, length in cells:
            bar.describe(f"{model} {mode} L={length}")
            cell = run_planned_cell(plans[model], mode, length, results, settings)
            results.append(cell)
            log.info("cell %s %s L=%d: %s", model, mode, length, cell.status)
            bar.advance(cell)
            if on_cell is not None:
                on_cell(cell)
    return add_relative(results)


def _parse_list(values: Iterable | str) -> list:
    if isinstance(values, str):
        return [v.strip() for v in values.split(",") if v.strip()]
    return list(values)


def _validate_run(models: list[str], lengths: list[int], modes: list[str],
                  overrides: dict[str, dict]) -> None:
    if not models:
        raise SeqSelectError("no models given")
    if not lengths or lengths[0] < 1:
        raise SeqSelectError(f"lengths must be positive integers, got {lengths}")
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise SeqSelectError(
            f"modes must be among {', '.join(MODES)}, got {', '.join(bad) or 'none'}")
    unknown = sorted(set(overrides) - set(models))
    if unknown:
        raise SeqSelectError(
            f"overrides given for model(s) not in the run: {', '.join(unknown)}")


def run_bench(
    models: Sequence[str] | str,
    lengths: Sequence[int] | str,
    *,
    modes: Sequence[str] | str = ("train", "infer"),
    device: str = "auto",
    overrides: dict[str, dict] | None = None,
    progress: ProgressArg = True,
    **settings: Any,
) -> BenchReport:
    """Measure every (model, length, mode) cell, each in a fresh subprocess.

    Args:
        models: registered model names (``seqselect.list_models()``).
        lengths: sequence lengths L.
        modes: ``train`` (forward + backward + optimizer step), ``infer`` (forward under
            inference mode), ``stream`` (per-step latency of ``step()``; streaming models
            only, others are recorded as ``unsupported``).
        device: ``auto``, ``cpu`` or ``cuda``.
        overrides: per-model config overrides, e.g. ``{"longformer": {"window": 64}}``.
        progress: True shows a progress bar on stderr; a callable gets each finished cell.
        settings: the :class:`BenchSettings` fields: ``batch`` (B, every cell), ``params``
            (the budget each width is matched to, ±10%; None keeps each default width),
            ``repeats``/``warmup`` (timed runs, median reported, after untimed ones),
            ``threads``, ``timeout_s`` (per cell), ``d_input``, ``d_output``, ``causal``,
            ``memory_check`` (skip a cell whose estimate exceeds the free memory, status
            ``skipped`` with ``estimate_mb``), ``memory_limit_mb``, ``count_flops``,
            ``sample_rate`` (Hz: stream cells then report ``rtf``, the real-time factor,
            and spectrogram models are built for that rate).

    Returns:
        A :class:`BenchReport`; no cell failure raises (it is recorded in the cell).

    Raises:
        SeqSelectError: an unknown model or mode, a bad length, or bad overrides.
        TypeError: a keyword argument that is no setting.
    """
    models = _parse_list(models)
    lengths = sorted({int(n) for n in _parse_list(lengths)})
    modes = _parse_list(modes)
    overrides = overrides or {}
    _validate_run(models, lengths, modes, overrides)
    config = BenchSettings(device=device_name(device), **settings)
    cells = [(m, mode, n) for m in models for mode in modes for n in lengths]
    results = run_cells(cells, config, overrides=overrides, progress=progress)
    run_settings = dict(models=models, lengths=lengths, batch=config.batch,
                        params=config.params, modes=modes, repeats=config.repeats,
                        warmup=config.warmup, timeout_s=config.timeout_s,
                        d_input=config.d_input, d_output=config.d_output,
                        causal=config.causal, overrides=overrides,
                        memory_check=config.memory_check, sample_rate=config.sample_rate)
    environment = {**system.describe_environment(config.device, config.threads),
                   "dtype": "float32"}
    return BenchReport(environment=environment, results=results,
                       exponents=compute_exponents(results), settings=run_settings)


__all__ = [
    "FREE_MEMORY_SHARE",
    "ModelPlan",
    "device_name",
    "measure_cell",
    "measure_with",
    "plan_model",
    "run_bench",
    "run_cells",
]
