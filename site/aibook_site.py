"""Sphinx extension for the book's website: small fixes that keep every page offline and clean.

- Drops duplicate <script> entries (sphinx-thebe's config script is added twice under Jupyter
  Book 1, which makes the browser report "Identifier 'THEBE_JS_URL' has already been declared").
- Gives the theme an explicit default colour mode so its script logs no error.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


class ErrataTable(SphinxDirective):
    """``{errata-table}``: the article's errors from ``book/errata/ch*.yml`` as one table.

    Each row links to the cell that proves the correction with a ``{ref}`` to its label, so a
    label that does not exist breaks the (nitpicky, warnings-as-errors) build.
    """

    def run(self) -> list[nodes.Node]:
        folder = Path(self.env.srcdir) / "book" / "errata"
        # three columns so the table fits a page: where (with the chapter), the article's
        # words, and the correction with its proof link
        lines = [":::{list-table}", ":header-rows: 1", ":widths: 20 38 42", ":width: 100%",
                 ":class: errata-table", "", "* - 位置", "  - 原文写法", "  - 正确写法（证明）"]
        count = 0
        for path in sorted(folder.glob("ch*.yml")):
            self.env.note_dependency(str(path))
            for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
                label = entry["proof"].partition("#")[2]
                where, article, correct = (" ".join(str(entry[k]).split())
                                           for k in ("where", "article", "correct"))
                lines.append(f"* - 第 {entry['chapter']} 章：{where}")
                lines.append(f"  - {article}")
                lines.append(f"  - {correct}（{{ref}}`证明 <{label}>`）")
                count += 1
        lines.append(":::")
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source=str(folder)), self.content_offset, container)
        summary = nodes.paragraph(text=f"共 {count} 处错误。")
        return [summary, *container.children]


class GlossaryTable(SphinxDirective):
    """``{glossary-table}``: ``book/glossary.yml`` as a table sorted by English term, each term linked
    with ``{doc}`` to the page that teaches it (a missing page breaks the nitpicky build)."""

    def run(self) -> list[nodes.Node]:
        path = Path(self.env.srcdir) / "book" / "glossary.yml"
        self.env.note_dependency(str(path))
        entries = sorted(yaml.safe_load(path.read_text(encoding="utf-8")), key=lambda e: e["en"].lower())
        lines = [":::{list-table}", ":header-rows: 1", ":widths: 12 22 40 26", ":width: 100%",
                 ":class: glossary-table", "", "* - 中文", "  - English", "  - 释义", "  - 在哪里学"]
        for e in entries:
            lines += [f"* - {e['zh']}", f"  - {e['en']}", f"  - {' '.join(str(e['definition']).split())}",
                      f"  - {{doc}}`/{e['where']}`"]
        lines.append(":::")
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source=str(path)), self.content_offset, container)
        return [nodes.paragraph(text=f"共 {len(entries)} 个术语，按英文排序。"), *container.children]


GPU_WORDS = {True: "有帮助", False: "无明显帮助"}


class RuntimeTable(SphinxDirective):
    """``{runtime-table}``: every notebook's run time from ``book/runtimes.json`` (written from a
    test run by ``python -m aibook.runtimes update``), with whether a GPU helps it (the notebook's
    ``aibook.gpu`` metadata). Nothing in it is typed by hand."""

    def run(self) -> list[nodes.Node]:
        import json

        root = Path(self.env.srcdir)
        record_path = root / "book" / "runtimes.json"
        self.env.note_dependency(str(record_path))
        record = json.loads(record_path.read_text(encoding="utf-8"))
        lines = [":::{list-table}", ":header-rows: 1", ":widths: 62 18 20", ":width: 100%",
                 ":class: runtime-table", "", "* - 笔记本", "  - 运行时间（秒）", "  - GPU"]
        for notebook, seconds in record["notebooks"].items():
            nb = json.loads((root / notebook).read_text(encoding="utf-8"))
            gpu = nb.get("metadata", {}).get("aibook", {}).get("gpu")
            doc = "/" + notebook.removesuffix(".ipynb")
            if notebook.startswith("solutions/"):  # its title is the exercise's: say it is the answer key
                link = f"{{doc}}`第 {int(Path(notebook).stem[2:])} 章练习的参考答案 <{doc}>`"
            else:
                link = f"{{doc}}`{doc}`"
            lines += [f"* - {link}", f"  - {seconds:.0f}", f"  - {GPU_WORDS.get(gpu, '—')}"]
        lines.append(":::")
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source=str(record_path)), self.content_offset, container)
        total = sum(record["notebooks"].values())
        summary = nodes.paragraph(text=(
            f"共 {len(record['notebooks'])} 个笔记本，合计 {total / 60:.1f} 分钟。"
            f"测量环境：{record['machine']}；{record['setting']}。"))
        return [summary, *container.children]


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


def setup(app):
    app.add_directive("errata-table", ErrataTable)
    app.add_directive("runtime-table", RuntimeTable)
    app.add_directive("glossary-table", GlossaryTable)
    app.add_css_file("aibook.css")
    app.connect("html-page-context", _default_mode)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
