"""The shape of the package (issue 9): imports point one way, no module is long.

The import graph is read from the source with `ast` (every import, also those
inside functions, which Python runs as late imports but which tie the modules
just the same), so a cycle cannot hide behind a lazy import.

Layers, in the direction of the data (docs/architecture.md):
    base (errors, spec, rounding, iorw) <- data <- stats <- report <- runner <- cli
A module may import its own layer and the layers to its left, never to its right.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "evalkit"
MAX_LINES = 500
LONG_BY_DESIGN = {"evalkit.data.sample"}  # the sample generator reads as one story (issue 9)
LAYERS = ["base", "data", "stats", "report", "runner", "cli"]
BASE = {"evalkit", "evalkit.errors", "evalkit.spec", "evalkit.rounding", "evalkit.iorw"}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str) -> set[str]:
    """The evalkit modules (and their packages) that module `name` imports, anywhere in its code."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from ..data import y
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:  # evalkit.report.format.fmt_num -> evalkit.report.format
                target = target.rpartition(".")[0]
            parts = target.split(".")
            # importing a.b.c runs the packages a and a.b first
            found |= {".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in MODULES}
    found.discard(name)
    return {m for m in found if m.startswith("evalkit")}


def graph() -> dict[str, set[str]]:
    return {name: imported_modules(name) for name in MODULES}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def layer(name: str) -> str | None:
    if name in BASE:
        return "base"
    if name == "evalkit.cli":
        return "cli"
    part = name.split(".")[1]
    return part if part in LAYERS else None


def test_the_graph_reader_sees_late_relative_and_package_imports():
    """The reader itself: late imports, "from evalkit import module", packages, and the cycle finder."""
    edges = graph()
    assert "evalkit.report.plots" in edges["evalkit.report.municipality"]  # imported inside methods only
    assert {"evalkit.report", "evalkit.report.index"} <= edges["evalkit.runner.export"]  # late, and its package
    assert "evalkit.report.suppression" in edges["evalkit.report.cells"]  # from evalkit.report import suppression
    assert "evalkit.data.privacy" in edges["evalkit.data.pseudonymise"]  # from evalkit.data import privacy
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_evalkit_modules():
    assert cycles(graph()) == []


def test_imports_point_one_way_through_the_layers():
    unplaced = sorted(name for name in MODULES if layer(name) is None)
    assert unplaced == []
    against = sorted((a, b) for a, targets in graph().items() for b in targets
                     if LAYERS.index(layer(b)) > LAYERS.index(layer(a)))
    assert against == []
    assert all(not graph()[name] - {"evalkit"} for name in BASE)  # the base imports no other evalkit module


@pytest.mark.parametrize("name", sorted(set(MODULES) - LONG_BY_DESIGN))
def test_no_module_is_longer_than_about_500_lines(name):
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(SRC)} has {lines} lines"


# Figure code takes already-masked data: report/plots.py formats (report.format), reads the
# base's constants (spec.WEEK_39) and saves through report/render.py (PNG and SVG of a finished
# figure, which imports nothing of evalkit), nothing else of evalkit; masking is the callers' (issue 9).
PLOTS_MAY_IMPORT = {"evalkit", "evalkit.report", "evalkit.report.format", "evalkit.report.render", "evalkit.spec"}


def test_figure_code_imports_only_formatting():
    assert graph()["evalkit.report.plots"] - PLOTS_MAY_IMPORT == set()
    assert graph()["evalkit.report.render"] - {"evalkit", "evalkit.report"} == set()
    assert "evalkit.report.format" in graph()["evalkit.report.plots"]  # the reader sees its imports
