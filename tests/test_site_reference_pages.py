"""The reference pages on a phone (390 px) and a laptop (1280 px), light and dark, in Chromium: the
library reference (函数库速查) in Chinese with every name on one line, numbers never split across
lines on the instructors' page, and no build notes on the errata and glossary pages. Run after
`make book`."""

from __future__ import annotations

import pytest
from test_site_browser import browser, server  # noqa: F401 (fixtures)
from test_site_layout import SCREENS, open_page

# (name, lines it takes, fits inside its cell) of the library table's first column
NAME_LINES = """() => [...document.querySelectorAll('table.library-table tbody td:first-child code')]
  .map(c => {
  const cell = c.closest('td').getBoundingClientRect(), box = c.getBoundingClientRect();
  const tops = new Set([...c.getClientRects()].map(r => Math.round(r.top)));
  return [c.innerText, tops.size, box.right <= cell.right + 1 && box.left >= cell.left - 1];
})"""
# every number of the article's text ("1,234", "0.5", "12") whose characters sit on more than one line
SPLIT_NUMBERS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.querySelector('article'), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest('pre, mjx-container, script, style')) continue;
    for (const m of node.textContent.matchAll(/\\d[\\d,.]*\\d/g)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (tops.size > 1) out.push(m[0] + ' in "' + node.textContent.slice(0, 40) + '"');
    }
  }
  return out;
}"""


@pytest.mark.parametrize("width,scheme", SCREENS)
def test_library_reference_is_chinese_with_whole_names(browser, server, width, scheme):  # noqa: F811
    page, external = open_page(browser, f"{server}/book/library.html", width, scheme)
    names = page.evaluate(NAME_LINES)
    descriptions = page.eval_on_selector_all("table.library-table tbody td:nth-child(2)",
                                             "cells => cells.map(c => c.innerText)")
    page.close()
    assert external == []
    assert len(names) >= 150, "the library table is missing"
    english_only = [d for d in descriptions if not any("\u4e00" <= ch <= "\u9fff" for ch in d)]
    assert english_only == [], f"{len(english_only)} descriptions without Chinese: {english_only[:5]}"
    broken = [name for name, lines, fits in names if lines > 1 or not fits]
    assert broken == [], f"{width}px: {len(broken)} names broken or out of their cell: {broken[:8]}"


@pytest.mark.parametrize("width,scheme", SCREENS)
def test_numbers_stay_whole_on_the_instructors_page(browser, server, width, scheme):  # noqa: F811
    page, _ = open_page(browser, f"{server}/book/instructors.html", width, scheme)
    split = page.evaluate(SPLIT_NUMBERS)
    page.close()
    assert split == [], f"{width}px: numbers split across lines: {split[:8]}"


@pytest.mark.parametrize("page_path", ["book/errata", "book/glossary"])
def test_reader_pages_carry_no_build_notes(browser, server, page_path):  # noqa: F811
    page, _ = open_page(browser, f"{server}/{page_path}.html", 390, "light")
    intro = " ".join(page.eval_on_selector_all("article section > p", "ps => ps.map(p => p.innerText)")[:2])
    page.close()
    notes = [w for w in ("构建", "生成", ".yml", "build", "测试") if w in intro]
    assert notes == [], f"{page_path}: build notes shown to readers: {notes} in {intro!r}"
