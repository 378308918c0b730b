"""Export a trained model as safetensors + a JSON config (+ an ONNX file checked against
torch), load it back without unpickling anything, and predict.

An export folder holds::

    model.safetensors   the weights (safetensors: plain tensors, no code)
    config.json         {"format", "model", "spec", "config", "task", "target",
                         "class_names", "input": {...}, "metrics", "onnx": {...}}
    model.onnx          when the model exports; config.json["onnx"] says how it checked

Loading rebuilds the architecture from the registry (``create_model(name, **spec,
**config)``) and loads the weights into it, so a folder from an untrusted source can at
worst hold wrong numbers, never code.

A forecasting model (``task == "forecast"``) needs its windows described in
``config["input"]`` for ``seqselect predict`` to cut the next window the way training did:
``window``, ``horizon``, ``columns``, ``target_columns``, ``offset``, ``season_length``
and ``normalization`` (:data:`FORECAST_INPUT_KEYS`; :func:`forecast_input` picks them
from a dataset's metadata). Missing ones default to what the loaders default to (every
column a target, ``offset="last"``, no season); a missing ``window`` makes predict refuse.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from seqselect.errors import SeqSelectError

__all__ = [
    "FORECAST_INPUT_KEYS",
    "FORMAT",
    "check_onnx",
    "export_model",
    "forecast_input",
    "load_model",
    "load_text_pipeline",
    "load_weights",
    "save_weights",
]

log = logging.getLogger(__name__)

FORMAT = "seqselect-model/1"
WEIGHTS = "model.safetensors"
TOKENIZER = "tokenizer.json"
#: Sub-folder of an export holding a pretrained checkpoint's architecture (config.json).
CHECKPOINT = "checkpoint"
#: Front-end fields of an audio model's config that say how it frames a waveform.
FRONTEND_KEYS = ("frontend", "n_fft", "hop", "n_mels")
CONFIG = "config.json"
ONNX = "model.onnx"
ONNX_TOLERANCE = 1e-4
#: What a forecasting model's ``config["input"]`` holds so predict can rebuild a window.
FORECAST_INPUT_KEYS = (
    "window", "horizon", "columns", "target_columns", "offset", "season_length",
    "normalization", "target_normalization", "form", "impute",
)


def forecast_input(metadata: dict[str, Any]) -> dict[str, Any]:
    """The :data:`FORECAST_INPUT_KEYS` of a forecasting dataset's metadata (JSON-ready)."""
    return {k: _jsonable(metadata[k]) for k in FORECAST_INPUT_KEYS if k in metadata}


def save_weights(
    model: nn.Module, path: str | Path, metadata: dict[str, str] | None = None
) -> None:
    """Write ``model``'s weights as safetensors.

    ``save_model`` (not ``save_file``) de-duplicates tied tensors and the views that
    weight-norm parametrizations keep, which ``save_file`` refuses.
    """
    from safetensors.torch import save_model

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    save_model(model, str(tmp), metadata=metadata)
    tmp.replace(path)  # atomic: a killed process never leaves half a file under the name


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load safetensors weights into ``model`` (strict: every tensor must match)."""
    from safetensors.torch import load_model as st_load_model

    missing, unexpected = st_load_model(model, str(path), strict=False)
    if missing or unexpected:
        raise SeqSelectError(
            f"{path}: the weights do not fit the architecture "
            f"(missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]})"
        )
    return model


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return value


def model_description(model: nn.Module) -> dict[str, Any]:
    """What rebuilds ``model``: registry name, spec and config."""
    return {
        "model": model.card.name,
        "spec": _jsonable(model.spec),
        "config": _jsonable(model.config),
    }


def build_from_description(desc: dict[str, Any]) -> nn.Module:
    """Rebuild an (untrained) model from :func:`model_description`'s dict."""
    from seqselect.models import create_model

    spec = dict(desc["spec"])
    config = dict(desc.get("config") or {})
    try:
        return create_model(
            desc["model"],
            d_output=spec["d_output"],
            d_input=spec.get("d_input"),
            vocab_size=spec.get("vocab_size"),
            task=spec.get("task", "classify"),
            causal=bool(spec.get("causal", False)),
            **config,
        )
    # config.json is a file the user hands us: a missing key, an override the model does
    # not take (TypeError) or a bad value is bad input, said once.
    except (KeyError, TypeError, ValueError) as exc:
        raise SeqSelectError(f"cannot rebuild model {desc.get('model')!r}: {exc}") from None


def _example_input(model: nn.Module, batch: int = 2, length: int = 16) -> torch.Tensor:
    spec = model.spec
    gen = torch.Generator().manual_seed(0)
    if spec.vocab_size is not None:
        return torch.randint(0, spec.vocab_size, (batch, length), generator=gen)
    return torch.randn(batch, length, spec.d_input, generator=gen)


