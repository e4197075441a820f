"""Accessibility of the built website by axe-core (the npm package, from ``node_modules``; nothing
is fetched): every page on a phone (390 px) and a laptop (1280 px), light and dark.

    .venv/bin/python -m aibook.booktools.site_axe      # violations per rule and impact, all pages

``tests/test_site_accessibility.py`` fails on any serious or critical violation.
"""

from __future__ import annotations

import argparse
import shutil
from collections import Counter
from pathlib import Path

from aibook.booktools.page_weight import CHROMIUM_ARGS, ROOT, site_pages
from aibook.booktools.pdf import serve

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENS = [(390, "light"), (390, "dark"), (1280, "light"), (1280, "dark")]
SERIOUS = {"serious", "critical"}
# after the fonts and the math are ready and every running transition has ended, so contrast is
# measured on what a reader sees: the theme fades a button's colours for 0.15 s when the colour scheme
# or the width changes, and axe measuring mid-fade found dark text on a still-dark button (1.1:1)
_READY = """async () => {
  await document.fonts.ready;
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  const finite = document.getAnimations().filter(a => isFinite(a.effect?.getComputedTiming().endTime));
  await Promise.all(finite.map(a => a.finished.catch(() => null)));
}"""
# the theme gives a block that scrolls a tab stop (tabIndex 0, else -1) 300 ms after a resize; on a busy
# machine axe ran first and found "scrollable region must have keyboard access" (exercises/ch06, 1280 px)
_TAB_STOPS_SETTLED = """() => [...document.querySelectorAll(["pre", ".nboutput > .output_area",
  ".cell_output > .output", ".jp-RenderedHTMLCommon", ".pst-scrollable-table-container"].join(", "))]
  .every(e => e.tabIndex === (e.scrollWidth > e.clientWidth || e.scrollHeight > e.clientHeight ? 0 : -1))"""
_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html.slice(0, 160),
                              summary: (n.failureSummary || "").slice(0, 200)}))}));
}"""


def axe_source() -> str:
    if not AXE.is_file():
        raise SystemExit(f"{AXE.relative_to(ROOT)} not found: run 'make assets' (npm ci)")
    return AXE.read_text(encoding="utf-8")


def violations(browser, url: str, screens=SCREENS, source: str | None = None) -> dict[tuple, list[dict]]:
    """{(width, scheme): axe-core's violations} on url, loaded once and seen on each screen in turn
    (the viewport and colour scheme change in place), with the network cut off."""
    width, scheme = screens[0]
    page = browser.new_page(viewport={"width": width, "height": 844 if width < 600 else 900},
                            color_scheme=scheme)
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("http://127.0.0.1", "data:"))
               else r.abort())
    found = {}
    try:
        page.goto(url, wait_until="networkidle")
        page.evaluate(_READY)
        page.add_script_tag(content=source or axe_source())
        for width, scheme in screens:
            page.set_viewport_size({"width": width, "height": 844 if width < 600 else 900})
            page.emulate_media(color_scheme=scheme)
            # the theme follows the system's scheme ("auto"): wait until it has switched
            page.wait_for_function("s => document.documentElement.dataset.theme === s", arg=scheme)
            page.evaluate(_READY)
            page.wait_for_function(_TAB_STOPS_SETTLED, timeout=15_000)
            found[(width, scheme)] = page.evaluate(_RUN)
        return found
    finally:
        page.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", nargs="?", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--pages", nargs="*", help="pages (paths in the site) instead of all")
    parser.add_argument("--details", action="store_true", help="print every violating element")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    source = axe_source()
    pages = args.pages or site_pages(args.site)
    nodes, pages_hit = Counter(), Counter()
    with serve(args.site) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                    args=CHROMIUM_ARGS)
        for page in pages:
            for (width, scheme), found in violations(browser, f"{server}/{page}", SCREENS, source).items():
                for v in found:
                    nodes[(v["id"], v["impact"])] += len(v["nodes"])
                    pages_hit[(v["id"], v["impact"])] += 1
                    if args.details:
                        for n in v["nodes"]:
                            print(f"{page} {width} {scheme} {v['id']} {n['target']} {n['html'][:100]}")
        browser.close()
    print(f"{len(pages)} pages x {len(SCREENS)} screens")
    for (rule, impact), count in nodes.most_common():
        print(f"{rule:28} {impact:9} {count:6} nodes on {pages_hit[(rule, impact)]:4} page-screens")
    serious = sum(c for (rule, impact), c in nodes.items() if impact in SERIOUS)
    print(f"serious or critical: {serious} nodes")


if __name__ == "__main__":
    main()
