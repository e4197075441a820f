"""The package's three parts and their one-way imports, checked statically (every import
statement, also those inside functions): the learner library never imports the grader or the
book tooling, the grader never imports the tooling, and no module takes part in an import circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "aibook"
ALIASES = {"aibook.grade"}  # old name of 'python -m aibook.grader', kept for one release
MAX_LINES = 300
REASON = "Over 300 lines on purpose"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def part(module: str) -> str:
    for name in ("grader", "booktools"):
        if module == f"aibook.{name}" or module.startswith(f"aibook.{name}."):
            return name
    return "library"


def imported_modules(module: str) -> set[str]:
    """The aibook modules ``module`` imports (``from aibook import x`` counts as aibook.x)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        found |= {n for n in names if n in MODULES and n != module}
    return found


GRAPH = {m: imported_modules(m) for m in MODULES}
ALLOWED = {"library": {"library"}, "grader": {"library", "grader"},
           "booktools": {"library", "grader", "booktools"}}


@pytest.mark.parametrize("module", sorted(set(MODULES) - ALIASES))
def test_imports_flow_one_way(module):
    wrong = sorted(m for m in GRAPH[module] if part(m) not in ALLOWED[part(module)])
    assert not wrong, f"{module} ({part(module)}) must not import {wrong}: see the README's layout table"


def test_the_alias_is_the_only_exception_and_still_works():
    assert GRAPH["aibook.grade"] == {"aibook.grader.cli"}


def test_no_import_circles():
    """Every cycle in the module graph, found by depth-first search; packages that import their
    own submodules (``aibook.grader`` -> ``aibook.grader.check``) are edges like any other."""
    cycles, state = [], {}

    def visit(m, stack):
        state[m] = "open"
        for n in sorted(GRAPH[m]):
            if state.get(n) == "open":
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n, stack + [n])
        state[m] = "done"

    for m in sorted(MODULES):
        if m not in state:
            visit(m, [m])
    # a submodule importing its parent package's name is not a circle Python trips on only if
    # the parent does not import it back; report every circle anyway
    assert not cycles, "import circles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_three_parts_exist_and_the_library_imports_cleanly():
    assert {part(m) for m in MODULES} == {"library", "grader", "booktools"}
    assert "aibook.grader.check" in MODULES and "aibook.booktools.nbrun" in MODULES


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_are_short_or_say_why(module):
    lines = MODULES[module].read_text(encoding="utf-8").splitlines()
    tree = ast.parse("\n".join(lines))
    first_import = next((n.lineno for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))),
                        len(lines))
    top = lines[:first_import]
    assert len(lines) <= MAX_LINES or any(REASON in line for line in top), (
        f"{MODULES[module].relative_to(PACKAGE.parent)} has {len(lines)} lines: split it, or write "
        f"'# {REASON}: ...' above its imports")
