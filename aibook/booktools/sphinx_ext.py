"""Sphinx extension for the book's website: small fixes that keep every page offline and clean.

- Drops duplicate <script> entries (sphinx-thebe's config script is added twice under Jupyter
  Book 1, which makes the browser report "Identifier 'THEBE_JS_URL' has already been declared").
- Gives the theme an explicit default colour mode so its script logs no error.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from docutils import nodes
from sphinx.util.docutils import SphinxDirective

from aibook.booktools.exercise_pages import ExercisePages
from aibook.booktools.site_tables import list_table
from aibook.booktools.typography import ChineseTypography, ChineseTypographyAfterReferences


def _one_line(text) -> str:
    return " ".join(str(text).split())


def chapter_titles(root: Path) -> dict[int, str]:
    """Chapter number -> its title without the number ("数学模型和公式"), from book/NN_*/index.md."""
    titles = {}
    for index in sorted(root.glob("book/[0-9][0-9]_*/index.md")):
        first = index.read_text(encoding="utf-8").splitlines()[0]
        match = re.match(r"#\s*第\s*(\d+)\s*章\s*(.*)", first)
        if match:
            titles[int(match[1])] = match[2].strip()
    return titles


class ErrataTable(SphinxDirective):
    """``{errata-table}``: the article's errors from ``book/errata/ch*.yml``, one section and table per
    chapter after a contents list with each chapter's count (the page's side contents lists them too).

    Each row links to the cell that proves the correction with a ``{ref}`` to its label, so a
    label that does not exist breaks the (nitpicky, warnings-as-errors) build.
    """

    def run(self) -> list[nodes.Node]:
        root = Path(self.env.srcdir)
        folder = root / "book" / "errata"
        titles = chapter_titles(root)
        by_chapter: dict[int, list[list[str]]] = {}
        for path in sorted(folder.glob("ch*.yml")):
            self.env.note_dependency(str(path))
            for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
                label = entry["proof"].partition("#")[2]
                by_chapter.setdefault(int(entry["chapter"]), []).append(
                    [_one_line(entry["where"]), _one_line(entry["article"]),
                     f"{_one_line(entry['correct'])}（{{ref}}`证明 <{label}>`）"])
        total = sum(map(len, by_chapter.values()))
        contents = nodes.bullet_list(classes=["errata-contents"])
        sections = []
        for chapter in sorted(by_chapter):
            rows = by_chapter[chapter]
            heading = f"第 {chapter} 章 {titles.get(chapter, '')}".strip()
            section_id = f"errata-ch{chapter:02d}"
            item = nodes.paragraph()
            item += nodes.reference("", "", nodes.Text(f"{heading}（{len(rows)} 处）"), refid=section_id,
                                    internal=True)
            contents += nodes.list_item("", item)
            section = nodes.section(ids=[section_id], names=[section_id])
            section += nodes.title(text=f"{heading}（{len(rows)} 处）")
            # three columns so the table fits a page: where, the article's words, and the correction
            # with its proof link (on a phone each row becomes a card: see aibook.css)
            section += list_table(self, folder, "", "errata-table", "20 38 42",
                                  ["位置", "原文写法", "正确写法（证明）"], rows)[1:]
            sections.append(section)
        summary = nodes.paragraph(text=f"共 {total} 处错误，分布在 {len(by_chapter)} 章：")
        return [summary, contents, *sections]


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


# The theme's English labels (hard-coded in its templates, or missing from its Chinese catalogue),
# as the Chinese a reader sees in tooltips and a screen reader speaks.
UI_STRINGS = {
    "Toggle primary sidebar": "章节目录",
    "Toggle secondary sidebar": "本页目录",
    "Color mode": "颜色模式",
    "System Settings": "跟随系统",
    "Launch interactive content": "在线运行",
    "Launch on Colab": "在 Colab 中打开",
    "Source repositories": "源码仓库",
    "Repository": "源码仓库",
    "Open issue": "报告问题",
    "Search this book...": "搜索本书……",
    "Link to this heading": "链接到此标题",
    "Main": "全书导航",
    "Page": "本页导航",
    "列印成 PDF": "打印为 PDF",
}
_UI_PATTERN = re.compile(
    r'(?P<attr>(?:title|aria-label|data-bs-title|placeholder)=")(?P<label>[^"]+)"'
    r'|(?P<button>btn__text-container">)(?P<text>[^<]+)<')


def translate_ui(html: str) -> str:
    """Replace the theme's English labels in attributes and in its buttons' text (not in the article)."""
    def one(match: re.Match) -> str:
        if match["attr"]:
            return match["attr"] + UI_STRINGS.get(match["label"], match["label"]) + '"'
        return match["button"] + UI_STRINGS.get(match["text"], match["text"]) + "<"
    return _UI_PATTERN.sub(one, html)


def wrap_rendered_pages(app, transform) -> None:
    """Wrap the HTML builder's template renderer: each page's HTML goes through
    ``transform(html, context)`` as it is written (builders without templates are left alone)."""
    templates = getattr(app.builder, "templates", None)
    if templates is None:
        return
    render = templates.render
    templates.render = lambda template, context: transform(render(template, context), context)


def _translate_rendered_pages(app) -> None:
    """Each page comes out with Chinese labels."""
    wrap_rendered_pages(app, lambda html, context: translate_ui(html))


class CoursePlan(SphinxDirective):
    """``{course-plan}``: per chapter its sections, study-time estimate and exercise set (questions and
    points from the grader's banks), with the totals and the assumptions of the estimate."""

    def run(self) -> list[nodes.Node]:
        from aibook.booktools import course_plan as plan

        root = Path(self.env.srcdir)
        chapters = plan.chapters(root)
        for folder in root.glob("book/[0-9][0-9]_*"):
            self.env.note_dependency(str(folder / "index.md"))
        rows = []
        for c in chapters:
            exercises = (f"{{doc}}`{c.questions} 题，{c.points} 分 </exercises/ch{c.number:02d}>`"
                         if c.questions else "无")
            rows.append([f"{{doc}}`第 {c.number} 章 {c.title} </{c.docname}>`", str(c.sections),
                         f"{c.chinese_chars:,}", plan.hours(c.reading_minutes), exercises,
                         plan.hours(c.exercise_minutes)])
        with_sets = [c for c in chapters if c.questions]
        total_read = sum(c.reading_minutes for c in chapters)
        total_ex = sum(c.exercise_minutes for c in chapters)
        rows.append(["**合计**", str(sum(c.sections for c in chapters)),
                     f"{sum(c.chinese_chars for c in chapters):,}", plan.hours(total_read),
                     f"{len(with_sets)} 套，{sum(c.questions for c in chapters)} 题，"
                     f"{sum(c.points for c in chapters)} 分", plan.hours(total_ex)])
        summary = (f"学习时间是估计值：正文按每分钟 {plan.READING_CHARS_PER_MINUTE} 个汉字、每个代码格 "
                   f"{plan.MINUTES_PER_CODE_CELL:g} 分钟计，练习按每题 {plan.MINUTES_PER_QUESTION} 分钟计，"
                   "向上取整到半小时。题数和分值直接读自评分器的题库 aibook/grader/banks。")
        return list_table(self, root / "aibook" / "grader" / "banks", summary, "course-table",
                          "34 8 12 12 22 12",
                          ["章", "节数", "正文汉字", "阅读（小时）", "练习", "练习（小时）"], rows)


class GraderHelp(SphinxDirective):
    """``{grader-help}``: what ``python -m aibook.grader --help`` prints, produced at build time so the
    options on the page are the grader's own."""

    def run(self) -> list[nodes.Node]:
        import os
        import subprocess
        import sys

        root = Path(self.env.srcdir)
        env = {**os.environ, "COLUMNS": "88", "PYTHONPATH": str(root)}
        text = subprocess.run([sys.executable, "-m", "aibook.grader", "--help"], capture_output=True,
                              text=True, check=True, env=env, cwd=root).stdout.rstrip()
        self.env.note_dependency(str(root / "aibook" / "grader" / "cli.py"))
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


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


UNBUILT_PAGE = re.compile(r"(?:^|/)(exercises|solutions)/ch(\d+)$")


def unbuilt_exercise_reference(app, env, node, contnode):
    """A link to a chapter's exercises or answer key from a build that leaves them out (the PDF):
    name them in words instead of printing the raw path ("../../exercises/ch02")."""
    match = UNBUILT_PAGE.search(node.get("reftarget", "")) if node.get("reftype") == "doc" else None
    if match is None:
        return None
    what = "练习" if match.group(1) == "exercises" else "参考答案"
    return nodes.inline(text=f"第 {int(match.group(2))} 章的{what}（在网站上和笔记本包里）")


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
    from aibook.booktools.library_reference import LibraryReference

    app.add_directive("library-reference", LibraryReference)
    app.add_directive("course-plan", CoursePlan)
    app.add_directive("grader-help", GraderHelp)
    app.add_transform(ChineseTypography)
    app.add_post_transform(ChineseTypographyAfterReferences)
    app.add_transform(ExercisePages)
    app.connect("builder-inited", _translate_rendered_pages)
    app.add_css_file("aibook.css")
    app.add_js_file("aibook.js")
    app.connect("html-page-context", _default_mode)
    app.connect("missing-reference", unbuilt_exercise_reference)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
