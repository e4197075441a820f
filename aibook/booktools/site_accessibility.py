"""The theme's accessibility faults, fixed in the rendered pages (tests/test_site_accessibility.py
runs axe-core over every page; no rule is switched off there):

- each chapter's fold button in the side menu (``<details><summary>``) has no name: it gets
  "展开或收起：<chapter title>";
- the search buttons that show "搜索 Ctrl+K" are labelled "搜索" only (a speech-input user who says
  what they see is not understood): the label is dropped, so the visible text is the name;
- the side menu's title and search box sit outside any landmark: the menu becomes one;
- the bibliography's entries (docutils: ``role="doc-biblioentry"``, deprecated in DPUB-ARIA 1.1) sit
  in a ``role="list"`` that needs list items: they become ``role="listitem"``.
"""

from __future__ import annotations

import html
import re

from aibook.booktools.sphinx_ext import wrap_rendered_pages

# a link's title stays inside its own <a>...</a>
# (the current chapter's link is class="current reference internal")
_TOGGLE = re.compile(r'(<a class="(?:current )?reference internal" href="[^"]*">)'
                     r'(?P<title>(?:(?!</?a[ >]).)*)(</a><details[^>]*>)<summary>', re.S)
_SEARCH_FIELD = re.compile(r'(<button class="btn search-button-field search-button__button[^"]*"[^>]*?) '
                           r'aria-label="[^"]*"')
_BIBLIOENTRY = re.compile(r'(<div class="citation" id="[^"]*") role="doc-biblioentry"')
_PRIMARY_SIDEBAR = re.compile(r'<div id="pst-primary-sidebar" class="([^"]*)">')


def accessible(page: str) -> str:
    """The rendered page with names for the side menu's fold buttons and landmarks for its parts."""
    def named(match: re.Match) -> str:
        title = " ".join(html.unescape(re.sub(r"<[^>]+>", "", match["title"])).split())
        label = html.escape(f"展开或收起：{title}", quote=True)
        return f'{match[1]}{match["title"]}{match[3]}<summary aria-label="{label}">'

    page = _TOGGLE.sub(named, page)
    page = _SEARCH_FIELD.sub(r"\1", page)
    page = _BIBLIOENTRY.sub(r'\1 role="listitem"', page)
    landmark = r'<div id="pst-primary-sidebar" class="\1" role="region" aria-label="全书目录">'
    return _PRIMARY_SIDEBAR.sub(landmark, page)


def _fix_rendered_pages(app) -> None:
    wrap_rendered_pages(app, lambda html, context: accessible(html))


def setup(app):
    app.connect("builder-inited", _fix_rendered_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
