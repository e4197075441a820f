"""The built website in a real browser (Debian's headless Chromium), with the network cut off.

Every page of the table of contents is opened; the test fails on any request that leaves the
machine, any console error, untypeset math, a missing Colab button on a notebook page, or a
saved widget that does not render. Run after `make book` (make test does both).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def toc_pages() -> list[str]:
    """Every page listed in _toc.yml, as paths without suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return pages


def is_notebook(page: str) -> bool:
    return (ROOT / f"{page}.ipynb").is_file()


@pytest.fixture(scope="module")
def server():
    if not (SITE / "index.html").is_file():
        pytest.fail("the website is not built: run 'make book' first")
    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep test output readable
            pass

    handler = functools.partial(QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium not found: run 'make sysdeps' (Debian package 'chromium')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def offline_route(external: list[str]):
    """A route handler that lets local requests through and blocks (and records in `external`) the rest."""
    def route(r):
        host = urlparse(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    return route


def open_offline(browser, url: str):
    """Open url with every non-local request blocked and recorded; return page and logs."""
    page = browser.new_page()
    external, errors = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", offline_route(external))
    page.goto(url, wait_until="networkidle")
    return page, external, errors


@pytest.mark.parametrize("page_path", toc_pages())
def test_page_renders_offline(browser, server, page_path):
    source = ROOT / page_path
    page, external, errors = open_offline(browser, f"{server}/{page_path}.html")
    assert page.title(), f"{page_path}: no title"
    assert external == [], f"{page_path}: requests leave the machine: {external}"
    assert errors == [], f"{page_path}: console errors: {errors}"
    text = source.with_suffix(".ipynb").read_text(encoding="utf-8") if is_notebook(page_path) \
        else source.with_suffix(".md").read_text(encoding="utf-8")
    if "$" in text:
        # typeset in the page body (math in a heading is also copied into the hidden side TOC)
        page.wait_for_selector("article mjx-container", state="attached", timeout=60_000)
        assert page.locator("mjx-merror").count() == 0, f"{page_path}: MathJax reports an error"
        assert "$$" not in page.inner_text("article"), f"{page_path}: raw LaTeX left on the page"
    if is_notebook(page_path):
        assert page.locator("a[href*='colab.research.google.com']").count() >= 1, "no Colab button"
        assert page.locator("a[href$='.ipynb'], button[title*='ownload']").count() >= 1
    if '"image/png"' in text:
        images = page.locator("article img")
        assert images.count() >= 1, f"{page_path}: figures missing"
        broken = page.evaluate(
            "() => [...document.querySelectorAll('article img')]"
            ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80))"
        )
        assert broken == [], f"{page_path}: images that did not load: {broken}"
    if "aibook-frames" in text:  # a pre-rendered slider (aibook.widgets.interact_frames)
        page.wait_for_selector(".aibook-frames input[type=range]", timeout=60_000)
    elif "application/vnd.jupyter.widget-state+json" in text:
        page.wait_for_selector(".widget-slider, .jupyter-widgets", timeout=60_000)
    page.close()


def test_search_finds_a_term(browser, server):
    page, external, errors = open_offline(browser, f"{server}/search.html?q=Adam")
    page.wait_for_selector("#search-results li", timeout=60_000)
    assert page.locator("#search-results li").count() >= 1
    assert external == [] and errors == []
    page.close()
