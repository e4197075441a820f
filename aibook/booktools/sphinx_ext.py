"""Sphinx extension for the book's website: small fixes that keep every page offline and clean.

- Drops duplicate <script> entries (sphinx-thebe's config script is added twice under Jupyter
  Book 1, which makes the browser report "Identifier 'THEBE_JS_URL' has already been declared").
- Gives the theme an explicit default colour mode so its script logs no error.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


def list_table(directive: SphinxDirective, source: Path, summary: str, css_class: str, widths: str,
               header: list[str], rows: list[list[str]]) -> list[nodes.Node]:
    """A summary line and a MyST list-table of ``rows`` (cells are MyST, so roles such as {doc} work),
    parsed in the directive's context; ``source`` is the data file, a dependency of the page."""
    directive.env.note_dependency(str(source))
    lines = [":::{list-table}", ":header-rows: 1", f":widths: {widths}", ":width: 100%",
             f":class: {css_class}", ""]
    for row in [header, *rows]:
        lines += [f"{'*' if i == 0 else ' '} - {cell}" for i, cell in enumerate(row)]
    lines.append(":::")
    container = nodes.container()
    directive.state.nested_parse(StringList(lines, source=str(source)), directive.content_offset, container)
    return [nodes.paragraph(text=summary), *container.children]


def _one_line(text) -> str:
    return " ".join(str(text).split())


class ErrataTable(SphinxDirective):
    """``{errata-table}``: the article's errors from ``book/errata/ch*.yml`` as one table.

    Each row links to the cell that proves the correction with a ``{ref}`` to its label, so a
    label that does not exist breaks the (nitpicky, warnings-as-errors) build.
    """

    def run(self) -> list[nodes.Node]:
        folder = Path(self.env.srcdir) / "book" / "errata"
        rows = []
        for path in sorted(folder.glob("ch*.yml")):
            self.env.note_dependency(str(path))
            for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
                label = entry["proof"].partition("#")[2]
                rows.append([f"第 {entry['chapter']} 章：{_one_line(entry['where'])}",
                             _one_line(entry["article"]),
                             f"{_one_line(entry['correct'])}（{{ref}}`证明 <{label}>`）"])
        # three columns so the table fits a page: where (with the chapter), the article's
        # words, and the correction with its proof link
        return list_table(self, folder, f"共 {len(rows)} 处错误。", "errata-table", "20 38 42",
                          ["位置", "原文写法", "正确写法（证明）"], rows)


class GlossaryTable(SphinxDirective):
    """``{glossary-table}``: ``book/glossary.yml`` as a table sorted by English term, each term linked
    with ``{doc}`` to the page that teaches it (a missing page breaks the nitpicky build)."""

    def run(self) -> list[nodes.Node]:
        path = Path(self.env.srcdir) / "book" / "glossary.yml"
        entries = sorted(yaml.safe_load(path.read_text(encoding="utf-8")), key=lambda e: e["en"].lower())
        rows = [[e["zh"], e["en"], _one_line(e["definition"]), f"{{doc}}`/{e['where']}`"] for e in entries]
        return list_table(self, path, f"共 {len(rows)} 个术语，按英文排序。", "glossary-table", "12 22 40 26",
                          ["中文", "English", "释义", "在哪里学"], rows)


GPU_WORDS = {True: "有帮助", False: "无明显帮助"}


class RuntimeTable(SphinxDirective):
    """``{runtime-table}``: every notebook's run time from ``book/runtimes.json`` (written from a
    test run by ``python -m aibook.booktools.runtimes update``), with whether a GPU helps it (the notebook's
    ``aibook.gpu`` metadata). Nothing in it is typed by hand."""

    def run(self) -> list[nodes.Node]:
        root = Path(self.env.srcdir)
        record_path = root / "book" / "runtimes.json"
        record = json.loads(record_path.read_text(encoding="utf-8"))
        rows = []
        for notebook, seconds in record["notebooks"].items():
            nb = json.loads((root / notebook).read_text(encoding="utf-8"))
            gpu = nb.get("metadata", {}).get("aibook", {}).get("gpu")
            doc = "/" + notebook.removesuffix(".ipynb")
            if notebook.startswith("solutions/") and self.config.aibook_edition == "student":
                continue  # the student edition has no answer keys: no row, no link
            if notebook.startswith("solutions/"):  # its title is the exercise's: say it is the answer key
                link = f"{{doc}}`第 {int(Path(notebook).stem[2:])} 章练习的参考答案 <{doc}>`"
            else:
                link = f"{{doc}}`{doc}`"
            rows.append([link, f"{seconds:.0f}", GPU_WORDS.get(gpu, "—")])
        total = sum(record["notebooks"].values())
        summary = (f"共 {len(rows)} 个笔记本，合计 {total / 60:.1f} 分钟。"
                   f"测量环境：{record['machine']}；{record['setting']}。")
        return list_table(self, record_path, summary, "runtime-table", "62 18 20",
                          ["笔记本", "运行时间（秒）", "GPU"], rows)


class LibraryReference(SphinxDirective):
    """``{library-reference}``: every public function and class of the learner library, one line
    each from its docstring, grouped by module in the order the chapters first use them."""

    def run(self) -> list[nodes.Node]:
        from aibook.booktools.library_reference import reference

        root = Path(self.env.srcdir)
        out: list[nodes.Node] = []
        for module, summary, chapters, entries in reference(root):
            where = ("用于第 " + "、".join(map(str, chapters)) + " 章") if chapters else "供其他模块使用"
            rows = [[f"`{e.name}`" + (" (class)" if e.kind == "class" else ""), e.summary or "—"]
                    for e in entries]
            source = Path(__import__(f"aibook.{module}", fromlist=["_"]).__file__)
            header = ["name", "what it does"]
            table = (list_table(self, source, "", "library-table", "30 70", header, rows)[1:]
                     if rows else [nodes.paragraph(text="（只有数据，没有函数。）")])
            title = nodes.paragraph()
            title += nodes.strong(text=f"aibook.{module}")
            title += nodes.Text(f"（{where}）：{summary}")
            out += [title, *table]
        return out


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {}) or {}
        # inline scripts come with filename None or "" from different extensions: treat alike
        key = (getattr(script, "filename", None) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def _default_mode(app, pagename, templatename, context, doctree) -> None:
    context.setdefault("default_mode", "auto")
    if not context["default_mode"]:
        context["default_mode"] = "auto"


def _mark_edition(app, config) -> None:
    """``{only} not student`` blocks drop out of the student edition (no answer keys)."""
    if config.aibook_edition not in ("full", "student"):
        raise ValueError(f"aibook_edition must be 'full' or 'student', got {config.aibook_edition!r}")
    if config.aibook_edition == "student":
        app.tags.add("student")


def setup(app):
    # "student": the website without answer keys (python -m aibook.booktools.student_edition)
    app.add_config_value("aibook_edition", "full", "env")
    app.connect("config-inited", _mark_edition)
    app.add_directive("errata-table", ErrataTable)
    app.add_directive("runtime-table", RuntimeTable)
    app.add_directive("glossary-table", GlossaryTable)
    app.add_directive("library-reference", LibraryReference)
    app.add_css_file("aibook.css")
    app.connect("html-page-context", _default_mode)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
