"""Accessibility of the built website: axe-core (npm, served from node_modules) on every page of the
table of contents and the search page, on a phone (390 px) and a laptop (1280 px), light and dark.
Fails on any serious or critical violation, with the elements axe names. Run after `make book`."""

from __future__ import annotations

import pytest
from test_site_browser import browser, server, toc_pages  # noqa: F401 (fixtures)

from aibook.booktools.site_axe import SCREENS, SERIOUS, axe_source, violations


@pytest.fixture(scope="module")
def axe():
    return axe_source()


@pytest.mark.parametrize("page_path", [*toc_pages(), "search"])
def test_no_serious_accessibility_violation(browser, server, axe, page_path):  # noqa: F811
    found = []
    for (width, scheme), seen in violations(browser, f"{server}/{page_path}.html", SCREENS, axe).items():
        for v in seen:
            if v["impact"] in SERIOUS:
                found += [f"{width}px {scheme} {v['id']} ({v['help']}): {n['target']} {n['html'][:90]}"
                          for n in v["nodes"]]
    assert not found, f"{page_path}: {len(found)} serious or critical violations:\n" + "\n".join(found[:20])


def test_the_current_chapters_fold_button_is_named_too():
    # the current chapter's link is class="current reference internal" href="#": the first build
    # named every fold button but that one, and axe found it on each chapter index page
    from aibook.booktools.site_accessibility import accessible

    for link_class in ("reference internal", "current reference internal"):
        page = (f'<li><a class="{link_class}" href="#">第 3 章 核心算法原理</a>'
                '<details open="open"><summary><span class="toctree-toggle"></span></summary>')
        assert '<summary aria-label="展开或收起：第 3 章 核心算法原理">' in accessible(page)


# the theme fades a button's colours when the colour scheme changes; here the fade is long (3 s) and
# starts from an unreadable grey, so axe finds it unless it waits until the transition has ended
_FADING_PAGE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>渐变</title><style>
html[data-theme="light"] button { background: #fff; color: #222; }
html[data-theme="dark"] button { background: #fff; color: #eee; }
button { transition: color 3s linear; }
</style><script>
const scheme = matchMedia("(prefers-color-scheme: dark)");
const apply = () => { document.documentElement.dataset.theme = scheme.matches ? "dark" : "light"; };
scheme.addEventListener("change", apply); apply();
</script></head><body><main><h1>渐变</h1><button>搜索</button></main></body></html>"""


def test_contrast_is_measured_after_the_colours_stop_fading(browser, axe, tmp_path):  # noqa: F811
    # the first whole-site run measured the search button mid-fade (dark text on a still-dark
    # button, 1.1:1) on some runs and not others: a verdict that depended on the machine's speed
    from aibook.booktools.pdf import serve

    (tmp_path / "fade.html").write_text(_FADING_PAGE, encoding="utf-8")
    with serve(tmp_path) as local:
        # dark first: the fade back to light text ends at #222 on white, readable
        found = violations(browser, f"{local}/fade.html", [(1280, "dark"), (1280, "light")], axe)
    assert [v["id"] for v in found[(1280, "light")]] == []


# a block that scrolls gets its tab stop from the theme's script only some time after a resize (here 2 s);
# axe must judge the page after that, not before it, whatever the machine's speed
_LATE_TAB_STOP_PAGE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>滚动</title>
</head><body><main><h1>滚动</h1><pre style="width: 200px; overflow: auto">""" + "x" * 400 + """</pre>
<script>
const scheme = matchMedia("(prefers-color-scheme: dark)");
const apply = () => { document.documentElement.dataset.theme = scheme.matches ? "dark" : "light"; };
scheme.addEventListener("change", apply); apply();
const block = document.querySelector("pre");
block.tabIndex = -1;
setTimeout(() => { block.tabIndex = 0; }, 2000);
</script></main></body></html>"""


def test_axe_waits_for_the_late_tab_stop_of_a_scrolling_block(browser, axe, tmp_path):  # noqa: F811
    from aibook.booktools.pdf import serve

    (tmp_path / "late.html").write_text(_LATE_TAB_STOP_PAGE, encoding="utf-8")
    with serve(tmp_path) as local:
        found = violations(browser, f"{local}/late.html", [(390, "light")], axe)
    assert [v["id"] for v in found[(390, "light")]] == []


def test_bibliography_entries_are_items_of_their_list():
    # axe (aria-required-children) on the merged site: docutils' citation list has role="list" but its
    # entries role="doc-biblioentry"
    from aibook.booktools.site_accessibility import accessible

    page = ('<div role="list" class="citation-list">\n'
            '<div class="citation" id="id27" role="doc-biblioentry">\n<span>ABC+16</span></div>')
    assert '<div class="citation" id="id27" role="listitem">' in accessible(page)
