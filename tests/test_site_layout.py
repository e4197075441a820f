"""The built website on a phone (390 px) and a laptop (1280 px), light and dark, in Debian's Chromium
with every non-local request blocked: menus open, nothing is wider than the screen, tables from
cells are tables, Chinese text has no stray spaces or doubled closing quotes, the theme speaks
Chinese, and the exercise and answer-key pages carry their boxes and titles. Run after `make book`.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from test_site_browser import browser, server, toc_pages  # noqa: F401 (fixtures)

from aibook.booktools.sphinx_ext import UI_STRINGS
from aibook.booktools.typography import NUMBER_SEPARATOR
from aibook.grader.banks import banks

PHONE, LAPTOP = 390, 1280
SCREENS = [(PHONE, "light"), (PHONE, "dark"), (LAPTOP, "light"), (LAPTOP, "dark")]
HANG_MS = 60_000  # hang protection only: a busy machine makes a menu open slower, never a failure
# every page on a light phone and a dark laptop; these pages on all four screens
KEY_PAGES = ["book/index", "book/04_math/04_3_worked_example", "exercises/ch04", "solutions/ch04",
             "book/glossary", "book/errata"]
WIDE = r"[\u3400-\u4dbf\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]"


def open_page(browser, url: str, width: int, scheme: str):  # noqa: F811
    """Open url on a screen of this width and colour scheme, with non-local requests blocked."""
    page = browser.new_page(viewport={"width": width, "height": 844 if width == PHONE else 900},
                            color_scheme=scheme)
    external = []

    def route(r):
        host = urlparse(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="networkidle")
    return page, external


# Text of every block of the article with code and math replaced by "X", for the typography checks.
BLOCK_TEXTS = """() => {
  const skip = "pre, code, kbd, mjx-container, .math, script, style, .MathJax";
  const blocks = document.querySelectorAll(
    "article :is(p, li, td, th, h1, h2, h3, dt, dd, figcaption)");
  const out = [];
  for (const block of blocks) {
    let text = "";
    const walk = (node) => {
      for (const child of node.childNodes) {
        if (child.nodeType === Node.TEXT_NODE) text += child.textContent;
        else if (child.nodeType === Node.ELEMENT_NODE) {
          if (child.matches(skip)) text += "X";
          else if (!child.matches("p, li, td, th, ul, ol, dl, table, div")) walk(child);
        }
      }
    };
    walk(block);
    out.push(text);
  }
  return out;
}"""

# Elements that stick out of the screen on the right, and are not inside a box that scrolls.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (["auto", "scroll", "hidden"].includes(s.overflowX) && p.clientWidth <= width) return true;
    }
    return false;
  };
  const bad = [];
  for (const el of document.querySelectorAll("article *, .bd-header *, footer *")) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > width + 1 && getComputedStyle(el).visibility !== "hidden" && !scrolls(el)) {
      bad.push(el.tagName.toLowerCase() + "." + [...el.classList].join(".") + ": " +
               (el.textContent || "").trim().slice(0, 50));
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, bad: bad.slice(0, 5)};
}"""


def check_page(page, page_path: str) -> None:
    layout = page.evaluate(OVERFLOWING)
    assert layout["scrollWidth"] <= layout["width"] + 1, (
        f"{page_path}: the page is {layout['scrollWidth']} px wide on a {layout['width']} px screen: "
        f"{layout['bad']}")
    texts = page.evaluate(BLOCK_TEXTS)
    pipes = [t.strip()[:60] for t in texts if re.match(r"\s*\|.*\|.*\|", t)]
    assert pipes == [], f"{page_path}: a Markdown table shown as text: {pipes}"
    spaced = [t[max(0, m.start() - 6):m.end() + 6] for t in texts for m in re.finditer(rf"{WIDE}\s+{WIDE}", t)
              if not NUMBER_SEPARATOR.search(t[:m.start() + 1])]
    assert spaced == [], f"{page_path}: a space between Chinese characters: {spaced[:5]}"
    doubled = [m.group(0) for t in texts for m in re.finditer(r".{0,6}”[^“”]*”.{0,3}", t)]
    assert doubled == [], f"{page_path}: two closing quotes in a row: {doubled[:5]}"
    opened = [m.group(0) for t in texts for m in re.finditer(r".{0,6}“[^“”]*“.{0,3}", t)]
    assert opened == [], f"{page_path}: two opening quotes in a row: {opened[:5]}"


def _every_page_on(screens):
    return [(p, w, s) for p in toc_pages() for (w, s) in screens]


@pytest.mark.parametrize(
    "page_path,width,scheme",
    _every_page_on([(PHONE, "light"), (LAPTOP, "dark")])
    + [(p, w, s) for p in KEY_PAGES for (w, s) in [(PHONE, "dark"), (LAPTOP, "light")]])
def test_page_fits_the_screen_and_reads_as_chinese(browser, server, page_path, width, scheme):  # noqa: F811
    page, external = open_page(browser, f"{server}/{page_path}.html", width, scheme)
    assert external == [], f"{page_path}: requests leave the machine: {external}"
    check_page(page, page_path)
    page.close()


