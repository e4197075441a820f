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
