"""Synthetic sequence tasks with seeded generators, each as defined by the paper that made it.

Name them as ``task:NAME?param=value&...`` (e.g. ``task:adding?length=600&n=5000``).
Every generator is a pure function of its parameters and ``seed``: the same call gives
the same arrays on any machine (NumPy's PCG64 / Python's Mersenne Twister).

============  =================================================================  ==========
name          definition                                                         reference
============  =================================================================  ==========
adding        x (N, T, 2): channel 0 ~ U[0, 1], channel 1 marks exactly two      Bai et al.
              distinct positions; y = sum of the two marked values (regress).    2018
              Predicting the constant 1 scores MSE = Var(U1 + U2) = 1/6.
copy_memory   tokens: 10 digits from 1..8, T-1 zeros, then eleven 9s (the first  Bai et al.
              is the delimiter) - length T+20; per-step targets: T+10 zeros      2018
              then the 10 digits. Baseline (zeros, then uniform guesses):
              cross-entropy 10 ln 8 / (T+20).
selective_    tokens: n_memorize data tokens (1..vocab-1) at random distinct     Gu & Dao
copy          positions among noise tokens (0), then n_memorize marker tokens    2023
              (id = vocab); targets: the data tokens in order at the marker
              positions, not scored elsewhere. Total length = ``length``.
mqar          P key-value pairs (distinct keys), then noise in which Q of the    Arora et
              keys recur; per-step targets: the bound value at each query        al. 2023
              position, not scored elsewhere (``data/recall.py``).               (Zoology)
listops       LRA's ListOps: nested [MIN/[MAX/[MED/[SM expressions over digits   Tay et al.
              0-9, max_args per operator, max_depth; value = 10-way class.       2021
              Tokens as in LRA/S4 (brackets "(" ")" dropped, "]" kept); lengths
              in (min_length, length), rejection-sampled as LRA does.
seq_digits    scikit-learn's bundled 8x8 digits (1,797 images, NOT MNIST) read  Le et al.
              pixel by pixel: 64 steps x 1 channel, values / 16; 10 classes.     2015 (style)
pseq_digits   the same with a fixed pixel permutation (``perm_seed``).
============  =================================================================  ==========

Published numbers for these tasks: ``shared/reference/published-results.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from seqselect.data.listops import LISTOPS_VOCAB, listops
from seqselect.data.recall import mqar, mqar_vocab_size
from seqselect.data.types import IGNORE_INDEX
from seqselect.data.validate import split_counts
from seqselect.errors import DataError
from seqselect.vocabulary import model_task_for

__all__ = [
    "LISTOPS_VOCAB",
    "TASKS",
    "TaskSpec",
    "adding_problem",
    "copy_memory",
    "copy_memory_baseline",
    "describe_task",
    "generate_task",
    "listops",
    "mqar",
    "selective_copy",
    "seq_digits",
]

#: Symbols copy memory asks to recall (Bai et al. 2018); they and their recall steps add
#: ``2 * COPY_MEMORY_SYMBOLS`` to the blank span T.
COPY_MEMORY_SYMBOLS = 10
#: scikit-learn's digits: 8 x 8 pixels per image, 1,797 images.
DIGIT_PIXELS = 64
DIGIT_IMAGES = 1797


def adding_problem(n: int, length: int, seed: int = 0) -> dict[str, Any]:
    """Bai et al. 2018's adding problem.

    Returns ``x: (n, length, 2)`` float32, ``y: (n, 1)`` float32, all steps real.
    """
    if length < 2:
        raise DataError(f"adding: length must be >= 2 (two marked positions), got {length}")
    rng = np.random.default_rng(seed)
    values = rng.random((n, length), dtype=np.float32)
    first = rng.integers(0, length, size=n)
    # A second position uniform over the other length-1 ones: distinct by construction.
    second = (first + rng.integers(1, length, size=n)) % length
    marks = np.zeros((n, length), dtype=np.float32)
    rows = np.arange(n)
    marks[rows, first] = 1.0
    marks[rows, second] = 1.0
    y = values[rows, first] + values[rows, second]
    x = np.stack([values, marks], axis=-1)  # (n, length, 2)
    return {
        "x": torch.from_numpy(x),
        "mask": torch.ones(n, length, dtype=torch.bool),
        "y": torch.from_numpy(y.astype(np.float32)).unsqueeze(1),
        "d_input": 2,
        "d_output": 1,
        "task": "regress",
        "model_task": "regress",
        "metadata": {"baseline_mse": 1.0 / 6.0, "baseline": "predict 1 (the mean)"},
    }


def copy_memory_baseline(
    length: int, n_memorize: int = COPY_MEMORY_SYMBOLS, n_symbols: int = 8
) -> float:
    """Cross-entropy of the memoryless strategy: zeros, then uniform over the symbols.

    ``n_memorize * ln(n_symbols) / (length + 2 * n_memorize)`` (Bai et al. 2018): 10 ln 8 /
    (T + 20) for the paper's setting.
    """
    return n_memorize * math.log(n_symbols) / (length + 2 * n_memorize)


def copy_memory(
    n: int, length: int, seed: int = 0, n_memorize: int = COPY_MEMORY_SYMBOLS
) -> dict[str, Any]:
    """Bai et al. 2018's copy memory task (their ``copy_memory/utils.py``).

    ``length`` is T, the blank span. Tokens 0 (blank), 1-8 (symbols), 9 (delimiter / wait).
    Returns ``x: (n, T+20)`` long, per-step ``y: (n, T+20)`` long, 10 classes.
    """
    if length < 1:
        raise DataError(f"copy_memory: length (T) must be >= 1, got {length}")
    rng = np.random.default_rng(seed)
    m = n_memorize
    digits = rng.integers(1, 9, size=(n, m))  # symbols 1..8
    total = length + 2 * m
    x = np.zeros((n, total), dtype=np.int64)
    x[:, :m] = digits
    x[:, m + length - 1 :] = 9  # delimiter, then m more 9s: m + 1 nines in all
    y = np.zeros((n, total), dtype=np.int64)
    y[:, -m:] = digits
    return {
        "x": torch.from_numpy(x),
        "mask": torch.ones(n, total, dtype=torch.bool),
        "y": torch.from_numpy(y),
        "vocab_size": 10,
        "d_output": 10,
        "task": "classify",
        "model_task": "per_step",
        "class_names": [str(i) for i in range(10)],
        "metadata": {
            "baseline_cross_entropy": copy_memory_baseline(length, m),
            "baseline": "blank until the delimiter, then uniform over the 8 symbols",
            "scored_positions": "all",
        },
    }


def selective_copy(
    n: int, length: int, seed: int = 0, n_memorize: int = 16, vocab: int = 16
) -> dict[str, Any]:
    """Gu & Dao 2023's selective copying (Mamba, Table 1).

    Token ids: 0 noise, 1..vocab-1 data, ``vocab`` the marker ("now recall"). ``vocab``
    counts the noise token, as the paper's "vocabulary 16 including the noise token".
    Returns ``x: (n, length)`` long and per-step ``y: (n, length)`` long, with
    ``IGNORE_INDEX`` except at the final ``n_memorize`` positions.
    """
    content = length - n_memorize
    if content < n_memorize:
        raise DataError(
            f"selective_copy: length={length} leaves {content} positions for "
            f"{n_memorize} tokens to memorize; use length >= {2 * n_memorize}"
        )
    if vocab < 2:
        raise DataError(f"selective_copy: vocab must be >= 2 (noise + data), got {vocab}")
    rng = np.random.default_rng(seed)
    data = rng.integers(1, vocab, size=(n, n_memorize))
    # n_memorize distinct positions per row, in increasing order (the order to recall).
    positions = np.sort(np.argsort(rng.random((n, content)), axis=1)[:, :n_memorize], axis=1)
    x = np.zeros((n, length), dtype=np.int64)
    np.put_along_axis(x[:, :content], positions, data, axis=1)
    x[:, content:] = vocab
    y = np.full((n, length), IGNORE_INDEX, dtype=np.int64)
    y[:, content:] = data
    return {
        "x": torch.from_numpy(x),
        "mask": torch.ones(n, length, dtype=torch.bool),
        "y": torch.from_numpy(y),
        "vocab_size": vocab + 1,
        "d_output": vocab + 1,
        "task": "classify",
        "model_task": "per_step",
        "class_names": [str(i) for i in range(vocab + 1)],
        "metadata": {
            "chance_accuracy": 1.0 / (vocab - 1),
            "scored_positions": f"last {n_memorize}",
        },
    }


# ---- digits ----------------------------------------------------------------------------
def seq_digits(
    n: int | None = None, seed: int = 0, permute: bool = False, perm_seed: int = 0
) -> dict[str, Any]:
    """scikit-learn's bundled 8x8 digits (not MNIST) as 64-step, 1-channel sequences.

    ``permute``: apply one fixed pixel permutation drawn from ``perm_seed`` (the same for
    every split and every ``seed``), as permuted sequential MNIST does. ``n`` subsamples.
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    x = data.data.astype(np.float32) / 16.0  # (1797, 64), pixel values 0..16
    y = data.target.astype(np.int64)
    if n is not None and n < len(x):
        keep = np.sort(np.random.default_rng(seed).permutation(len(x))[:n])
        x, y = x[keep], y[keep]
    meta: dict[str, Any] = {
        "image": "8x8 (scikit-learn load_digits; not MNIST)",
        "chance_accuracy": 0.1,
    }
    if permute:
        perm = np.random.default_rng(perm_seed).permutation(DIGIT_PIXELS)
        x = x[:, perm]
        meta["permutation"] = perm.tolist()
    return {
        "x": torch.from_numpy(np.ascontiguousarray(x)).unsqueeze(-1),  # (N, 64, 1)
        "mask": torch.ones(len(x), DIGIT_PIXELS, dtype=torch.bool),
        "y": torch.from_numpy(y),
        "d_input": 1,
        "d_output": 10,
        "task": "classify",
        "model_task": "classify",
        "class_names": [str(i) for i in range(10)],
        "metadata": meta,
    }


