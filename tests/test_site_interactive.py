"""The website's reader-facing interactions in Debian's headless Chromium, network cut off:
Chinese search, the self-check on every section page, the kernel-free sliders, the hidden Colab lines.
Run after the site is built (make book); shares the server and browser of test_site_browser.py.
"""

from __future__ import annotations

import html.parser
import re
from pathlib import Path

import pytest
from test_site_browser import SITE, browser, open_offline, server, toc_pages  # noqa: F401 (fixtures)

from aibook.booktools.quizzes import page_quizzes

ROOT = Path(__file__).resolve().parents[1]

# whole terms, shorter words inside longer terms (梯度 in 梯度下降, 损失 in 损失函数), mixed queries
SEARCH_QUERIES = ["学习率", "交叉熵", "预训练", "梯度下降", "梯度", "注意力", "过拟合", "反向传播", "损失",
                  "微调", "归一化", "混淆矩阵", "残差连接", "验证集", "Adam 学习率", "ReLU 激活函数"]


class ArticleText(html.parser.HTMLParser):
    """The text of a page's <article>, without scripts, styles and the self-check (which the search
    index does not hold: it is added after indexing)."""

    def __init__(self):
        super().__init__()
        self.depth, self.skip, self.parts = 0, 0, []

    def handle_starttag(self, tag, attrs):
        classes = dict(attrs).get("class") or ""
        if tag == "article":
            self.depth += 1
        if self.skip or tag in ("script", "style") or "aibook-quiz" in classes.split():
            self.skip += 1

    def handle_endtag(self, tag):
        if tag == "article":
            self.depth -= 1
        if self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if self.depth and not self.skip:
            self.parts.append(data)


def page_text(page: str) -> str:
    parser = ArticleText()
    parser.feed((SITE / f"{page}.html").read_text(encoding="utf-8"))
    return " ".join(parser.parts).lower()


def results_of(browser, server, query: str) -> set[str]:  # noqa: F811
    page, external, errors = open_offline(browser, f"{server}/search.html?q={query}")
    page.wait_for_function("() => typeof Search !== 'undefined' && Search.status && Search.status.innerText",
                           timeout=60_000)
    hrefs = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
    assert external == [] and errors == [], (external, errors)
    page.close()
    return {re.sub(r"^.*?//[^/]+/|\.html.*$", "", href) for href in hrefs}


@pytest.mark.parametrize("query", SEARCH_QUERIES)
def test_chinese_search_finds_most_pages_that_contain_the_words(browser, server, query):  # noqa: F811
    words = query.lower().split()
    containing = {p for p in toc_pages() if all(w in page_text(p) for w in words)}
    assert containing, f"no page contains {query!r}: choose another query"
    found = results_of(browser, server, query)
    hits = containing & found
    print(f"{query}: found {len(hits)} of {len(containing)} pages that contain it ({len(found)} results)")
    assert len(hits) >= len(containing) / 2, (
        f"{query!r} found {len(hits)} of the {len(containing)} pages that contain it; "
        f"missed e.g. {sorted(containing - found)[:5]}")


QUIZ_PAGES = [p for p in toc_pages() if page_quizzes(ROOT, p)]


def feedback(question) -> tuple[str, str]:
    box = question.locator(".aibook-quiz-feedback")
    return box.get_attribute("class"), box.inner_text()


@pytest.mark.parametrize("page_path", QUIZ_PAGES)
def test_quiz_gives_instant_feedback_right_and_wrong(browser, server, page_path):  # noqa: F811
    questions = page_quizzes(ROOT, page_path)
    page, external, errors = open_offline(browser, f"{server}/{page_path}.html")
    quiz = page.locator("section.aibook-quiz")
    assert quiz.count() == 1 and quiz.locator(".aibook-quiz-question").count() == len(questions)
    for i, question in enumerate(questions):
        box = quiz.locator(".aibook-quiz-question").nth(i)
        if question.kind == "numeric":
            field = box.locator("input")
            field.fill(repr(question.answer + 10 * question.tolerance + 1 + abs(question.answer)))
            field.press("Enter")
            assert "is-wrong" in feedback(box)[0]
            field.fill(f"{question.answer:.10g}")
            box.locator("button").click()
            assert "is-right" in feedback(box)[0] and "正确" in feedback(box)[1]
        else:
            wrong = next(j for j, o in enumerate(question.options) if not o.correct)
            right = next(j for j, o in enumerate(question.options) if o.correct)
            box.locator("label.aibook-quiz-option").nth(wrong).click()
            assert "is-wrong" in feedback(box)[0] and "不对" in feedback(box)[1]
            box.locator("label.aibook-quiz-option").nth(right).click()
            cls, text = feedback(box)
            assert "is-right" in cls and question.options[right].why[:10] in text
    assert external == [] and errors == [], (external, errors)
    page.close()


