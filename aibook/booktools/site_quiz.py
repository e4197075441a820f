"""Sphinx extension: the self-check (本节自测) at the end of each section page.

Questions come from ``book/quizzes/chNN.yml`` (read by ``aibook.booktools.quizzes``) and are
appended to the page's doctree at build time, so the notebooks are never edited. The page works
without a kernel or network: ``static/aibook-quiz.js`` gives instant feedback, native radio buttons
and text fields keep it keyboard-accessible, and print/PDF shows the answers folded.

The learner's answers stay in the browser (localStorage). The 我的进度 page (``book/progress.md``)
gets an index of every question (chapter, page, link, prompt) at build time; ``static/aibook-progress.js``
counts the stored answers per chapter and lists the wrong ones (错题本), with export and import as a file.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from docutils import nodes

from aibook.booktools.quizzes import Question, load_chapter, page_quizzes, quiz_file

CODE = re.compile(r"`([^`]+)`")
PROGRESS_PAGE = "book/progress"
PAGE_NAME = re.compile(r"^book/\d\d_\w+/\d\d_\d+_\w+$")  # book/04_math/04_3_worked_example


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
                f'data-tolerance="{question.tolerance!r}" data-unit="{html.escape(question.unit)}" '
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


def _slug(docname: str) -> str:
    return re.sub(r"\W+", "-", docname.rsplit("/", 1)[-1])


def question_id(docname: str, number: int) -> str:
    """The HTML id of a question, also its key in the learner's stored progress."""
    return f"quiz-{_slug(docname)}-{number}"


def render_quiz(questions: list[Question], docname: str, progress_uri: str = "") -> str:
    slug = _slug(docname)
    items = "".join(render_question(q, i, question_id(docname, i)) for i, q in enumerate(questions, 1))
    progress = (f'；各章做了多少、错在哪里，见<a href="{progress_uri}">我的进度</a>。' if progress_uri
                else "。")
    return (f'<section class="aibook-quiz" aria-labelledby="quiz-{slug}-title">'
            f'<h2 id="quiz-{slug}-title">本节自测</h2>'
            '<p class="aibook-quiz-intro">选一个选项或填一个数，立刻就能看到对错和解释。'
            f"你的作答只保存在这个浏览器里，下次打开仍在{progress}</p>"
            f"{items}</section>")


def plain(text: str, limit: int = 80) -> str:
    """A prompt as one short line of plain text (for the 错题本)."""
    text = re.sub(r"\s+", " ", text.replace("`", "")).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def progress_index(app, from_doc: str) -> dict:
    """Every question of the book for the progress page: chapters in order, each with its questions
    (id, link from ``from_doc``, page title, number, prompt)."""
    env, root = app.env, Path(app.srcdir)
    pages = {d.rsplit("/", 1)[-1]: d for d in env.found_docs if d.startswith("book/") and PAGE_NAME.match(d)}
    chapters = []
    for path in sorted((root / "book" / "quizzes").glob("ch[0-9][0-9].yml")):
        number = int(path.stem[2:])
        questions = []
        for page, page_questions in load_chapter(root, number).items():
            docname = pages.get(page)
            if docname is None:
                continue
            title = env.titles[docname].astext() if docname in env.titles else page
            uri = app.builder.get_relative_uri(from_doc, docname)
            questions += [{"id": question_id(docname, i), "url": f"{uri}#{question_id(docname, i)}",
                           "page": title, "number": i, "prompt": plain(q.prompt)}
                          for i, q in enumerate(page_questions, 1)]
        index = next((d for d in sorted(env.found_docs)
                      if d.startswith(f"book/{number:02d}_") and d.endswith("/index")), None)
        title = env.titles[index].astext() if index in env.titles else f"第 {number} 章"
        if questions:
            chapters.append({"chapter": number, "title": title, "questions": questions})
    return {"chapters": chapters}


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
    progress_uri = (app.builder.get_relative_uri(docname, PROGRESS_PAGE)
                    if PROGRESS_PAGE in app.env.found_docs and app.builder.name == "html" else "")
    target += nodes.raw("", render_quiz(questions, docname, progress_uri), format="html")


def _progress_left_out(app, env, node, contnode):
    """In a build without the progress page (the PDF), a link to it is plain text, not a warning:
    the home page's mention sits in ``{only} not singlehtml``, removed after links are resolved."""
    if node.get("reftype") == "doc" and node.get("reftarget", "").lstrip("/") == PROGRESS_PAGE:
        return contnode
    return None


def _outdated_progress(app, env, added, changed, removed):
    # the index of questions comes from every quiz file and page title: rebuild the page each time
    return [PROGRESS_PAGE] if PROGRESS_PAGE in env.found_docs and app.builder.name == "html" else []


def _progress_page(app, pagename, templatename, context, doctree) -> None:
    if pagename != PROGRESS_PAGE or "body" not in context:
        return
    data = json.dumps(progress_index(app, pagename), ensure_ascii=False).replace("</", "<\\/")
    context["body"] += f'<script type="application/json" id="aibook-progress-index">{data}</script>'
    app.add_js_file("aibook-progress.js", defer="defer")


def setup(app):
    app.add_css_file("aibook-quiz.css")
    app.add_js_file("aibook-quiz.js", defer="defer")
    app.connect("doctree-read", _add_quiz)
    app.connect("env-get-outdated", _outdated_progress)
    app.connect("missing-reference", _progress_left_out)
    app.connect("html-page-context", _progress_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
