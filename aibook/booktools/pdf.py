"""The whole book as one PDF: a single-page HTML build printed by Debian's Chromium.

    python -m aibook.booktools.pdf                        # _build/pdf/book.pdf, chapters + appendices
    python -m aibook.booktools.pdf --only book/04_math/index --output _build/pdf-sample/book.pdf

Route (README, "PDF"): Sphinx's `singlehtml` builder renders the committed outputs exactly as the
website does (MathJax, figures, the static frames of the widgets); Chromium prints it through
Playwright with `tagged=True`: a tagged PDF with embedded, selectable fonts. Two passes: the first
print tells on which page each heading lands (Chromium writes a named destination for every link
target), the second fills those numbers into the table of contents; pypdf then writes the bookmark
outline (chapter > section > subsection) from the same destinations. Chromium's own `outline=True`
drops some headings and doubles the text of others, so it is not used.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import http.server
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
STATIC = Path(__file__).resolve().parent / "static"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# Parts of _toc.yml left out of the PDF: exercises are meant to be run, answer keys stay online.
SKIPPED_PARTS = ("练习", "参考答案")
# Pages that only work in a browser: the learner's own progress (localStorage) has nothing to print.
SKIPPED_FILES = ("book/progress",)
HANG = 1800  # seconds: stops a hang only; the whole book takes a few minutes even on a busy machine
FOOTER = ('<div style="font-size:8px;width:100%;text-align:center;color:#555">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')


def pdf_toc(root: Path = ROOT, only: list[str] | None = None) -> dict:
    """_toc.yml without the exercise and answer-key parts and the browser-only pages; with `only`,
    just those chapters."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    parts = []
    for part in toc["parts"]:
        if part.get("caption") in SKIPPED_PARTS:
            continue
        chapters = [c for c in part["chapters"]
                    if c["file"] not in SKIPPED_FILES and (only is None or c["file"] in only)]
        if chapters:
            parts.append({**part, "chapters": chapters})
    return {**toc, "parts": parts}


def heading_levels(toc: dict) -> dict[str, int]:
    """{document: outline level}: chapters and appendices 1, their sections 2, and so on."""
    levels: dict[str, int] = {}

    def walk(entries, level):
        for entry in entries or []:
            levels[entry["file"]] = level
            walk(entry.get("sections"), level + 1)

    for part in toc["parts"]:
        walk(part["chapters"], 1)
    return levels


def version(root: Path = ROOT) -> str:
    """'commit abc1234, 2026-12-01' from git, or today's date when this is not a git checkout."""
    try:
        out = subprocess.run(["git", "log", "-1", "--format=%h %cs"], cwd=root, capture_output=True,
                             text=True, check=True).stdout.split()
        return f"commit {out[0]}, {out[1]}"
    except (OSError, subprocess.CalledProcessError, IndexError):
        return f"no git checkout, built {datetime.date.today().isoformat()}"


