"""Layers point one way: no import cycle between the package's parts.

A part is a subpackage (``audio``, ``speech``, ``transcript``, ``edit``, ``editor``) or a
top-level module (``pipeline``, ``publish``, ...). Every module's source is parsed (ast, nothing
imported or mocked) and every import counted, those inside functions and under
``TYPE_CHECKING`` included: a deferred import still makes the two parts depend on each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import ppod_audio

PACKAGE = Path(ppod_audio.__file__).resolve().parent


def _part(module: str) -> str | None:
    """``ppod_audio.speech.stage`` -> ``speech``; ``ppod_audio.pipeline`` -> ``pipeline``."""
    names = module.split(".")
    if names[0] != "ppod_audio" or len(names) < 2:
        return None
    return names[1]


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    names = list(relative.parts)
    if names[-1] == "__init__":
        names.pop()
    return ".".join(names)


def _imports(path: Path) -> set[str]:
    """Every ``ppod_audio`` module ``path`` imports, relative imports resolved."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            found.add(stem)
            # ``from . import cache`` names a module, not an attribute.
            found.update(f"{stem}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] == "ppod_audio"}


def part_graph() -> dict[str, dict[str, list[str]]]:
    """part -> the parts it imports -> the modules that import them (for the message)."""
    graph: dict[str, dict[str, list[str]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _part(_module_name(path))
        if source is None:
            continue
        for target in map(_part, _imports(path)):
            # ``from . import __version__`` names an attribute, not a part.
            is_part = target and (
                (PACKAGE / target).is_dir() or (PACKAGE / f"{target}.py").is_file()
            )
            if is_part and target != source:
                graph.setdefault(source, {}).setdefault(target, []).append(_module_name(path))
    return graph


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """Every strongly connected set of two or more parts (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_walker_sees_imports_both_ways() -> None:
    """The walker finds real edges (so an empty cycle list means something)."""
    graph = part_graph()
    assert "audio" in graph["pipeline"] and "speech" in graph["pipeline"]
    assert "errors" in graph["audio"]
    assert cycles({"a": {"b": []}, "b": {"c": []}, "c": {"a": []}, "d": {"a": []}}) == [
        ["a", "b", "c"]
    ]


def test_no_import_cycle_between_parts() -> None:
    graph = part_graph()
    found = cycles(graph)
    described = [
        " <-> ".join(group)
        + ": "
        + "; ".join(
            f"{a} -> {b} ({', '.join(sorted(set(graph[a][b])))})"
            for a in group
            for b in group
            if b in graph.get(a, {})
        )
        for group in found
    ]
    assert not found, "\n".join(described)
