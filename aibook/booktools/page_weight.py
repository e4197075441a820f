"""How much each page of the built website makes a browser load: the page, its scripts, styles,
fonts, images and whatever they load in turn, measured in Chromium (the Resource Timing sizes,
uncompressed), with the network cut off.

    .venv/bin/python -m aibook.booktools.page_weight            # the 10 heaviest pages, a Markdown table
    .venv/bin/python -m aibook.booktools.page_weight --top 72   # every page

The README's site section shows its table; ``tests/test_site_assets.py`` holds every page to a limit.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from aibook.booktools.pdf import serve

ROOT = Path(__file__).resolve().parents[2]
MIB = 2**20
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
# every request the page made, with its size once loaded (0 for one served from the memory cache)
_LOADED = """() => [...performance.getEntriesByType('navigation'),
                    ...performance.getEntriesByType('resource')].map(e => [e.name, e.decodedBodySize])"""


def site_pages(site: Path) -> list[str]:
    """Every HTML page of the built site (relative paths), without the generated index."""
    return sorted(str(p.relative_to(site)) for p in site.rglob("*.html")
                  if not p.relative_to(site).parts[0].startswith("_") and p.name != "genindex.html")




def weigh(browser, url: str) -> dict[str, int]:
    """{address: bytes} of everything a fresh browser context loads for url, once the network is idle."""
    context = browser.new_context()  # empty cache: each page is weighed as a first visit
    page = context.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("http://127.0.0.1", "data:"))
               else r.abort())
    page.goto(url, wait_until="networkidle")
    loaded = dict(page.evaluate(_LOADED))
    context.close()
    return loaded


def page_weights(site: Path, pages: list[str] | None = None, browser=None) -> dict[str, dict[str, int]]:
    """{page: {address: bytes}} for the pages of the built site (all by default)."""
    pages = site_pages(site) if pages is None else pages
    with serve(site) as server:
        if browser is not None:
            return {page: weigh(browser, f"{server}/{page}") for page in pages}
        from playwright.sync_api import sync_playwright

        chromium = shutil.which("chromium") or "/usr/bin/chromium"
        with sync_playwright() as p:
            own = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                return {page: weigh(own, f"{server}/{page}") for page in pages}
            finally:
                own.close()


def table(weights: dict[str, dict[str, int]], top: int = 10) -> str:
    """The heaviest pages as a Markdown table: total, the page itself, and its largest file."""
    rows = ["| page | total (MiB) | the page's HTML (KiB) | requests | largest file (KiB) |",
            "|---|---:|---:|---:|---|"]
    ranked = sorted(weights.items(), key=lambda item: -sum(item[1].values()))
    for page, loaded in ranked[:top]:
        html = next((size for url, size in loaded.items() if url.split("?")[0].endswith("/" + page)), 0)
        name, size = max(((url, size) for url, size in loaded.items() if not url.split("?")[0].endswith(
            "/" + page)), key=lambda item: item[1], default=("—", 0))
        short = name.split("?")[0].split("/", 3)[-1]
        rows.append(f"| `{page}` | {sum(loaded.values()) / MIB:.2f} | {html / 1024:.0f} | {len(loaded)} | "
                    f"`{short}` ({size / 1024:.0f}) |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", nargs="?", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--top", type=int, default=10, help="how many of the heaviest pages to list")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        raise SystemExit(f"no website in {args.site}: run 'make book' first")
    weights = page_weights(args.site)
    print(table(weights, args.top))
    totals = sorted(sum(loaded.values()) for loaded in weights.values())
    print(f"\n{len(weights)} pages; median {totals[len(totals) // 2] / MIB:.2f} MiB, "
          f"heaviest {totals[-1] / MIB:.2f} MiB.")


if __name__ == "__main__":
    main()