def build_html(work: Path, toc: dict, root: Path = ROOT) -> Path:
    """Run Jupyter Book's singlehtml builder into `work`; return the folder with index.html."""
    work.mkdir(parents=True, exist_ok=True)
    toc_file = work / "_toc.yml"
    toc_file.write_text(yaml.safe_dump(toc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    subprocess.run([str(jupyter_book), "build", str(root), "--builder", "singlehtml", "--path-output",
                    str(work), "--toc", str(toc_file), "-q"], check=True, timeout=HANG)
    return work / "_build" / "singlehtml"


@contextmanager
def serve(folder: Path):
    """A local HTTP server for `folder` (MathJax loads its fonts by URL, which file:// blocks)."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def destinations(pdf_path: Path) -> dict[str, tuple[int, float]]:
    """{named destination: (0-based page, top)}: Chromium writes one for every link target."""
    from pypdf import PdfReader

    reader = PdfReader(pdf_path)
    return {name.lstrip("/"): (reader.get_destination_page_number(dest), float(dest.get("/Top") or 0))
            for name, dest in reader.named_destinations.items()}


def write_outline(pdf_path: Path, outline: list, depth: int = 3) -> int:
    """Replace the PDF's bookmarks by `outline` ([heading id, level, title]) down to `depth`."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import Fit

    where = destinations(pdf_path)
    writer = PdfWriter(clone_from=PdfReader(pdf_path))
    stack: list[tuple[int, object]] = []  # (level, item) of the open ancestors
    count = 0
    for anchor, level, title in outline:
        if level > depth or anchor not in where:
            continue
        while stack and stack[-1][0] >= level:
            stack.pop()
        page, top = where[anchor]
        parent = stack[-1][1] if stack else None
        item = writer.add_outline_item(title=title, page_number=page, parent=parent, fit=Fit.xyz(top=top))
        stack.append((level, item))
        count += 1
    writer.page_mode = "/UseOutlines"
    writer.write(pdf_path)
    return count


def print_pdf(site: Path, output: Path, title: str, version_line: str, toc: dict) -> int:
    """Print site/index.html to `output` in two passes; return the number of pages."""
    from playwright.sync_api import sync_playwright
    from pypdf import PdfReader

    lines = (STATIC / "aibook-pdf.js").read_text(encoding="utf-8").splitlines()
    script = "\n".join(line for line in lines if not line.startswith("//"))  # the function itself
    options = dict(format="A4", print_background=True, tagged=True, outline=False, display_header_footer=True,
                   header_template="<span></span>", footer_template=FOOTER,
                   margin={"top": "16mm", "bottom": "16mm", "left": "14mm", "right": "14mm"})
    with serve(site) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(color_scheme="light")
        page.set_default_timeout(HANG * 1000)
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith((url, "data:", "blob:"))
                   else r.abort())  # offline: nothing leaves the machine
        # singlehtml writes the root page to book/index.html but links its assets as if it sat at the
        # top (Sphinx computes relative URLs for "index"): print a copy that sits there.
        shutil.copyfile(site / f"{toc['root']}.html", site / "aibook-print.html")
        page.goto(f"{url}/aibook-print.html", wait_until="networkidle")
        page.add_style_tag(path=str(STATIC / "aibook-pdf.css"))
        page.add_style_tag(path=str(STATIC / "aibook-print.css"))  # also in the build; harmless twice
        prepared = page.evaluate(script, {"title": title, "version": version_line,
                                          "levels": heading_levels(toc), "self": f"{toc['root']}.html"})
        print(f"  {len(prepared['outline'])} headings, {prepared['math']} formulas, "
              f"{prepared['images']} images")
        output.parent.mkdir(parents=True, exist_ok=True)
        page.pdf(path=str(output), **options)
        pages = {name: page_index + 1 for name, (page_index, _) in destinations(output).items()}
        page.evaluate("pages => window.aibookPdfPageNumbers(pages)", pages)
        page.pdf(path=str(output), **options)
        browser.close()
    entries = write_outline(output, prepared["outline"])
    print(f"  outline: {entries} entries")
    return len(PdfReader(output).pages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aibook.booktools.pdf",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "_build" / "pdf" / "book.pdf")
    parser.add_argument("--only", nargs="+", metavar="TOC_FILE",
                        help="just these chapters (e.g. book/04_math/index)")
    parser.add_argument("--no-build", action="store_true", help="print the last HTML build again")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print("Chromium not found: run 'make sysdeps' (Debian package 'chromium')")
        return 1
    toc = pdf_toc(only=args.only)
    if not toc["parts"]:
        print(f"none of {args.only} is a chapter in _toc.yml")
        return 1
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    start = time.perf_counter()
    site = args.output.parent / "site" / "_build" / "singlehtml"
    if not args.no_build:
        site = build_html(args.output.parent / "site", toc)
    built = time.perf_counter()
    pages = print_pdf(site, args.output, config["title"], version(), toc)
    done = time.perf_counter()
    print(f"{args.output}: {pages} pages, {args.output.stat().st_size / 2**20:.1f} MiB "
          f"(HTML {built - start:.0f} s, printing {done - built:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
