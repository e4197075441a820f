"""The kernel-free sliders as a reader on a phone sees them: Chinese labels, every value readable.
In Debian's headless Chromium; run after `make book` (fixtures shared with test_site_browser.py)."""

from __future__ import annotations

import re

import pytest
from test_site_browser import browser, offline_route, server  # noqa: F401 (fixtures)
from test_site_interactive import SLIDER_PAGES

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("page_path", SLIDER_PAGES)
def test_slider_labels_are_chinese_and_values_fit_on_a_phone(browser, server, page_path):  # noqa: F811
    context = browser.new_context(viewport={"width": 390, "height": 844})
    external = []
    context.route("**/*", offline_route(external))
    page = context.new_page()
    page.goto(f"{server}/{page_path}.html", wait_until="load")
    page.wait_for_selector(".aibook-frames input[type=range]")
    controls = page.eval_on_selector_all(".aibook-frames-control", """controls => controls.map(c => {
        const output = c.querySelector('output'), box = output.getBoundingClientRect();
        const input = c.querySelector('input');
        return {name: input.dataset.name, label: c.querySelector('.aibook-frames-name').textContent,
                value: output.textContent, right: box.right,
                clipped: output.scrollWidth > output.clientWidth + 1,
                article: document.querySelector('article').getBoundingClientRect().right};
    })""")
    assert controls, f"{page_path}: no slider"
    for c in controls:
        assert CJK.search(c["label"]) and c["label"] != c["name"], \
            f"{page_path}: slider {c['name']!r} is labelled {c['label']!r}"
        assert c["right"] <= min(390, c["article"]) + 1 and not c["clipped"], \
            f"{page_path}: {c['label']} = {c['value']} is cut off: {c}"
    assert external == []
    context.close()


def test_the_carbon_intensity_reads_429_in_full(browser, server):  # noqa: F811
    """8.3: the slider's value 429 g/kWh showed as "4" on a phone (cut off at the page edge)."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{server}/book/08_trends/08_3_efficiency_energy.html", wait_until="load")
    output = page.locator(".aibook-frames-control:has(input[data-name='grams_per_kwh']) output")
    assert output.inner_text() == "429"
    visible = output.evaluate("o => { const r = document.createRange(); r.selectNodeContents(o);"
                              " return r.getBoundingClientRect().right <= window.innerWidth; }")
    assert visible
    context.close()
