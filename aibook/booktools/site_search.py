"""Chinese full-text search for the website.

Sphinx segments Chinese only when jieba is installed; this module gives jieba the glossary's
terms (``book/glossary.yml``) as a user dictionary, so 交叉熵 or 学习率 stay whole words in the
index, and ships a query splitter (``static/aibook-search-split.js``) that cuts a Chinese query
into the words the index knows (the stock splitter keeps a whole Chinese run as one word).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import yaml
from sphinx.search.zh import SearchChinese

HAN = re.compile(r"[\u3400-\u9fff]")
# a glossary entry may list variants: "微调、精调" or "注意力（机制）"
VARIANT_SEPARATORS = re.compile(r"[、，,/;；（）()\s]+")
SPLITTER_JS = Path(__file__).with_name("static") / "aibook-search-split.js"


def glossary_terms(glossary: Path) -> list[str]:
    """The Chinese terms of the glossary (each variant on its own), in file order, without repeats."""
    terms: list[str] = []
    for entry in yaml.safe_load(glossary.read_text(encoding="utf-8")) or []:
        for piece in VARIANT_SEPARATORS.split(str(entry["zh"])):
            if HAN.search(piece) and piece not in terms:
                terms.append(piece)
    return terms


def write_user_dictionary(glossary: Path, target: Path) -> Path:
    """Write jieba's user dictionary (``word frequency tag`` per line) for the glossary's terms."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # a high frequency makes jieba prefer the whole term to any split of it
    target.write_text("".join(f"{term} 200000 n\n" for term in glossary_terms(glossary)), encoding="utf-8")
    return target


class BookChineseSearch(SearchChinese):
    """Sphinx's Chinese search with the book's query splitter."""

    lang = "zh"
    js_splitter_code = SPLITTER_JS.read_text(encoding="utf-8")

    def init(self, options: dict[str, str]) -> None:
        import jieba

        jieba.setLogLevel(logging.WARNING)  # it logs its dictionary loading to stderr
        super().init(options)


def _use_glossary_dictionary(app, config) -> None:
    glossary = Path(app.srcdir) / "book" / "glossary.yml"
    if not glossary.is_file():
        return
    path = write_user_dictionary(glossary, Path(app.doctreedir) / "aibook-jieba-dict.txt")
    config.html_search_options = {**(config.html_search_options or {}), "dict": str(path)}


def setup(app):
    app.add_search_language(BookChineseSearch)
    app.connect("config-inited", _use_glossary_dictionary)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
