"""The PDF of `make pdf`: outline, titles, corrected numbers, fonts, math.

By default (inside `make test`) this builds and checks a sample: Chapter 4, the errata and the
bibliography (about a minute). `make pdf` builds the whole book and runs the same checks on it
with AIBOOK_PDF=_build/pdf/book.pdf.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml

from aibook.booktools import pdf

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ["book/04_math/index", "book/errata", "book/bibliography"]
MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]{12,})\$", re.S)  # display math, and longer inline math


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(path of the PDF, the table of contents it was built from)."""
    whole = os.environ.get("AIBOOK_PDF")
    if whole:
        path = ROOT / whole
        assert path.is_file(), f"{whole} not found: run 'make pdf'"
        return path, pdf.pdf_toc()
    output = tmp_path_factory.mktemp("pdf") / "book.pdf"
    assert pdf.main(["--only", *SAMPLE, "--output", str(output)]) == 0
    return output, pdf.pdf_toc(only=SAMPLE)


@pytest.fixture(scope="module")
def reader(built):
    from pypdf import PdfReader

    return PdfReader(built[0])


@pytest.fixture(scope="module")
def text(reader) -> str:
    """The PDF's text with all whitespace removed (line breaks and CJK spacing vary)."""
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


def markdown(doc: str, kind: str = "markdown") -> str:
    """The markdown (or, with kind="code", the code) of a page of the book."""
    path = ROOT / f"{doc}.md"
    if path.is_file():
        return path.read_text(encoding="utf-8") if kind == "markdown" else ""
    nb = json.loads((ROOT / f"{doc}.ipynb").read_text(encoding="utf-8"))
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == kind)


def page_title(doc: str) -> str:
    """The first '# ' heading of a page of the book, as written in its source."""
    return next(line[2:].strip() for line in markdown(doc).splitlines() if line.startswith("# "))


def documents(toc: dict) -> list[tuple[str, int]]:
    return list(pdf.heading_levels(toc).items())


def proof_numbers(proof: str) -> list[str]:
    """Decimal numbers printed by the code cell that proves an erratum (from the stored outputs)."""
    notebook, label = proof.split("#")
    cells = json.loads((ROOT / notebook).read_text(encoding="utf-8"))["cells"]
    start = next(i for i, c in enumerate(cells)
                 if c["cell_type"] == "markdown" and f"({label})=" in "".join(c["source"]))
    cell = next(c for c in cells[start + 1:] if c["cell_type"] == "code")
    printed = "".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                      for o in cell.get("outputs", []))
    return re.findall(r"-?\d+\.\d{2,}(?:e[+-]?\d+)?", printed)


def test_page_count_and_title_page(reader, built):
    chapters = [doc for doc, level in documents(built[1]) if level == 1]
    assert len(reader.pages) >= 10 * len(chapters), f"{len(reader.pages)} pages for {len(chapters)} chapters"
    first = reader.pages[0].extract_text()
    assert "AI 大模型" in first and re.search(r"commit [0-9a-f]{7,}, \d{4}-\d{2}-\d{2}", first), first[:300]
    assert "目录" in reader.pages[1].extract_text()


def test_every_chapter_and_section_title_is_in_the_outline_and_the_text(reader, built, text):
    outline = {}

    def walk(items, level):
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
            else:
                outline[re.sub(r"\s+", "", item.title)] = (level, reader.get_destination_page_number(item))

    walk(reader.outline, 1)
    for doc, level in documents(built[1]):
        title = re.sub(r"\s+", "", page_title(doc))
        assert outline.get(title, (None,))[0] == level, f"{doc}: '{title}' not at outline level {level}"
        assert title in text, f"{doc}: title '{title}' not in the text"