# ---- the registry of tasks ---------------------------------------------------------------
def _length_param(params: dict[str, Any]) -> int:
    return params["length"]


@dataclass(frozen=True)
class TaskSpec:
    """A named synthetic task: its generator, default parameters and what it produces.

    The shape facts (``task``, ``per_step``, ``channels``, ``length_at``, ``classes_at``)
    describe the generator's output without running it, for listings.
    """

    name: str
    generate: Callable[..., dict[str, Any]]
    defaults: dict[str, Any]
    summary: str
    reference: str
    data_type: str  # what the advisor should treat it as
    task: str  # the dataset task the generator returns: classify or regress
    per_step: bool = False  # one target per step (model task per_step)
    channels: int | None = None  # input channels; None: token ids
    #: Sequence length at these parameters (copy memory adds its 2 x 10 recall steps).
    length_at: Callable[[dict[str, Any]], int] = _length_param
    #: Number of classes at these parameters (None for regression).
    classes_at: Callable[[dict[str, Any]], int | None] = lambda params: 10
    n_all: int | None = None  # examples the source holds, used when ``n`` is None
    aliases: tuple[str, ...] = field(default=())

    @property
    def model_task(self) -> str:
        """The ``create_model(task=...)`` the generated data needs."""
        return model_task_for(self.task, per_step=self.per_step)

    @property
    def listed_task(self) -> str:
        """The task as ``seqselect datasets`` shows it: ``per-step`` for per-step tasks."""
        return self.model_task.replace("_", "-") if self.per_step else self.task

    def default_size(self) -> int:
        """Examples generated with the default parameters."""
        n = self.defaults.get("n")
        return n if n is not None else int(self.n_all or 0)


TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec(
            "adding", adding_problem, {"n": 2000, "length": 200},
            "Sum of the two marked values among `length` uniform ones (regression).",
            "Bai, Kolter & Koltun 2018 (arXiv:1803.01271); paper: T=600, 50k train",
            "time-series", task="regress", channels=2, classes_at=lambda params: None,
            aliases=("adding_problem",),
        ),
        TaskSpec(
            "copy_memory", copy_memory, {"n": 2000, "length": 200},
            "Recall 10 symbols after a blank span of T=`length` steps (per-step, 10 classes).",
            "Bai, Kolter & Koltun 2018; paper: T=1000",
            "other", task="classify", per_step=True,
            length_at=lambda params: params["length"] + 2 * COPY_MEMORY_SYMBOLS,
            aliases=("copy", "copymem", "copy-memory"),
        ),
        TaskSpec(
            "selective_copy", selective_copy,
            {"n": 2000, "length": 256, "n_memorize": 16, "vocab": 16},
            "Recall the data tokens scattered among noise, in order (per-step).",
            "Gu & Dao 2023 (Mamba), Table 1; paper: length 4096",
            "text", task="classify", per_step=True,
            classes_at=lambda params: params["vocab"] + 1,  # data tokens, noise and marker
            aliases=("selective-copy", "selcopy"),
        ),
        TaskSpec(
            "mqar", mqar,
            {"n": 2000, "length": 256, "n_pairs": 16, "n_queries": 16, "n_keys": 64,
             "n_values": 64},
            "Recall the value bound to each queried key, many queries per context (per-step).",
            "Arora et al. 2023 (Zoology, arXiv:2312.04927); paper: vocab 8192, L 64-512",
            "text", task="classify", per_step=True,
            classes_at=lambda params: mqar_vocab_size(params["n_keys"], params["n_values"]),
            aliases=("multi_query_recall", "associative_recall", "multi-query-recall"),
        ),
        TaskSpec(
            "listops", listops,
            {"n": 1000, "length": 2000, "min_length": None, "max_depth": 10, "max_args": 10},
            "Value of a nested MIN/MAX/MED/SM expression (10 classes).",
            "Tay et al. 2021 (Long Range Arena); 500 < tokens < 2000",
            "text", task="classify", aliases=("list_ops",),
        ),
        TaskSpec(
            "seq_digits", lambda **kw: seq_digits(**kw, permute=False), {"n": None},
            "scikit-learn 8x8 digits read pixel by pixel (64 steps; not MNIST).",
            "sequential-MNIST protocol (Le et al. 2015) on sklearn's digits",
            "other", task="classify", channels=1, length_at=lambda params: DIGIT_PIXELS,
            n_all=DIGIT_IMAGES, aliases=("seq-digits", "sdigits"),
        ),
        TaskSpec(
            "pseq_digits", lambda **kw: seq_digits(**kw, permute=True), {"n": None, "perm_seed": 0},
            "seq_digits with one fixed pixel permutation.",
            "permuted sequential-MNIST protocol on sklearn's digits",
            "other", task="classify", channels=1, length_at=lambda params: DIGIT_PIXELS,
            n_all=DIGIT_IMAGES, aliases=("pseq-digits", "psdigits"),
        ),
    )
}


