"""What each page of the built website loads (aibook/booktools/site_assets.py): the widget manager
only with a live widget, the search index only on the search page, one viewport tag, a favicon, and
no page heavier than HEAVIEST_MIB as Chromium measures it. Run after `make book`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_site_browser import browser  # noqa: F401 (fixture)

from aibook.booktools.page_weight import MIB, page_weights, site_pages, table

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
HEAVIEST_MIB = 4.5
WIDGET_MANAGER = "jupyter-widgets/embed-amd.js"


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    if not (SITE / "index.html").is_file():
        pytest.fail("the website is not built: run 'make book' first")
    # index.html only redirects to book/index.html
    return {page: (SITE / page).read_text(encoding="utf-8") for page in site_pages(SITE)
            if page != "index.html"}


def test_each_page_loads_only_what_it_uses(pages):
    with_manager, with_view = set(), set()
    for page, html in pages.items():
        assert len(re.findall(r'<meta name="viewport"', html)) == 1, f"{page}: one viewport tag"
        assert re.search(r'<link rel="icon" href="[^"]*favicon\.svg"', html), f"{page}: no favicon"
        assert ("searchindex.js" in html) == (page == "search.html"), f"{page}: search index off its page"
        assert "fontawesome.js" not in html, f"{page}: Font Awesome's 1.4 MiB script is back"
        if WIDGET_MANAGER in html:
            with_manager.add(page)
        if "application/vnd.jupyter.widget-view+json" in html:
            with_view.add(page)
    print(f"\n{len(with_manager)} pages load the widget manager, {len(with_view)} show a live widget")
    assert with_manager == with_view


def test_no_page_is_heavier_than_the_limit(browser, pages):  # noqa: F811
    weights = page_weights(SITE, list(pages), browser=browser)
    print("\n" + table(weights))
    totals = {p: sum(w.values()) / MIB for p, w in weights.items()}
    heavy = {p: round(t, 2) for p, t in totals.items() if t > HEAVIEST_MIB}
    assert heavy == {}, f"pages over {HEAVIEST_MIB} MiB: {heavy}"


def test_light_page_drops_what_a_page_does_not_use():
    from aibook.booktools.site_accessibility import accessible
    from aibook.booktools.site_assets import light_page

    head = ('<meta name="viewport" content="width=device-width, initial-scale=1.0" />'
            '<meta name="viewport" content="width=device-width, initial-scale=1" />\n'
            '  <script defer src="../_static/scripts/fontawesome.js?digest=1"></script>\n'
            '    <script src="../_static/searchtools.js"></script>\n'
            '    <script src="../searchindex.js"></script>\n')
    page = light_page(head, "book/index")
    assert page.count('name="viewport"') == 1 and "fontawesome" not in page and "search" not in page
    assert "searchindex.js" in light_page(head, "search")
    nav = ('<li class="toctree-l1 has-children"><a class="reference internal" href="a.html">'
           '第 2 章 <em>核心</em></a><details><summary><span class="toctree-toggle"></span></summary>'
           '<button class="btn search-button-field search-button__button pst-js-only" title="搜索" '
           'aria-label="搜索">')
    fixed = accessible(nav)
    assert '<summary aria-label="展开或收起：第 2 章 核心">' in fixed and 'aria-label="搜索"' not in fixed