@pytest.mark.parametrize("width,scheme", SCREENS)
def test_menu_button_opens_the_chapter_list(browser, server, width, scheme):  # noqa: F811
    page, _ = open_page(browser, f"{server}/book/04_math/04_3_worked_example.html", width, scheme)
    button = page.locator("button.primary-toggle:visible").first
    chapter_link = page.locator("a[href*='04_1_networks']:visible")
    if width == PHONE:
        assert chapter_link.count() == 0, "the chapter list is open before the button is pressed"
        button.click()
        page.wait_for_selector("#pst-primary-sidebar-modal[open]", timeout=HANG_MS)
        assert chapter_link.count() >= 1, "the menu opened without the chapter list"
    else:  # the list shows beside the page; the button hides it and shows it again
        sidebar = page.locator("#pst-primary-sidebar")
        assert chapter_link.count() >= 1
        button.click()
        page.wait_for_function("document.querySelector('#pst-primary-sidebar')"
                               ".classList.contains('pst-sidebar-hidden')", timeout=HANG_MS)
        button.click()
        page.wait_for_function("!document.querySelector('#pst-primary-sidebar')"
                               ".classList.contains('pst-sidebar-hidden')", timeout=HANG_MS)
        assert "pst-sidebar-hidden" not in (sidebar.get_attribute("class") or "")
    page.close()


@pytest.mark.parametrize("width,scheme", SCREENS)
def test_page_contents_button_opens_on_a_phone(browser, server, width, scheme):  # noqa: F811
    if width != PHONE:
        pytest.skip("at 1280 px the page contents show beside the text: no button needed")
    page, _ = open_page(browser, f"{server}/book/04_math/04_3_worked_example.html", width, scheme)
    page.locator("button.secondary-toggle:visible").first.click()
    page.wait_for_selector("#pst-secondary-sidebar-modal[open]", timeout=HANG_MS)
    assert page.locator("#pst-secondary-sidebar-modal nav a:visible").count() >= 2
    page.close()


@pytest.mark.parametrize("width,scheme", SCREENS)
def test_theme_labels_and_footer_speak_chinese(browser, server, width, scheme):  # noqa: F811
    page, _ = open_page(browser, f"{server}/exercises/ch04.html", width, scheme)
    labels = page.evaluate("() => [...document.querySelectorAll('[title], [aria-label], [placeholder]')]"
                           ".flatMap(e => [e.title, e.getAttribute('aria-label'), e.placeholder])")
    english = sorted({label for label in labels if label in UI_STRINGS})
    assert english == [], f"the theme still speaks English: {english}"
    footer = page.inner_text("footer.bd-footer-content")
    assert "CC BY-SA 4.0" in footer and "MIT" in footer, f"no licence in the footer: {footer!r}"
    page.close()


@pytest.mark.parametrize("width,scheme", SCREENS)
def test_exercise_page_opens_with_title_then_start_box(browser, server, width, scheme):  # noqa: F811
    page, _ = open_page(browser, f"{server}/exercises/ch04.html", width, scheme)
    assert "第 4 章练习" in page.inner_text("article h1")
    box = page.locator("article .admonition.aibook-start")
    assert box.count() == 1 and box.is_visible(), "no 怎么开始 box"
    assert "怎么开始" in box.inner_text()
    assert box.locator("a[href*='colab.research.google.com'][href$='exercises/ch04.ipynb']").count() == 1
    assert "pip install" in box.inner_text()
    assert box.locator("pre").count() == 2, "the box shows what check() prints, unanswered and answered"
    order = page.evaluate("() => { const h = document.querySelector('article h1');"
                          " const box = document.querySelector('.aibook-start');"
                          " const cell = document.querySelector('article div.cell');"
                          " const after = (x) => !!(h.compareDocumentPosition(x) & 4);"
                          " return [after(box), after(cell)]; }")
    assert order == [True, True], "the title must come first, before the box and the setup cell"
    page.close()


@pytest.mark.parametrize("width,scheme", SCREENS)
def test_answer_key_is_titled_and_bannered(browser, server, width, scheme):  # noqa: F811
    page, _ = open_page(browser, f"{server}/solutions/ch04.html", width, scheme)
    assert page.title().startswith("第 4 章参考答案"), page.title()
    assert page.inner_text("article h1").startswith("第 4 章参考答案")
    banner = page.locator("article .admonition.aibook-answer-key")
    assert banner.count() == 1 and banner.is_visible()
    assert banner.locator("a[href*='exercises/ch04']").count() == 1
    page.close()


def test_next_from_every_exercise_page_never_lands_on_an_answer_key_without_its_banner(browser, server):  # noqa: F811
    for page_path in [p for p in toc_pages() if p.startswith("exercises/")]:
        page, _ = open_page(browser, f"{server}/{page_path}.html", PHONE, "light")
        target = page.locator("a.right-next").get_attribute("href")
        page.goto(page.locator("a.right-next").evaluate("a => a.href"), wait_until="networkidle")
        if "solutions/" in page.url:
            assert page.locator("article .admonition.aibook-answer-key").count() == 1, (
                f"'next' from {page_path} opens {target} without the answer-key banner")
        page.close()


def test_instructor_guide_counts_come_from_the_banks(browser, server):  # noqa: F811
    page, _ = open_page(browser, f"{server}/book/instructors.html", LAPTOP, "light")
    text = page.inner_text("article")
    sets = banks()
    questions = sum(len(qs) for qs in sets.values())
    points = sum(q.points for qs in sets.values() for q in qs)
    assert f"{len(sets)} 套，{questions} 题，{points} 分" in text
    assert "--call-timeout" in text and "--network none" in text
    page.close()
