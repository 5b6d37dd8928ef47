"""The package's floors, read from its source: each layer imports only the
layers below it (text, then model and errors, codec, fold, analysis,
render, lutest, cli), no module imports itself back through others, no
class runs over 300 lines, and no function's cyclomatic complexity over 25
(as radon counts it, where radon is installed)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "xsdump"
FLOORS = ["text", "model", "errors", "codec", "fold", "analysis", "render", "lutest", "cli", "__main__"]
MOST_CLASS_LINES = 300
MOST_COMPLEXITY = 25


def modules() -> dict[str, Path]:
    """Every module by dotted name (``xsdump.codec.scan``)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imported(path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules ``path`` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found.update(n for n in names if n in known and n.startswith("xsdump."))
    return found


def floor(module: str) -> int:
    parts = module.split(".")
    return FLOORS.index(parts[1]) if len(parts) > 1 else -1  # the package's face: below everything


def test_no_import_runs_back_up():
    known = modules()
    up = [f"{m} ({FLOORS[floor(m)]}) imports {i} ({FLOORS[floor(i)]})"
          for m, path in known.items() if floor(m) >= 0
          for i in sorted(imported(path, known)) if floor(i) > floor(m)]
    assert not up, "\n".join(up)


def test_no_import_circle():
    known = modules()
    graph = {m: {i for i in imported(path, known) if i != m} for m, path in known.items()}
    done: set[str] = set()

    def visit(module: str, trail: list[str]) -> None:
        if module in trail:
            pytest.fail("a circle: " + " -> ".join(trail[trail.index(module):] + [module]))
        if module in done:
            return
        for nxt in sorted(graph[module]):
            visit(nxt, trail + [module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


def test_no_class_over_300_lines():
    long = [f"{path.relative_to(PACKAGE.parent)}: {node.name} {node.end_lineno - node.lineno + 1} lines"
            for path in modules().values() for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MOST_CLASS_LINES]
    assert not long, "\n".join(long)


def test_no_function_over_complexity_25():
    cc_visit = pytest.importorskip("radon.complexity", reason="the complexity floor is measured by radon "
                                   "(pip install radon)").cc_visit
    tangled = [f"{path.relative_to(PACKAGE.parent)}: {block.fullname} {block.complexity}"
               for path in modules().values() for block in cc_visit(path.read_text())
               if block.complexity > MOST_COMPLEXITY]
    assert not tangled, "\n".join(tangled)