def test_key_corrected_numbers_from_the_stored_outputs(built, text):
    docs = {doc for doc, _ in documents(built[1])}
    checked = []
    for path in sorted((ROOT / "book" / "errata").glob("ch*.yml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            if Path(entry["proof"].split("#")[0]).with_suffix("").as_posix() not in docs:
                continue
            for number in proof_numbers(entry["proof"])[:2]:
                assert number in text, f"{entry['id']}: {number} (printed by its proof cell) not in the PDF"
                checked.append(number)
    assert len(checked) >= 10, f"only {len(checked)} numbers checked"


def test_cjk_fonts_are_embedded_with_unicode_maps(reader):
    """Every font that draws Chinese is in the file (a FontFile, or Type 3 glyph procedures) and maps
    its glyphs back to Unicode (ToUnicode), so the text can be selected and searched."""
    fonts = {}
    for page in reader.pages[:60]:
        for font in (page.get("/Resources", {}).get("/Font", {}) or {}).values():
            font = font.get_object()
            embedded = "/CharProcs" in font  # Type 3: the glyphs are drawn inside the PDF
            for descendant in font.get("/DescendantFonts", []):
                descriptor = descendant.get_object().get("/FontDescriptor", {}).get_object()
                embedded |= any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            name = str(font.get("/BaseFont", ""))
            fonts[name] = (embedded, "/ToUnicode" in font)
    cjk = {name: flags for name, flags in fonts.items() if re.search(r"WenQuanYi|CJK|Hei|Song|Kai", name)}
    assert cjk and all(all(flags) for flags in cjk.values()), f"CJK fonts (embedded, ToUnicode): {cjk}"


def test_math_is_typeset_and_widgets_are_replaced(built, text):
    formulas = [re.sub(r"\s+", "", a or b) for doc, _ in documents(built[1])
                for a, b in MATH.findall(markdown(doc)) if "\\" in (a or b)]
    code = re.sub(r"\s+", "", "".join(markdown(doc, "code") for doc, _ in documents(built[1])))
    leftover = [f for f in formulas if f in text and f not in code]  # a plot label may spell the same TeX
    assert len(formulas) >= 20, f"only {len(formulas)} formulas in the sources of these pages"
    assert not leftover, f"raw TeX in the PDF: {leftover[:3]}"
    assert "$$" not in text
    assert "θ" in text or "λ" in text, "no typeset Greek letters: did MathJax run?"
    assert "交互图" in text, "the note that replaces a widget is missing"


def test_browser_print_of_a_page_wraps_code_and_keeps_figures(built):
    """The website's print styles alone (no PDF extras): what a reader gets from the browser's Print."""
    from playwright.sync_api import sync_playwright

    site = built[0].parent / "site" / "_build" / "singlehtml"
    with pdf.serve(site) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=pdf.CHROMIUM, args=pdf.CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 800, "height": 1000})
        page.goto(f"{url}/aibook-print.html", wait_until="networkidle")
        page.emulate_media(media="print")
        # measure only what has arrived: every figure loaded and decoded (an image still loading has
        # no size yet and would count as hidden on a busy machine), the fonts ready
        broken = page.evaluate("""async () => {
            const images = [...document.querySelectorAll('.cell_output img')];
            images.forEach(i => { i.loading = 'eager'; });
            await Promise.all(images.map(i => i.decode().catch(() => null)));
            await document.fonts.ready;
            return images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80));
        }""")
        assert broken == [], f"figures that did not load: {broken[:3]}"
        assert page.locator("link[href*='aibook-print.css']").count() == 1
        clipped = page.evaluate("""() => [...document.querySelectorAll('pre')]
            .filter(p => p.offsetParent !== null && p.scrollWidth > p.clientWidth + 1)
            .map(p => p.textContent.slice(0, 60))""")
        hidden_images = page.evaluate("""() => [...document.querySelectorAll('.cell_output img')]
            .filter(i => i.offsetParent === null || i.getBoundingClientRect().width < 50).length""")
        widgets = page.evaluate("""() => [...document.querySelectorAll('.cell_output')]
            .filter(o => o.querySelector('script[type*="widget-view"], .jupyter-widgets'))
            .map(o => getComputedStyle(o, '::before').content)
            .concat([...document.querySelectorAll('.aibook-frames')]  // pre-rendered sliders
                .map(f => getComputedStyle(f, '::before').content))""")
        browser.close()
    assert not clipped, f"code clipped when printed: {clipped[:3]}"
    assert hidden_images == 0
    assert widgets and all("交互图" in w for w in widgets), widgets


def test_the_learners_progress_page_is_not_printed(text):
    """我的进度 lives in the browser (localStorage): the PDF neither holds nor mentions it."""
    assert "我的进度" not in text and "错题本" not in text


def test_quiz_answers_follow_the_questions(built, text):
    """On paper nothing can be clicked open: each quiz prints its answers after its last question."""
    from aibook.booktools.quizzes import page_quizzes

    quizzes = {doc: page_quizzes(ROOT, doc) for doc, _ in documents(built[1])}
    quizzes = {doc: questions for doc, questions in quizzes.items() if questions}
    assert quizzes, "no page of this PDF has a self-check quiz"
    assert text.count("本节自测答案") == len(quizzes)
    for doc, questions in quizzes.items():
        for q in questions:
            why = q.explanation if q.kind == "numeric" else next(o.why for o in q.options if o.correct)
            start = re.sub(r"\s+", "", re.sub(r"[`*$\\]", "", why))[:12]
            prompt = re.sub(r"\s+", "", re.sub(r"[`*$\\]", "", q.prompt))[:12]
            assert text.index(prompt) < text.index(start, text.index(prompt)), f"{doc}: answer to '{prompt}'"


def test_links_to_pages_the_pdf_leaves_out_are_named_in_words(text):
    from docutils import nodes

    from aibook.booktools.sphinx_ext import unbuilt_exercise_reference

    def xref(target, reftype="doc"):
        return {"reftype": reftype, "reftarget": target}
    named = unbuilt_exercise_reference(None, None, xref("../../exercises/ch02"), nodes.Text("x"))
    assert named.astext() == "第 2 章的练习（在网站上和笔记本包里）"
    assert "参考答案" in unbuilt_exercise_reference(None, None, xref("/solutions/ch09"), None).astext()
    assert unbuilt_exercise_reference(None, None, xref("book/04_math/index"), None) is None
    assert unbuilt_exercise_reference(None, None, xref("exercises/ch02", "ref"), None) is None
    # a doc link left unresolved prints its target ("../../exercises/ch02", "/solutions/ch05");
    # file names in prose ("exercises/ch08.ipynb") are meant to be there
    raw = re.search(r"(?:\.\./|(?<![\w.])/)(?:exercises|solutions)/ch\d+(?!\d|\.ipynb)", text)
    assert raw is None, f"raw link target in the PDF: {raw and raw.group(0)}"