def _second_input(x: torch.Tensor) -> torch.Tensor:
    """A different batch size, length and values than the export example: an exporter
    that froze a shape or folded the input into a constant fails the check on it."""
    gen = torch.Generator().manual_seed(1)
    batch, length = x.shape[0] + 1, max(2, x.shape[1] - 1)
    if x.dtype in (torch.long, torch.int32, torch.int64):
        high = int(x.max()) + 1 if x.numel() else 2
        return torch.randint(0, max(2, high), (batch, length), generator=gen, dtype=x.dtype)
    scale = x.std() if x.numel() > 1 else torch.tensor(1.0)
    return torch.randn(batch, length, *x.shape[2:], generator=gen) * scale + x.mean()


def check_onnx(
    model: nn.Module,
    path: str | Path,
    example: torch.Tensor | None = None,
    tolerance: float = ONNX_TOLERANCE,
    exporters: tuple[str, ...] = ("torchscript", "dynamo"),
) -> dict[str, Any]:
    """Export ``model`` to ONNX at ``path`` and compare onnxruntime with torch.

    Tries the TorchScript exporter (fast, and handles the RNNs), then the dynamo one.
    The check runs the export example and a second input of another batch size and
    length (the axes are dynamic). Returns ``{"status": "ok"|"failed", "max_abs_diff",
    "exporter", "error"}``; never raises (a model that does not export is recorded, not
    fatal). A file that fails the check is removed.
    """
    path = Path(path)
    model = model.eval()
    x = _example_input(model) if example is None else example
    inputs = [x, _second_input(x)]
    with torch.inference_mode():
        expected = [model(inp).float().numpy() for inp in inputs]
    errors: list[str] = []
    for exporter in exporters:
        try:
            _export_onnx(model, x, path, exporter)
            got = [_run_onnx(path, inp) for inp in inputs]
        # The boundary of the ONNX check: torch's exporters and onnxruntime raise many
        # types for an operator they lack; the check records the failure and goes on.
        except Exception as exc:
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            errors.append(f"{exporter}: {type(exc).__name__}: {first}")
            path.unlink(missing_ok=True)
            continue
        pairs = list(zip(got, expected, strict=True))
        shapes = [(g.shape, e.shape) for g, e in pairs if g.shape != e.shape]
        if shapes:
            errors.append(f"{exporter}: output shape {shapes[0][0]} != torch {shapes[0][1]}")
            path.unlink(missing_ok=True)
            continue
        diff = max(float(np.max(np.abs(g - e))) if e.size else 0.0 for g, e in pairs)
        if not diff <= tolerance:
            errors.append(f"{exporter}: max |onnx - torch| = {diff:.2e} > {tolerance:g}")
            path.unlink(missing_ok=True)
            continue
        return {
            "status": "ok", "exporter": exporter, "max_abs_diff": diff,
            "tolerance": tolerance, "file": path.name,
        }
    return {"status": "failed", "error": "; ".join(errors), "tolerance": tolerance}


def _export_onnx(model: nn.Module, x: torch.Tensor, path: Path, exporter: str) -> None:
    import warnings

    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "dynamo":
            batch = torch.export.Dim("batch", min=1)
            length = torch.export.Dim("length", min=2)
            program = torch.onnx.export(
                model,
                (x,),
                dynamo=True,
                input_names=["x"],
                output_names=["y"],
                dynamic_shapes={"x": {0: batch, 1: length}},
                verbose=False,
            )
            program.save(str(path))
        else:
            torch.onnx.export(
                model,
                (x,),
                str(path),
                dynamo=False,
                input_names=["x"],
                output_names=["y"],
                dynamic_axes={"x": {0: "batch", 1: "length"}, "y": {0: "batch"}},
                opset_version=17,
            )


def _run_onnx(path: Path, x: torch.Tensor) -> np.ndarray:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.asarray(session.run(None, {name: x.numpy()})[0], dtype=np.float32)