def contrast(page, selector: str) -> float:
    """WCAG contrast ratio of an element's text colour against the page background behind it."""
    return page.evaluate("""(selector) => {
        const lum = (c) => { const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map(v => {
            v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
            return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const el = document.querySelector(selector);
        let bg = null;
        for (let n = el; n && !bg; n = n.parentElement) {
            const c = getComputedStyle(n).backgroundColor;
            if (c && !c.startsWith("rgba(0, 0, 0, 0)") && c !== "transparent") bg = c;
        }
        bg = bg || getComputedStyle(document.body).backgroundColor;
        const [a, b] = [lum(getComputedStyle(el).color), lum(bg)].sort((x, y) => y - x);
        return (a + 0.05) / (b + 0.05);
    }""", selector)


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_quiz_is_readable_keyboard_usable_and_folded_in_print(browser, server, mode):  # noqa: F811
    page, external, errors = open_offline(browser, f"{server}/book/04_math/04_3_worked_example.html")
    page.evaluate(f"document.documentElement.dataset.theme = '{mode}'; "
                  f"document.documentElement.dataset.mode = '{mode}'")
    for selector in (".aibook-quiz-prompt", ".aibook-quiz-option span", ".aibook-quiz h2"):
        assert contrast(page, selector) >= 4.5, f"{mode}: {selector} has too little contrast"
    # keyboard: focus the first radio of a choice question, arrow keys move the choice, feedback follows
    choice = page.locator(".aibook-quiz-question[data-kind='choice']").first
    choice.locator("input[type=radio]").first.focus()
    page.keyboard.press("Space")
    first = feedback(choice)[1]
    page.keyboard.press("ArrowDown")
    assert choice.locator("input[type=radio]").nth(1).is_checked()
    assert feedback(choice)[1] and feedback(choice)[1] != first
    assert contrast(page, ".aibook-quiz-feedback:not(:empty)") >= 4.5
    # printed: the answers fold (an opened one closes), the live feedback is not printed
    page.locator(".aibook-quiz-answer summary").first.click()
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    page.emulate_media(media="print")
    assert page.locator(".aibook-quiz-answer[open]").count() == 0
    assert not page.locator(".aibook-quiz-feedback:not(:empty)").first.is_visible()
    assert page.locator(".aibook-quiz-answer summary").first.is_visible()
    assert not page.locator(".aibook-quiz-answer ul, .aibook-quiz-answer p").first.is_visible()
    assert external == [] and errors == [], (external, errors)
    page.close()


SLIDER_PAGES = [p for p in toc_pages() if (ROOT / f"{p}.ipynb").is_file()
                and "interact_frames(" in (ROOT / f"{p}.ipynb").read_text(encoding="utf-8")]


@pytest.mark.parametrize("page_path", SLIDER_PAGES)
def test_every_slider_moves_its_figure_without_a_kernel(browser, server, page_path):  # noqa: F811
    page, external, errors = open_offline(browser, f"{server}/{page_path}.html")
    boxes = page.locator(".aibook-frames")
    assert boxes.count() >= 1, f"{page_path}: no pre-rendered slider on the page"
    for b in range(boxes.count()):
        box = boxes.nth(b)
        image = box.locator("img.aibook-frames-image")
        for s in range(box.locator("input[type=range]").count()):
            slider = box.locator("input[type=range]").nth(s)
            before, alt_before = image.get_attribute("src"), image.get_attribute("alt")
            slider.focus()
            key = "ArrowLeft" if slider.input_value() == slider.get_attribute("max") else "ArrowRight"
            page.keyboard.press(key)
            assert image.get_attribute("src") != before, f"{page_path}: slider {s} did not change the figure"
            assert image.get_attribute("alt") != alt_before
            assert image.evaluate("i => i.complete && i.naturalWidth > 0")
    assert external == [] and errors == [], (external, errors)
    page.close()


def test_colab_install_lines_are_hidden_on_every_notebook_page():
    for page_path in [p for p in toc_pages() if (ROOT / f"{p}.ipynb").is_file()]:
        text = (SITE / f"{page_path}.html").read_text(encoding="utf-8")
        assert "google.colab" not in re.sub(r"<script.*?</script>", "", text, flags=re.S), page_path
