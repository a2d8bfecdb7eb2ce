"""The import graph of one of our packages, for tests that forbid import circles (issue 24).

Every import of one module of the package by another counts: lazy ones inside functions and
``TYPE_CHECKING`` ones included, so that a circle cannot hide behind either. A package's
``from . import sub`` counts as an import of ``sub``, not of the package.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

__all__ = ["import_circle", "import_graph", "modules"]


def modules(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package in directory ``package``."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports anywhere in its body."""
    mods = modules(package)
    graph: dict[str, set[str]] = {name: set() for name in mods}
    for name, path in mods.items():
        pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg.split(".")[:len(pkg.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                subs = [f"{target}.{alias.name}" for alias in node.names]
                found = [s for s in subs if s in mods]
                targets = found + ([target] if len(found) < len(subs) else [])
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            graph[name] |= {t for t in targets if t in mods and t != name}
    return graph


def import_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of the graph (its modules, the first repeated at the end), or None."""
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        return list(exc.args[1])
    return None
