"""The self-check as a learner with a Chinese input method uses it, and the learner's own progress:
answers kept in the browser, the 我的进度 page with its 错题本, export and import as a file.
In Debian's headless Chromium with the network cut off; run after `make book`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_site_browser import SITE, browser, offline_route, server  # noqa: F401 (fixtures)
from test_site_interactive import contrast

from aibook.booktools import pdf
from aibook.booktools.quizzes import load_chapter, page_quizzes

ROOT = Path(__file__).resolve().parents[1]
BACKPROP = "book/03_algorithms/03_3_backprop"  # question 2: tanh'(n) = 0.08561 (± 0.0005)
FORWARD = "book/03_algorithms/03_2_forward"  # question 1: 109386 parameters (exact)
DATA_INPUT = "book/03_algorithms/03_1_data_input"  # question 2: -0.81 (± 0.01)
WORKED = "book/04_math/04_3_worked_example"


def new_context(browser):  # noqa: F811
    """A browser profile of its own (its own localStorage) with every non-local request blocked."""
    context = browser.new_context(accept_downloads=True)
    external, errors = [], []
    context.route("**/*", offline_route(external))
    context.on("page", lambda page: page.on("pageerror", lambda e: errors.append(str(e))))
    return context, external, errors


def question(page, docname: str, number: int):
    return page.locator(f"#quiz-{docname.rsplit('/', 1)[-1]}-{number}")


def verdict(box) -> str:
    return box.locator(".aibook-quiz-feedback").get_attribute("class") or ""


@pytest.mark.parametrize("docname,number,typed", [
    (BACKPROP, 2, "０.０８５６"),  # full-width digits, as a Chinese input method types them
    (BACKPROP, 2, "  ０。０８５６１ "),  # 。 as the decimal point, spaces around
    (FORWARD, 1, "１０９，３８６"),  # a full-width comma between digit groups
    (DATA_INPUT, 2, "－０．８１\u3000"),  # full-width minus and point, an ideographic space
    ("book/01_background/01_1_large_models", 2, "5.88e23 FLOP"),  # the unit typed after the number
])
def test_numeric_answers_accept_what_a_chinese_input_method_types(browser, server, docname, number, typed):  # noqa: F811
    expected = page_quizzes(ROOT, docname)[number - 1]
    assert expected.kind == "numeric", f"{docname} question {number} is no longer numeric: choose another"
    context, external, errors = new_context(browser)
    page = context.new_page()
    page.goto(f"{server}/{docname}.html", wait_until="load")
    box = question(page, docname, number)
    box.locator("input").fill(typed)
    box.locator("input").press("Enter")
    assert "is-right" in verdict(box), f"{typed!r} for {expected.answer}: {box.inner_text()[:200]}"
    box.locator("input").fill("０.９")  # still judged, and wrong
    box.locator("button").click()
    assert "is-wrong" in verdict(box)
    box.locator("input").fill("零点零八")  # not a number: the hint, not a verdict on the value
    box.locator("button").click()
    assert "请输入一个数" in box.locator(".aibook-quiz-feedback").inner_text()
    assert external == [] and errors == [], (external, errors)
    context.close()


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_verdicts_and_question_numbers_have_enough_contrast(browser, server, mode):  # noqa: F811
    context, external, errors = new_context(browser)
    page = context.new_page()
    page.goto(f"{server}/{WORKED}.html", wait_until="load")
    page.evaluate(f"document.documentElement.dataset.theme = '{mode}'; "
                  f"document.documentElement.dataset.mode = '{mode}'")
    questions = page.locator(".aibook-quiz-question[data-kind='choice']")
    questions.nth(0).locator("input[data-correct='true']").check()
    questions.nth(1).locator("input[data-correct='false']").first.check()
    ratios = {
        "question number": contrast(page, ".aibook-quiz-number"),
        "right verdict": contrast(page, ".aibook-quiz-feedback.is-right strong"),
        "wrong verdict": contrast(page, ".aibook-quiz-feedback.is-wrong strong"),
    }
    print(mode, {k: round(v, 2) for k, v in ratios.items()})
    assert all(r >= 4.5 for r in ratios.values()), f"{mode}: {ratios}"
    assert external == [] and errors == [], (external, errors)
    context.close()


def progress_rows(page) -> dict[int, tuple[int, int, int]]:
    """{chapter: (questions, answered, correct)} as the 我的进度 table shows them."""
    rows = page.eval_on_selector_all(".aibook-progress-table tbody tr", """rows => rows.map(r =>
        [r.dataset.chapter, ...[...r.querySelectorAll('td')].map(td => td.textContent)])""")
    return {int(c): (int(n), int(a), int(k)) for c, n, a, k in rows}


def test_answers_are_kept_and_counted_on_the_progress_page(browser, server, tmp_path):  # noqa: F811
    context, external, errors = new_context(browser)
    page = context.new_page()
    # page 1 (chapter 4): question 1 right (a number), a choice question wrong
    worked = page_quizzes(ROOT, WORKED)
    choice = next(i for i, q in enumerate(worked, 1) if q.kind == "choice")
    page.goto(f"{server}/{WORKED}.html", wait_until="load")
    question(page, WORKED, 1).locator("input").fill(f"{worked[0].answer:g}")
    question(page, WORKED, 1).locator("button").click()
    question(page, WORKED, choice).locator("input[data-correct='false']").first.check()
    # page 2 (chapter 3): a number answered wrongly
    page.goto(f"{server}/{BACKPROP}.html", wait_until="load")
    question(page, BACKPROP, 2).locator("input").fill("0.5")
    question(page, BACKPROP, 2).locator("input").press("Enter")

    # reloaded, each page shows its answers again
    page.goto(f"{server}/{WORKED}.html", wait_until="load")
    page.reload(wait_until="load")
    assert question(page, WORKED, 1).locator("input").input_value() == f"{worked[0].answer:g}"
    assert "is-right" in verdict(question(page, WORKED, 1))
    assert question(page, WORKED, choice).locator("input[data-correct='false']").first.is_checked()
    assert "is-wrong" in verdict(question(page, WORKED, choice))
    assert page.locator(".aibook-quiz-intro a[href$='progress.html']").count() == 1

    # the progress page: per chapter questions / answered / correct, and the two wrong answers
    page.goto(f"{server}/book/progress.html", wait_until="load")
    page.wait_for_selector(".aibook-progress-table")
    rows = progress_rows(page)
    chapter3 = sum(len(questions) for questions in load_chapter(ROOT, 3).values())
    assert rows[3] == (chapter3, 1, 0) and rows[4][1:] == (2, 1), rows
    assert all(a == 0 for c, (_, a, _) in rows.items() if c not in (3, 4))
    wrong = page.locator(".aibook-progress-wrong li")
    assert wrong.count() == 2
    ids = page.eval_on_selector_all(".aibook-progress-wrong li", "els => els.map(e => e.dataset.question)")
    assert ids == ["quiz-03_3_backprop-2", f"quiz-04_3_worked_example-{choice}"]
    assert "你的答案：0.5" in wrong.nth(0).inner_text()
    link = wrong.nth(0).locator("a").get_attribute("href")
    assert link.endswith("03_3_backprop.html#quiz-03_3_backprop-2"), link

    # export to a file, clear, import it again
    with page.expect_download() as download:
        page.get_by_role("button", name="导出进度").click()
    saved = tmp_path / "progress.json"
    download.value.save_as(saved)
    exported = json.loads(saved.read_text(encoding="utf-8"))
    assert exported["format"] == "aibook-progress/1" and len(exported["answers"]) == 3
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="清空进度").click()
    assert progress_rows(page)[3][1] == 0 and page.locator(".aibook-progress-wrong li").count() == 0
    page.locator(".aibook-progress-import input[type=file]").set_input_files(str(saved))
    status = "() => ((document.querySelector('.aibook-progress-status') || {}).textContent || '')"
    page.wait_for_function(f"{status}.includes('已导入')")  # the file is read asynchronously
    assert "已导入 3 条" in page.locator(".aibook-progress-status").inner_text()
    assert progress_rows(page)[3][1:] == (1, 0) and page.locator(".aibook-progress-wrong li").count() == 2
    bad = tmp_path / "notes.json"
    bad.write_text('{"hello": 1}', encoding="utf-8")
    page.locator(".aibook-progress-import input[type=file]").set_input_files(str(bad))
    page.wait_for_function(f"{status}.includes('不是')")
    assert progress_rows(page)[3][1:] == (1, 0), "a wrong file must change nothing"

    # 重做: the stored answer goes, the question opens unanswered
    page.get_by_role("button", name="重做 ", exact=False).first.click()
    page.wait_for_url("**/03_3_backprop.html#quiz-03_3_backprop-2")
    page.wait_for_selector("#quiz-03_3_backprop-2")
    assert question(page, BACKPROP, 2).locator("input").input_value() == ""
    assert verdict(question(page, BACKPROP, 2)).strip() == "aibook-quiz-feedback"
    assert external == [] and errors == [], (external, errors)
    context.close()


def test_the_progress_page_is_a_browser_page_only():
    """Nothing of it in the PDF: the page is left out, no quiz links to it there, and the home page
    mentions it only on the website (``{only} not singlehtml``; test_pdf checks the PDF's text)."""
    from aibook.booktools.site_quiz import render_quiz

    assert "book/progress" not in json.dumps(pdf.pdf_toc())
    questions = page_quizzes(ROOT, WORKED)
    assert "我的进度" not in render_quiz(questions, WORKED)  # the PDF's build gives no link
    assert "我的进度" in render_quiz(questions, WORKED, "../progress.html")
    home = (ROOT / "book" / "index.md").read_text(encoding="utf-8")
    assert re.search(r"```\{only\} not singlehtml\n(?:(?!```).)*</book/progress>", home, re.S)
    assert home.count("</book/progress>") == 1
    # and the PDF's build, which has no such page, resolves that link to its text without a warning
    from aibook.booktools.site_quiz import _progress_left_out

    link = {"reftype": "doc", "reftarget": "/book/progress"}
    assert _progress_left_out(None, None, link, "我的进度") == "我的进度"
    assert _progress_left_out(None, None, dict(link, reftarget="/book/glossary"), "x") is None
    assert "book/progress" in (ROOT / "_toc.yml").read_text(encoding="utf-8")
    assert (SITE / "book" / "progress.html").is_file(), "run 'make book' first"
