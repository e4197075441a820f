"""Sphinx extension: the self-check (本节自测) at the end of each section page.

Questions come from ``book/quizzes/chNN.yml`` (read by ``aibook.booktools.quizzes``) and are
appended to the page's doctree at build time, so the notebooks are never edited. The page works
without a kernel or network: ``static/aibook-quiz.js`` gives instant feedback, native radio buttons
and text fields keep it keyboard-accessible, and print/PDF shows the answers folded.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from docutils import nodes

from aibook.booktools.quizzes import Question, page_quizzes, quiz_file

CODE = re.compile(r"`([^`]+)`")


def inline(text: str) -> str:
    """Escaped text with `code` spans; line breaks kept."""
    return CODE.sub(r"<code>\1</code>", html.escape(text)).replace("\n", "<br>")


def _number(value: float) -> str:
    return f"{value:.6g}"


def render_question(question: Question, number: int, qid: str) -> str:
    prompt = f'<span class="aibook-quiz-number">{number}.</span> {inline(question.prompt)}'
    code = (f'<pre class="aibook-quiz-code"><code>{html.escape(question.code)}</code></pre>'
            if question.code else "")
    if question.kind == "numeric":
        unit = (f'<span class="aibook-quiz-unit">{html.escape(question.unit)}</span>'
                if question.unit else "")
        body = (f'<p class="aibook-quiz-prompt" id="{qid}-prompt">{prompt}</p>{code}'
                f'<div class="aibook-quiz-numeric"><input type="text" inputmode="decimal" autocomplete="off" '
                f'aria-labelledby="{qid}-prompt" id="{qid}-input">{unit}'
                f'<button type="button" class="aibook-quiz-check">检查</button></div>')
        answer = (f"<p>答案：{_number(question.answer)}{html.escape(question.unit)}"
                  f"（允许误差 ±{_number(question.tolerance)}）</p><p>{inline(question.explanation)}</p>")
        data = (f'data-kind="numeric" data-answer="{question.answer!r}" '
                f'data-tolerance="{question.tolerance!r}" '
                f'data-explanation="{html.escape(inline(question.explanation))}"')
    else:
        choices = []
        for i, option in enumerate(question.options):
            choices.append(
                f'<label class="aibook-quiz-option"><input type="radio" name="{qid}" value="{i}" '
                f'data-correct="{str(option.correct).lower()}" data-why="{html.escape(inline(option.why))}">'
                f'<span>{inline(option.text)}</span></label>')
        body = (f'<fieldset><legend class="aibook-quiz-prompt">{prompt}</legend>{code}'
                f'{"".join(choices)}</fieldset>')
        verdict = {True: "✔ 正确", False: "✘ 错误"}
        answer = "<ul>" + "".join(
            f"<li><strong>{verdict[o.correct]}</strong>：{inline(o.text)} —— {inline(o.why)}</li>"
            for o in question.options) + "</ul>"
        data = f'data-kind="{question.kind}"'
    return (f'<div class="aibook-quiz-question" id="{qid}" {data}>{body}'
            f'<div class="aibook-quiz-feedback" role="status" aria-live="polite"></div>'
            f'<details class="aibook-quiz-answer"><summary>答案与解释</summary>{answer}</details></div>')


def render_quiz(questions: list[Question], docname: str) -> str:
    slug = re.sub(r"\W+", "-", docname.rsplit("/", 1)[-1])
    items = "".join(render_question(q, i, f"quiz-{slug}-{i}") for i, q in enumerate(questions, 1))
    return (f'<section class="aibook-quiz" aria-labelledby="quiz-{slug}-title">'
            f'<h2 id="quiz-{slug}-title">本节自测</h2>'
            '<p class="aibook-quiz-intro">选一个选项或填一个数，立刻就能看到对错和解释；'
            "答案只留在你的浏览器里。</p>"
            f"{items}</section>")


def _add_quiz(app, doctree) -> None:
    """Append the page's quiz at read time, so that every HTML builder gets it: the website's pages
    and the single page the PDF is printed from (singlehtml resolves only its root document)."""
    docname = app.env.docname
    page = docname.rsplit("/", 1)[-1]
    if not (docname.startswith("book/") and page[:2].isdigit()):
        return
    path = quiz_file(Path(app.srcdir), int(page[:2]))
    if not path.is_file():
        return
    app.env.note_dependency(str(path))
    questions = page_quizzes(Path(app.srcdir), docname)
    if not questions or app.builder.format != "html":
        return
    sections = [n for n in doctree.children if isinstance(n, nodes.section)]
    target = sections[-1] if sections else doctree
    target += nodes.raw("", render_quiz(questions, docname), format="html")


def setup(app):
    app.add_css_file("aibook-quiz.css")
    app.add_js_file("aibook-quiz.js", defer="defer")
    app.connect("doctree-read", _add_quiz)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