def describe_task(
    spec: TaskSpec, val_fraction: float = 0.15, test_fraction: float = 0.2
) -> dict[str, Any]:
    """The listing row of a task at its default parameters (sizes of the default split)."""
    n = spec.default_size()
    n_val, n_test = split_counts(n, val_fraction, test_fraction)
    return {
        "name": f"task:{spec.name}",
        "kind": "synthetic",
        "task": spec.listed_task,
        "length": spec.length_at(spec.defaults),
        "channels": spec.channels,
        "classes": spec.classes_at(spec.defaults),
        "n_train": n - n_val - n_test,
        "n_test": n_test,
        "description": spec.summary,
        "reference": spec.reference,
        "parameters": sorted([*spec.defaults, "seed"]),
    }


_ALIASES = {alias: spec.name for spec in TASKS.values() for alias in (spec.name, *spec.aliases)}


def _parse_param(value: str, default: Any, name: str, task: str) -> Any:
    """Parse a query-string value to the type of its default."""
    try:
        if isinstance(default, bool):
            if value.lower() in ("1", "true", "yes"):
                return True
            if value.lower() in ("0", "false", "no"):
                return False
            raise ValueError(value)
        if isinstance(default, float):
            return float(value)
        return int(value)  # ints, and None defaults (all integer parameters)
    except ValueError:
        raise DataError(f"task:{task}: parameter {name}={value!r} is not a valid number") from None


def resolve_task(name: str) -> TaskSpec:
    key = name.strip().lower().replace("-", "_")
    if key not in _ALIASES and name not in _ALIASES:
        import difflib

        close = difflib.get_close_matches(key, list(_ALIASES), n=2)
        hint = f" Did you mean task:{close[0]}?" if close else ""
        raise DataError(f"unknown task {name!r}.{hint} Tasks: {', '.join(TASKS)}")
    return TASKS[_ALIASES.get(key, _ALIASES.get(name))]


def generate_task(
    name: str, params: dict[str, str] | None = None, seed: int = 0
) -> tuple[TaskSpec, dict[str, Any], dict[str, Any]]:
    """Run the generator of task ``name`` with string parameters from a source's query.

    Returns ``(spec, used_params, result)``. Unknown parameters raise :class:`DataError`.
    """
    spec = resolve_task(name)
    used = dict(spec.defaults)
    for key, value in (params or {}).items():
        if key == "seed":
            seed = _parse_param(value, 0, key, spec.name)
            continue
        if key not in used:
            raise DataError(
                f"task:{spec.name} takes no parameter {key!r}; it takes: "
                f"{', '.join([*used, 'seed'])}"
            )
        used[key] = _parse_param(value, used[key], key, spec.name)
    n = used.get("n")
    if n is not None and n < 1:
        raise DataError(f"task:{spec.name}: n must be >= 1, got {n}")
    kwargs = {k: v for k, v in used.items() if not (v is None and k in ("min_length",))}
    result = spec.generate(seed=seed, **kwargs)
    used["seed"] = seed
    return spec, used, result
