"""The learner library's quick reference: one line per public function and class, with the chapters
whose notebooks use each module (rendered by ``{library-reference}``). The website shows the
Chinese line of ``book/library_zh.yml`` beside the English name; the English docstrings stay in the
code, and ``missing_chinese`` lists what the data file lacks or names in vain."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from docutils import nodes
from sphinx.util.docutils import SphinxDirective

import aibook
from aibook.booktools.site_tables import list_table

NOT_LIBRARY = {"grader", "booktools", "grade"}  # the other two parts, and the grader's old alias
_USE = re.compile(r"\baibook\.(\w+)|\bfrom aibook import ([\w ,]+)")


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str  # "class" or "function"
    summary: str


def library_modules() -> list[str]:
    """Names of the learner library's modules (``aibook.<name>``)."""
    return sorted(m.name for m in pkgutil.iter_modules(aibook.__path__)
                  if m.name not in NOT_LIBRARY and not m.name.startswith("_"))


def first_line(obj) -> str:
    doc = inspect.getdoc(obj) or ""
    return " ".join(doc.split("\n\n", 1)[0].split())


def public_entries(module_name: str) -> list[Entry]:
    """The functions and classes a module defines (not those it imports), in source order."""
    module = importlib.import_module(f"aibook.{module_name}")
    found = []
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(obj) or inspect.isfunction(obj):
            found.append((inspect.getsourcelines(obj)[1], Entry(name, "class" if inspect.isclass(obj)
                                                                 else "function", first_line(obj))))
    return [entry for _, entry in sorted(found)]


def chapter_use(root: Path) -> dict[str, list[int]]:
    """{module: chapters whose notebooks (book/NN_*/) import it}, from the notebooks' code."""
    from aibook.booktools import nbcheck

    modules = set(library_modules())
    use: dict[str, set[int]] = {}
    for path in sorted((root / "book").glob("[0-9][0-9]_*/*.ipynb")):
        chapter = int(path.parent.name[:2])
        code = "\n".join(nbcheck.source(c) for c in nbcheck.code_cells(nbcheck.load(path)))
        for dotted, listed in _USE.findall(code):
            names = [dotted] if dotted else [n.split(" as ")[0].strip() for n in listed.split(",")]
            for name in names:
                if name in modules:
                    use.setdefault(name, set()).add(chapter)
        if "import aibook" in code:
            use.setdefault("device", set()).add(chapter)  # setup_notebook in every first cell
    return {m: sorted(c) for m, c in use.items()}


def reference(root: Path) -> list[tuple[str, str, list[int], list[Entry]]]:
    """(module, its summary, chapters using it, entries), modules ordered by the first chapter that
    uses them; modules no notebook imports (used by other modules) come last."""
    use = chapter_use(root)
    rows = []
    for name in library_modules():
        module = importlib.import_module(f"aibook.{name}")
        rows.append((name, first_line(module), use.get(name, []), public_entries(name)))
    return sorted(rows, key=lambda r: (r[2][0] if r[2] else 99, r[0]))


def chinese_lines(root: Path) -> dict[str, str]:
    """{"module" or "module.name": its Chinese one-liner} from book/library_zh.yml."""
    return yaml.safe_load((root / "book" / "library_zh.yml").read_text(encoding="utf-8")) or {}


def missing_chinese(root: Path) -> tuple[list[str], list[str]]:
    """(keys of the library without a Chinese line, keys of the data file that name nothing)."""
    lines = chinese_lines(root)
    keys = []
    for module in library_modules():
        keys += [module] + [f"{module}.{e.name}" for e in public_entries(module)]
    return [k for k in keys if not str(lines.get(k, "")).strip()], sorted(set(lines) - set(keys))


class LibraryReference(SphinxDirective):
    """``{library-reference}``: every public function and class of the learner library, one line
    each from its docstring, grouped by module in the order the chapters first use them."""

    def run(self) -> list[nodes.Node]:
        root = Path(self.env.srcdir)
        self.env.note_dependency(str(root / "book" / "library_zh.yml"))
        chinese = chinese_lines(root)
        missing, _ = missing_chinese(root)
        if missing:
            raise self.error(f"book/library_zh.yml has no Chinese line for {missing}")
        out: list[nodes.Node] = []
        for module, _summary, chapters, entries in reference(root):
            where = ("用于第 " + "、".join(map(str, chapters)) + " 章") if chapters else "供其他模块使用"
            rows = [[f"`{e.name}`" + ("（类）" if e.kind == "class" else ""), chinese[f"{module}.{e.name}"]]
                    for e in entries]
            source = Path(__import__(f"aibook.{module}", fromlist=["_"]).__file__)
            header = ["名称", "作用"]
            table = (list_table(self, source, "", "library-table", "44 56", header, rows)[1:]
                     if rows else [nodes.paragraph(text="（只有数据，没有函数。）")])
            title = nodes.paragraph()
            title += nodes.strong(text=f"aibook.{module}")
            title += nodes.Text(f"（{where}）：{chinese[module]}")
            out += [title, *table]
        return out
