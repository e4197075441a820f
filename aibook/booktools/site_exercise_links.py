"""Exercises one click away: every section page of a chapter with graded exercises ends with links
to the questions that practise it (``book/exercise_sections.yml``), and every such chapter's index
page ends with a link to its exercise set, with its number of questions and points.

Each question of ``exercises/chNN`` gets a label ``exercise-N-k`` at build time (see
``exercise_pages.py``), so a link that points nowhere breaks the nitpicky build. A build without
the exercise pages (the PDF) names the questions in words instead.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import yaml
from docutils import nodes
from sphinx import addnodes

SECTION_PAGE = re.compile(r"book/(\d\d)_[^/]+/\d\d_\d_\w+")
CHAPTER_INDEX = re.compile(r"book/(\d\d)_[^/]+/index")
QUESTION_HEADING = re.compile(r"^##\s+(\d+\.\d+)\s+(.+?)\s*$", re.M)
LABEL = "exercise-{}"  # "exercise-3-2" for question 3.2


def question_label(number: str) -> str:
    return LABEL.format(number.replace(".", "-"))


@cache
def question_titles(notebook: Path) -> dict[str, str]:
    """{"3.2": "从 logits 计算交叉熵（8 分）"}: the question headings of an exercise notebook."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return {number: title for number, title in QUESTION_HEADING.findall(text)}


def section_questions(root: Path) -> dict[str, list[str]]:
    """{section docname: question numbers}, from book/exercise_sections.yml."""
    return yaml.safe_load((root / "book" / "exercise_sections.yml").read_text(encoding="utf-8")) or {}


def _xref(text: str, target: str, reftype: str) -> addnodes.pending_xref:
    xref = addnodes.pending_xref("", refdomain="std", reftype=reftype, reftarget=target, refexplicit=True,
                                 refwarn=True)
    xref += nodes.inline(text, text)
    return xref


def section_box(chapter: int, numbers: list[str], titles: dict[str, str]) -> nodes.container:
    """The closing paragraph of a section page: its questions, or the whole set."""
    box = nodes.container(classes=["aibook-exercise-links"])
    para = nodes.paragraph()
    para += nodes.strong("动手练习：", "动手练习：")
    exercises = f"/exercises/ch{chapter:02d}"
    if numbers:
        para += _xref(f"第 {chapter} 章练习", exercises, "doc")
        para += nodes.Text(" 里练本节内容的题：")
        for i, number in enumerate(numbers):
            if i:
                para += nodes.Text("、")
            para += _xref(f"{number} {titles[number]}", question_label(number), "ref")
        para += nodes.Text("。每题后面的 check(...) 格会立刻告诉你对不对。")
    else:
        para += nodes.Text("本节没有专门的评分题；本章的 ")
        para += _xref(f"第 {chapter} 章练习（{len(titles)} 题）", exercises, "doc")
        para += nodes.Text(" 练的是同一章的其他几节。")
    box += para
    return box


def chapter_box(chapter: int, titles: dict[str, str]) -> nodes.container:
    """The closing paragraph of a chapter's index page: its exercise set."""
    from aibook.grader.banks import banks

    points = sum(q.points for q in banks().get(chapter, []))
    box = nodes.container(classes=["aibook-exercise-links"])
    para = nodes.paragraph()
    para += nodes.strong("本章练习：", "本章练习：")
    para += _xref(f"第 {chapter} 章练习", f"/exercises/ch{chapter:02d}", "doc")
    para += nodes.Text(f"，{len(titles)} 道自动评分的题，共 {points} 分，在 Colab 或自己的电脑上做。")
    box += para
    return box


def _last_section(doctree: nodes.document) -> nodes.Element:
    top = next(iter(doctree.findall(nodes.section)), None)
    return top if top is not None else doctree


def _add_links(app, doctree) -> None:
    docname = app.env.docname
    root = Path(app.srcdir)
    match = SECTION_PAGE.fullmatch(docname) or CHAPTER_INDEX.fullmatch(docname)
    if match is None:
        return
    chapter = int(match[1])
    notebook = root / "exercises" / f"ch{chapter:02d}.ipynb"
    if not notebook.is_file():
        return
    app.env.note_dependency(str(notebook))
    app.env.note_dependency(str(root / "book" / "exercise_sections.yml"))
    titles = question_titles(notebook)
    if CHAPTER_INDEX.fullmatch(docname):
        _last_section(doctree).append(chapter_box(chapter, titles))
        return
    mapping = section_questions(root)
    if docname not in mapping:
        raise ValueError(f"{docname} is not in book/exercise_sections.yml: list the questions of "
                         f"exercises/ch{chapter:02d} that practise it (or [] for none)")
    unknown = [n for n in mapping[docname] if n not in titles]
    if unknown:
        raise ValueError(f"book/exercise_sections.yml: {docname} names questions {unknown} that "
                         f"exercises/ch{chapter:02d}.ipynb does not have")
    _last_section(doctree).append(section_box(chapter, mapping[docname], titles))


def unbuilt_question_reference(app, env, node, contnode):
    """In a build without the exercise pages (the PDF): the question in words."""
    target = node.get("reftarget", "")
    if node.get("reftype") != "ref" or not target.startswith("exercise-"):
        return None
    return nodes.inline(text=node.astext())


def setup(app):
    app.connect("doctree-read", _add_links)
    app.connect("missing-reference", unbuilt_question_reference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
