"""Chinese full-text search for the website.

Sphinx segments Chinese only when jieba is installed; this module gives jieba the glossary's
terms (``book/glossary.yml``) as a user dictionary, so 交叉熵 or 学习率 stay whole words in the
index, and ships a query splitter (``static/aibook-search-split.js``) that cuts a Chinese query
into the words the index knows (the stock splitter keeps a whole Chinese run as one word).

On the search page it adds the book's search rules (``static/aibook-search.js``): a page is found
only if it has every word of the query (Sphinx ignores words under 3 characters, most Chinese
words), the glossary's Chinese and English terms count as synonyms both ways (显存 finds "GPU
memory"), and snippets show formulas as text instead of raw TeX.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import yaml
from sphinx.search.zh import SearchChinese

HAN = re.compile(r"[\u3400-\u9fff]")
# a glossary entry may list variants: "微调、精调" or "注意力（机制）"
VARIANT_SEPARATORS = re.compile(r"[、，,/;；（）()\s]+")
# an English term keeps its spaces ("GPU memory"); "(MSE)" is a variant
ENGLISH_SEPARATORS = re.compile(r"\s*[、，,/;；（）()]\s*")
SPLITTER_JS = Path(__file__).with_name("static") / "aibook-search-split.js"


def glossary_terms(glossary: Path) -> list[str]:
    """The Chinese terms of the glossary (each variant on its own), in file order, without repeats."""
    terms: list[str] = []
    for entry in yaml.safe_load(glossary.read_text(encoding="utf-8")) or []:
        for piece in VARIANT_SEPARATORS.split(str(entry["zh"])):
            if HAN.search(piece) and piece not in terms:
                terms.append(piece)
    return terms


def synonym_groups(glossary: Path) -> list[list[str]]:
    """Per glossary entry, its Chinese and English variants (["显存", "GPU memory"]): the search
    counts any of them as the word, both ways."""
    groups = []
    for entry in yaml.safe_load(glossary.read_text(encoding="utf-8")) or []:
        variants = [v for v in VARIANT_SEPARATORS.split(str(entry["zh"])) if HAN.search(v)]
        variants += [v for v in ENGLISH_SEPARATORS.split(str(entry["en"])) if v.strip()]
        unique = list(dict.fromkeys(variants))
        if len(unique) > 1:
            groups.append(unique)
    return groups


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


def _glossary_groups(app) -> list[list[str]]:
    glossary = Path(app.srcdir) / "book" / "glossary.yml"
    return synonym_groups(glossary) if glossary.is_file() else []


def _note_glossary_phrases(app, doctree) -> None:
    """Which glossary terms (any variant, any case) this page's text has: the search looks a term up
    here, as a phrase, instead of as separate words of the index."""
    app.env.note_dependency(str(Path(app.srcdir) / "book" / "glossary.yml"))
    text = doctree.astext().lower()
    variants = {v.lower() for group in _glossary_groups(app) for v in group}
    phrases = getattr(app.env, "aibook_phrases", {})
    phrases[app.env.docname] = sorted(v for v in variants if v in text)
    app.env.aibook_phrases = phrases


def _purge_phrases(app, env, docname) -> None:
    getattr(env, "aibook_phrases", {}).pop(docname, None)


def _merge_phrases(app, env, docnames, other) -> None:
    env.aibook_phrases = {**getattr(env, "aibook_phrases", {}),
                          **{d: p for d, p in getattr(other, "aibook_phrases", {}).items() if d in docnames}}


def _search_page_rules(app, pagename, templatename, context, doctree) -> None:
    """On the search page only: the glossary's synonyms, the pages of each term, the search rules."""
    if pagename != "search":
        return
    pages: dict[str, list[str]] = {}
    for docname, phrases in sorted(getattr(app.env, "aibook_phrases", {}).items()):
        for phrase in phrases:
            pages.setdefault(phrase, []).append(docname)
    app.add_js_file(None, body=(
        f"window.AIBOOK_SEARCH_SYNONYMS = {json.dumps(_glossary_groups(app), ensure_ascii=False)};\n"
        f"window.AIBOOK_SEARCH_PHRASE_PAGES = {json.dumps(pages, ensure_ascii=False)};"))
    app.add_js_file("aibook-search.js", defer="defer")


def setup(app):
    app.add_search_language(BookChineseSearch)
    app.connect("config-inited", _use_glossary_dictionary)
    app.connect("doctree-read", _note_glossary_phrases)
    app.connect("env-purge-doc", _purge_phrases)
    app.connect("env-merge-info", _merge_phrases)
    app.connect("html-page-context", _search_page_rules)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
