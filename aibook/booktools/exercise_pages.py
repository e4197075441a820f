"""What the website adds to the exercise and answer-key pages, at build time (no notebook is edited).

- ``exercises/chNN``: a "怎么开始" box under the title: open it on Colab, or run it locally (with the
  one line that makes ``import aibook`` work), and what ``check`` prints, produced by running the
  chapter's first question's tests on an unanswered stub and on the reference answer.
- ``exercises/chNN``: each question ("## 3.2 ...") gets the label ``exercise-3-2``, the target of
  the links at the end of the section pages (``site_exercise_links.py``).
- ``solutions/chNN``: the title becomes "第 N 章参考答案：…" (page, browser tab, prev/next links), and
  a banner says it is the answer key and links back to the exercises.
"""

from __future__ import annotations

import contextlib
import io
import re

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms import SphinxTransform

PAGE = re.compile(r"(exercises|solutions)/ch(\d\d)")
EXERCISE_TITLE = re.compile(r"第\s*(\d+)\s*章练习")
QUESTION_NUMBER = re.compile(r"(\d+\.\d+)\s")


def check_samples(chapter: int) -> tuple[str, str, str]:
    """(question id, what ``check`` prints before the learner writes anything, after a right answer)."""
    from aibook.grader.banks import banks
    from aibook.grader.check import check

    question = banks()[chapter][0]

    def unanswered(*args, **kwargs):
        return None

    printed = []
    for answer in (unanswered, question.reference):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            check(question.id, answer)
        printed.append(out.getvalue().rstrip())
    return question.id, printed[0], printed[1]


def _paragraph(*parts) -> nodes.paragraph:
    """A paragraph from plain strings, ``("code", text)``, ``("link", text, url)``, ``("doc", text, docname)``
    and ``("strong", text)``."""
    para = nodes.paragraph()
    for part in parts:
        if isinstance(part, str):
            para += nodes.Text(part)
        elif part[0] == "code":
            para += nodes.literal(part[1], part[1])
        elif part[0] == "strong":
            para += nodes.strong(part[1], part[1])
        elif part[0] == "link":
            para += nodes.reference(part[1], part[1], refuri=part[2])
        elif part[0] == "doc":
            xref = addnodes.pending_xref("", refdomain="std", reftype="doc", reftarget=part[2],
                                         refexplicit=True, refwarn=True)
            xref += nodes.inline(part[1], part[1])
            para += xref
    return para


def _box(title: str, classes: list[str], *children: nodes.Node) -> nodes.admonition:
    box = nodes.admonition(classes=classes)
    box += nodes.title(title, title)
    for child in children:
        box += child
    return box


def _sample(text: str) -> nodes.literal_block:
    block = nodes.literal_block(text, text)
    block["language"] = "text"
    return block


def start_box(chapter: int, repository: str, branch: str) -> nodes.admonition:
    """The "怎么开始" box of ``exercises/chNN``."""
    notebook = f"exercises/ch{chapter:02d}.ipynb"
    colab = f"https://colab.research.google.com/github/{repository.removeprefix('https://github.com/')}" \
            f"/blob/{branch}/{notebook}"
    install = f'pip install "aibook @ git+{repository}"'
    question, before, after = check_samples(chapter)
    steps = nodes.bullet_list()
    for para in (
        _paragraph(("strong", "在 Colab 上："), ("link", "在 Colab 中打开本页", colab),
                   "（或页面顶部的火箭按钮 → Colab），先运行第一个代码格：它会安装本书的辅助包 ",
                   ("code", "aibook"), "。"),
        _paragraph(("strong", "在自己的电脑上："), "用页面顶部的下载按钮保存 ",
                   ("code", f"ch{chapter:02d}.ipynb"),
                   "，先在同一个 Python 环境里安装辅助包 ", ("code", install),
                   "（不装的话第一个代码格会报 ", ("code", "No module named 'aibook'"), "），再用 ",
                   ("code", f"jupyter lab ch{chapter:02d}.ipynb"), " 打开。克隆了仓库的话，",
                   ("code", "make book"), " 之后运行 ", ("code", f".venv/bin/jupyter lab {notebook}"), "。"),
        _paragraph(("strong", "做题："), "把每个 ", ("code", "..."), " 换成你的代码，再运行紧接着的 ",
                   ("code", "check(...)"), " 格。比如第 ", question, " 题还没动手时它打印："),
    ):
        steps += nodes.list_item("", para)
    return _box("怎么开始", ["tip", "aibook-start"], steps, _sample(before),
                _paragraph("写对以后打印："), _sample(after),
                _paragraph(("code", "check"), " 只给反馈；教师评分时会用新的随机输入重新测试你的函数。"))


def answer_banner(chapter: int) -> nodes.admonition:
    """The banner of ``solutions/chNN``."""
    return _box("这是参考答案", ["warning", "aibook-answer-key"],
                _paragraph(f"本页是第 {chapter} 章练习的参考答案，每道题的完整解法都在下面。"
                           "还没做题的话，先去 ",
                           ("doc", f"第 {chapter} 章练习", f"/exercises/ch{chapter:02d}"),
                           " 自己动手，做完再来对照。"))


class ExercisePages(SphinxTransform):
    """Adds the start box to exercise pages and the title and banner to answer-key pages."""

    default_priority = 690  # before the Chinese typography (700) and before the title is recorded

    def apply(self, **kwargs) -> None:
        match = PAGE.fullmatch(self.env.docname)
        section = next(iter(self.document.findall(nodes.section)), None)
        if not match or section is None or not isinstance(section[0], nodes.title):
            return
        kind, chapter = match[1], int(match[2])
        title = section[0]
        if kind == "exercises":
            self.label_questions(section)
            options = self.config.html_theme_options or {}
            section.insert(1, start_box(chapter, options.get("repository_url", ""),
                                        options.get("repository_branch", "main")))
        else:
            text = title.astext()
            if EXERCISE_TITLE.match(text):
                new_text = EXERCISE_TITLE.sub(f"第 {chapter} 章参考答案", text, count=1)
                title.replace_self(nodes.title(new_text, new_text))
            section.insert(1, answer_banner(chapter))

    def label_questions(self, page: nodes.section) -> None:
        """Give each question's section the explicit label ``exercise-N-k`` (std domain ``ref`` target)."""
        from aibook.booktools.site_exercise_links import question_label

        for section in page.findall(nodes.section):
            match = QUESTION_NUMBER.match(section[0].astext()) if section is not page else None
            if match is None:
                continue
            label = question_label(match[1])
            section["names"].append(label)
            section["ids"].append(label)
            self.document.nameids[label] = label
            self.document.nametypes[label] = True
            self.document.ids[label] = section