def export_model(
    model: nn.Module,
    out_dir: str | Path,
    *,
    info: dict[str, Any] | None = None,
    example: torch.Tensor | None = None,
    onnx: bool = True,
) -> dict[str, Any]:
    """Write ``model`` to ``out_dir`` (weights, config, ONNX when it exports).

    Args:
        model: a registry model (has ``card``, ``spec``, ``config``).
        out_dir: created when missing.
        info: extra JSON for config.json: task, target, class_names, input format, metrics.
        example: an input batch for the ONNX check (a real test batch is best).
        onnx: try the ONNX export.

    Returns:
        The config dict written to ``config.json``.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise SeqSelectError(f"--export {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    model = model.eval().cpu()
    save_weights(model, out / WEIGHTS, metadata={"format": FORMAT, "model": model.card.name})
    config: dict[str, Any] = {"format": FORMAT, **model_description(model), **_jsonable(info or {})}
    if config.get("task") == "forecast":
        missing = [k for k in ("window", "horizon") if k not in (config.get("input") or {})]
        if missing:
            log.warning("forecasting export without %s: predict will refuse it", missing)
    _write_input_pipeline(out, config, model)
    _copy_checkpoint_config(out, config)
    config["weights"] = WEIGHTS
    config["onnx"] = check_onnx(model, out / ONNX, example) if onnx else {"status": "skipped"}
    (out / CONFIG).write_text(json.dumps(config, indent=2, allow_nan=True) + "\n")
    return config


def _write_input_pipeline(out: Path, config: dict[str, Any], model: nn.Module) -> None:
    """Make the export folder carry its input pipeline (so predict takes raw inputs).

    Text: the tokenizer's JSON (``input["tokenizer"]``, as the dataset recorded it) moves
    to ``tokenizer.json`` beside the weights; ``input["truncation"]`` says how long texts
    are cut. Audio: the model's front-end parameters join ``input["audio"]`` (sample rate,
    clip seconds), so the whole path from a file to frames is in one place.
    """
    inp = config.get("input")
    if not isinstance(inp, dict):
        return
    tokenizer = inp.pop("tokenizer", None)
    if tokenizer is not None:
        (out / TOKENIZER).write_text(tokenizer)
        inp["tokenizer_file"] = TOKENIZER
        max_len = int((inp.get("text_pipeline") or {}).get("max_len", 0)) or None
        inp["truncation"] = {"max_len": max_len, "side": "right",
                             "how": "texts longer than max_len tokens keep their first max_len"}
    if isinstance(inp.get("audio"), dict):
        cfg = config.get("config") or {}
        front = {k: cfg[k] for k in FRONTEND_KEYS if k in cfg}
        inp["audio"] = {**inp["audio"], "frontend": front or {"frontend": "waveform"}}


def _copy_checkpoint_config(out: Path, config: dict[str, Any]) -> None:
    """A model built from a local checkpoint (``config["config"]["checkpoint"]``) needs its
    architecture, not its weights (ours are in model.safetensors): the checkpoint's
    ``config.json`` is copied to ``CHECKPOINT/config.json`` and the path made relative to
    the export folder, so the folder works on a machine without the checkpoint."""
    cfg = config.get("config") or {}
    folder = cfg.get("checkpoint")
    if not folder:
        return
    source = Path(folder).expanduser() / CONFIG
    if not source.is_file():
        raise SeqSelectError(f"cannot export: the checkpoint {folder} has no {CONFIG}")
    (out / CHECKPOINT).mkdir(exist_ok=True)
    (out / CHECKPOINT / CONFIG).write_text(source.read_text())
    cfg["checkpoint"] = CHECKPOINT


def load_text_pipeline(model_dir: str | Path, config: dict[str, Any]):
    """The :class:`~seqselect.inputs.text.TextPipeline` saved with a text model, or None
    for a model that does not read text."""
    from seqselect.inputs.text import TextPipeline

    inp = config.get("input") or {}
    if "tokenizer_file" not in inp:
        return None
    path = Path(model_dir) / inp["tokenizer_file"]
    if not path.is_file():
        raise SeqSelectError(f"--model {model_dir}: {inp['tokenizer_file']} is missing; the "
                             "model reads text and needs its tokenizer")
    settings = dict(inp.get("text_pipeline") or {})
    try:
        return TextPipeline.from_dict({**settings, "tokenizer_json": path.read_text()})
    except TypeError as exc:
        raise SeqSelectError(f"{path.parent / CONFIG}: bad input.text_pipeline ({exc})") from None


def read_config(model_dir: str | Path) -> dict[str, Any]:
    """config.json of an export folder, validated."""
    folder = Path(model_dir)
    cfg_path = folder / CONFIG
    if not folder.is_dir():
        raise SeqSelectError(
            f"--model {folder}: no such folder (give a folder written by `seqselect bakeoff "
            "--export`)"
        )
    if not cfg_path.is_file() or not (folder / WEIGHTS).is_file():
        raise SeqSelectError(
            f"--model {folder}: expected {CONFIG} and {WEIGHTS} in the folder (written by "
            "`seqselect bakeoff --export`)"
        )
    try:
        config = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as exc:
        raise SeqSelectError(f"{cfg_path}: not valid JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise SeqSelectError(
            f"{cfg_path}: not a seqselect model config (format {FORMAT!r} expected)"
        )
    return config


def load_model(model_dir: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild an exported model and load its weights: ``(model in eval mode, config)``.

    Nothing is unpickled: the architecture comes from the registry, the numbers from
    safetensors.
    """
    config = read_config(model_dir)
    cfg = config.get("config") or {}
    if cfg.get("checkpoint") and not Path(cfg["checkpoint"]).is_absolute():
        # the architecture copied beside the weights (see _copy_checkpoint_config)
        local = str(Path(model_dir) / cfg["checkpoint"])
        config = {**config, "config": {**cfg, "checkpoint": local}}
    model = build_from_description(config)
    load_weights(model, Path(model_dir) / config.get("weights", WEIGHTS))
    return model.eval(), config
