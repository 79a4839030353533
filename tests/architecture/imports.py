"""The package's import graph, read from the source with ``ast`` (nothing is imported).

Every ``import`` and ``from ... import`` counts, wherever it stands (top level, inside a
function, under ``TYPE_CHECKING``): a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Source folder -> the dotted package it installs as (pyproject's package-dir).
SOURCES = {"harness": "harness", "adapters": "harness.adapters", "probes": "harness.probes"}


@dataclass(frozen=True)
class Module:
    name: str
    path: Path

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    @property
    def folder(self) -> str:
        """The package the file sits in (a package's ``__init__`` is its own folder)."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


def modules(root: Path = ROOT, sources: Mapping[str, str] = SOURCES) -> dict[str, Module]:
    found = {}
    for folder, package in sources.items():
        for path in sorted((root / folder).rglob("*.py")):
            parts = list(path.relative_to(root / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            name = ".".join([package, *parts])
            found[name] = Module(name, path)
    return found


def _targets(node: ast.AST, module: Module, known: Mapping[str, Module]) -> Iterable[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        assert isinstance(node, ast.ImportFrom)
        if node.level:
            base = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            stem = ".".join(base + ([node.module] if node.module else []))
        else:
            stem = node.module or ""
        names = [f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in known else stem for alias in node.names]
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module.name:
            yield name


def import_graph(known: Mapping[str, Module] | None = None) -> dict[str, set[str]]:
    """Module -> the package modules it imports."""
    known = known if known is not None else modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, module in known.items():
        tree = ast.parse(module.path.read_text(encoding="utf-8"), filename=str(module.path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[name].update(_targets(node, module, known))
    return graph


def folder_graph(graph: Mapping[str, set[str]], known: Mapping[str, Module]) -> dict[str, set[str]]:
    """Folder -> folders it imports from (edges inside one folder dropped)."""
    out: dict[str, set[str]] = {}
    for name, targets in graph.items():
        src = known[name].folder
        out.setdefault(src, set())
        for target in targets:
            dst = known[target].folder
            # a package's __init__ re-exporting its own children is not a dependency on them
            if dst != src and not (known[name].is_package and dst.startswith(src + ".")):
                out[src].add(dst)
    return out


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found
