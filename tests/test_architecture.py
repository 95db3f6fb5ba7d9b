"""Imports flow one way: the math never imports I/O, plots, the report or the command line,
and no two parts of the package import each other at module level.

Two conveniences delegate, inside the method, to I/O: ``Session.from_nwb`` and friends
(``data`` -> ``io``) and ``ShaReD.save`` (``estimator`` -> ``persist``); nothing else does.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "sharedrep"
#: the parts that compute (containers, features, statistics, solver, estimator, inference,
#: simulation) and the parts that talk to the outside world, which they must not import
MATH = ("data", "features", "folds", "stats", "solver", "estimator", "selection", "inference",
        "metrics", "simulate", "backend")  # fmt: skip
OUTSIDE = ("io", "plot", "reporting", "cli", "config", "persist", "datasets")
#: the delegations inside methods that the module docstring names
DELEGATES = {"data": {"io"}, "estimator": {"persist"}}


def _part(path: Path) -> str:
    """``stats`` for ``stats/accumulate.py`` and for ``stats.py``."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path, module_level_only: bool) -> set[str]:
    """The parts of the package a file imports (relative imports resolved to the top part)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(PACKAGE)
    depth = len(rel.parts) - 1  # folders between the package and the file
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if not isinstance(node, ast.ImportFrom) or not node.level:
            continue
        up = node.level - 1  # levels above the file's own folder
        if up < depth:  # within the file's own part
            continue
        names = [node.module] if node.module else [a.name for a in node.names]
        found.update(n.split(".")[0] for n in names)
    return found


FILES = sorted(PACKAGE.rglob("*.py"))


MATH_FILES = [p for p in FILES if _part(p) in MATH]


@pytest.mark.parametrize("path", MATH_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_math_never_imports_the_outside_world(path):
    at_load = _imports(path, module_level_only=True) & set(OUTSIDE)
    assert not at_load, f"{path.relative_to(PACKAGE)} imports {sorted(at_load)} at load time"
    inside = _imports(path, module_level_only=False) & set(OUTSIDE)
    extra = inside - DELEGATES.get(_part(path), set())
    assert not extra, f"{path.relative_to(PACKAGE)} imports {sorted(extra)}"


def test_no_import_cycles_between_parts():
    graph: dict[str, set[str]] = {}
    for path in FILES:
        part = _part(path)
        graph.setdefault(part, set()).update(_imports(path, module_level_only=True) - {part})
    # depth-first search for a back edge
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*trail, node, nxt]))
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert {"stats", "estimator", "simulate"} <= set(graph)  # the walk saw the package
