"""House rules of ARCHITECTURE.md, checked: file and function sizes, and import cycles.

    python scripts/check_structure.py [--max-file 500] [--max-function 80]

Exits 1 and lists every breach. Imports inside functions count too: a cycle hidden in a
function body is still a cycle a reader has to untangle.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(tree: ast.AST, name: str, is_package: bool, known: set[str]) -> set[str]:
    """The package's own modules that ``tree`` imports (``from x import y`` counts ``x.y``
    when ``x.y`` is a module)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = {f"{base}.{alias.name}" for alias in node.names} & known
            # ``from pkg import module`` needs the module, not the rest of the package.
            found.update(submodules if len(submodules) == len(node.names) else {base})
            found.update(submodules)
    return {m for m in found if m in known}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return cycles


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-file", type=int, default=500)
    parser.add_argument("--max-function", type=int, default=80)
    args = parser.parse_args()
    files = sorted(ROOT.rglob("*.py"))
    known = {module_name(p) for p in files}
    problems: list[str] = []
    graph: dict[str, set[str]] = {}
    for path in files:
        text = path.read_text()
        tree = ast.parse(text)
        name = module_name(path)
        lines = len(text.splitlines())
        if lines > args.max_file:
            problems.append(f"{path.relative_to(ROOT)}: {lines} lines > {args.max_file}")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > args.max_function:
                    problems.append(
                        f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {length} lines"
                    )
        deps = imported_modules(tree, name, path.name == "__init__.py", known)
        graph[name] = {d for d in deps if d != name}
    for cycle in find_cycles(graph):
        problems.append("import cycle: " + " <-> ".join(cycle))
    for problem in problems:
        print(problem)
    print(f"{len(files)} files checked: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
