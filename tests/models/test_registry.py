"""The registry (``models/registry.py``): duplicates, unknown names and overrides, params
matching, tasks, and an import graph without cycles (the registry imports no model file)."""

from __future__ import annotations

import ast
import pathlib
from dataclasses import dataclass

import pytest
from torch import nn

import seqselect.models
from seqselect.models import ModelCard, create_model, list_models, register_model


def test_duplicate_name_raises():
    @dataclass
    class Cfg:
        d_model: int = 4

    card = ModelCard(
        name="lstm", family="rnn", year=1997, time_complexity="O(L)",
        memory_complexity="O(L)", causal=True, streaming=True, max_len=None, summary="dup",
    )
    assert "lstm" in list_models()  # the zoo is loaded, so "lstm" is taken
    with pytest.raises(ValueError, match="already registered"):
        register_model(card, Cfg)(lambda spec, cfg: nn.Identity())


def test_unknown_name_suggests_close_names():
    with pytest.raises(KeyError, match="Did you mean.*lstm"):
        create_model("lstmm", d_input=1, d_output=2)


def test_unknown_override_lists_accepted_ones():
    with pytest.raises(TypeError, match=r"does not take override\(s\) window.*accepts: d_model"):
        create_model("lstm", d_input=1, d_output=2, window=3)


def test_params_and_d_model_together_raise():
    with pytest.raises(ValueError, match="either params= or d_model="):
        create_model("tcn", d_input=1, d_output=2, params=10_000, d_model=8)


def test_non_causal_model_refuses_causal():
    with pytest.raises(ValueError, match="cannot run causally"):
        create_model("bilstm", d_input=1, d_output=2, causal=True)


def test_exactly_one_input_kind():
    with pytest.raises(ValueError, match="exactly one of d_input"):
        create_model("tcn", d_output=2)
    with pytest.raises(ValueError, match="exactly one of d_input"):
        create_model("tcn", d_input=2, vocab_size=5, d_output=2)


def test_bad_task_raises():
    with pytest.raises(ValueError, match="task must be one of"):
        create_model("tcn", d_input=1, d_output=2, task="segment")


def _imports_of(path: pathlib.Path) -> set[str]:
    """Modules a file imports, ``from pkg import submodule`` counted as the submodule."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _models_import_graph() -> dict[str, set[str]]:
    """``module -> the seqselect.models modules it imports`` for every file of models/."""
    package_dir = pathlib.Path(seqselect.models.__file__).parent
    modules = {}
    for path in package_dir.rglob("*.py"):
        parts = path.relative_to(package_dir.parent.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph = {}
    for name, path in modules.items():
        imported = _imports_of(path) & set(modules)
        # "from seqselect.models import zoo" names the submodule, not the package itself
        graph[name] = {m for m in imported if m != name and not any(
            other.startswith(m + ".") and other in imported for other in modules)}
    return graph


def test_the_registry_imports_no_model_file():
    graph = _models_import_graph()
    assert graph["seqselect.models.registry"] <= {"seqselect.models.base"}


def test_models_have_no_import_cycle():
    graph = _models_import_graph()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        assert module not in path, f"import cycle: {' -> '.join([*path, module])}"
        if module in done:
            return
        for imported in sorted(graph[module]):
            visit(imported, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
