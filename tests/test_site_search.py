"""Chinese search: the glossary as jieba's user dictionary, and the page's query splitter."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest
from test_site_browser import browser, server  # noqa: F401 (fixtures)

from aibook.booktools.site_search import SPLITTER_JS, glossary_terms, write_user_dictionary

ROOT = Path(__file__).resolve().parents[1]


def test_glossary_terms_are_the_chinese_variants(tmp_path):
    glossary = tmp_path / "glossary.yml"
    glossary.write_text("- {zh: 交叉熵, en: cross-entropy}\n- {zh: 微调、精调, en: fine-tuning}\n"
                        "- {zh: F1, en: F1 score}\n- {zh: 注意力（机制）, en: attention}\n", encoding="utf-8")
    assert glossary_terms(glossary) == ["交叉熵", "微调", "精调", "注意力", "机制"]
    lines = write_user_dictionary(glossary, tmp_path / "out" / "dict.txt").read_text(encoding="utf-8")
    assert lines.splitlines()[0] == "交叉熵 200000 n"


def test_the_book_glossary_keeps_its_terms_whole_under_jieba(tmp_path):
    import jieba

    terms = glossary_terms(ROOT / "book" / "glossary.yml")
    assert {"学习率", "交叉熵", "预训练"} <= set(terms)
    tokenizer = jieba.Tokenizer()
    tokenizer.load_userdict(str(write_user_dictionary(ROOT / "book" / "glossary.yml", tmp_path / "d.txt")))
    words = set(tokenizer.cut_for_search("调小学习率之后，交叉熵损失下降；小批量随机梯度下降更快。"))
    assert {"学习率", "交叉熵", "随机梯度下降", "梯度", "下降"} <= words


def split_with_page_script(query: str, index_terms: list[str]) -> list[str]:
    """Run the page's splitQuery in Node with a search index holding ``index_terms``."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.fail("Node.js not found: run 'make sysdeps' (Debian package 'nodejs')")
    terms = {term: 0 for term in index_terms}
    script = (f"var Search = {{_index: {{terms: {json.dumps(terms)}, titleterms: {{}}}}}};\n"
              + SPLITTER_JS.read_text(encoding="utf-8")
              + f"\nconsole.log(JSON.stringify(splitQuery({json.dumps(query)})));")
    run = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_a_chinese_query_is_cut_into_words_the_index_knows():
    index = ["交叉熵", "交叉", "损失", "损失函数", "学习率", "学习", "adam", "优化器"]
    assert split_with_page_script("交叉熵损失函数", index) == ["交叉熵", "损失函数"]
    assert split_with_page_script("学习率", index) == ["学习率"]
    assert split_with_page_script("Adam优化器 学习率", index) == ["Adam", "优化器", "学习率"]
    # unknown characters are dropped between known words; a run with no known word stays whole
    assert split_with_page_script("的学习率", index) == ["学习率"]
    assert split_with_page_script("量子计算", index) == ["量子计算"]


# ---- the built site's search, in the browser: precision and recall against the pages' text ----
# Each query with the words a reader means by it; a page should be found when its text has every
# word (or, for a glossary term, one of its synonyms), counted from the built HTML.
QUERIES = [
    ("GPU 显存", ["gpu", "显存"]),
    ("学习率预热", ["学习率", "预热"]),
    ("BERT 微调", ["bert", "微调"]),
    ("注意力 掩码", ["注意力", "掩码"]),
    ("交叉熵 损失", ["交叉熵", "损失"]),
    ("Adam 学习率", ["adam", "学习率"]),
    ("过拟合 正则化", ["过拟合", "正则化"]),
    ("显存", ["显存"]),
    ("warm-up", ["warm-up"]),
    ("GPU memory", ["gpu memory"]),
    ("Transformer 位置编码", ["transformer", "位置编码"]),
    ("卷积 池化", ["卷积", "池化"]),
    ("反向传播 链式法则", ["反向传播", "链式法则"]),
    ("LoRA 参数", ["lora", "参数"]),
    ("梯度 消失", ["梯度", "消失"]),
    ("Fashion-MNIST 归一化", ["fashion-mnist", "归一化"]),
]
SITE = ROOT / "_build" / "html"


class _ArticleText(HTMLParser):
    """The text of a built page's article (what the search indexes), without scripts and styles."""

    def __init__(self):
        super().__init__()
        self.depth, self.skip, self.parts = 0, 0, []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += tag not in VOID_TAGS
        elif tag == "article":
            self.depth = 1
        if self.depth and tag in ("script", "style"):
            self.skip += 1

    def handle_endtag(self, tag):
        if self.depth and tag in ("script", "style"):
            self.skip -= 1
        if self.depth and tag not in VOID_TAGS:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth and not self.skip:
            self.parts.append(data)


VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
             "wbr"}


def page_texts() -> dict[str, str]:
    """docname -> lower-case article text, for every page of the search index."""
    script = (SITE / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(re.search(r"Search\.setIndex\((.*)\)\s*$", script, re.S)[1])
    texts = {}
    for docname in index["docnames"]:
        parser = _ArticleText()
        parser.feed((SITE / f"{docname}.html").read_text(encoding="utf-8"))
        texts[docname] = " ".join(parser.parts).lower()
    return texts


def expected_pages(words: list[str], texts: dict[str, str], synonyms: list[list[str]]) -> set[str]:
    alternatives = []
    for word in words:
        group = next((g for g in synonyms if word in {v.lower() for v in g}), [word])
        alternatives.append({v.lower() for v in group})
    return {doc for doc, text in texts.items() if all(any(v in text for v in alt) for alt in alternatives)}


def search_results(page, server: str, query: str) -> tuple[set[str], list[str]]:  # noqa: F811
    """(pages found, snippet texts) of the site's search page for query."""
    page.goto(f"{server}/search.html?q={quote(query)}", wait_until="networkidle")
    # finished when the summary says so and every result has its snippet (fetched page by page)
    page.wait_for_function("""() => {
      const summary = document.querySelector('#search-results .search-summary');
      const items = [...document.querySelectorAll('#search-results ul.search li')];
      return summary && summary.innerText && items.every(li => li.querySelector('.context'));
    }""", timeout=60_000)
    hrefs = page.eval_on_selector_all("#search-results ul.search li > a", "els => els.map(a => a.href)")
    snippets = page.eval_on_selector_all("#search-results ul.search li .context",
                                         "els => els.map(e => e.innerText)")
    found = {urlparse(h).path.lstrip("/").removesuffix(".html") for h in hrefs}
    return found, snippets


RAW_TEX = re.compile(r"\\[a-zA-Z]+|\\[()\[\]]|\$\$?")


def test_search_finds_the_pages_with_every_word(browser, server):  # noqa: F811
    from aibook.booktools.site_search import synonym_groups

    texts = page_texts()
    synonyms = synonym_groups(ROOT / "book" / "glossary.yml")
    page = browser.new_page()
    rows, raw_tex, hits, found_total, expected_total = [], [], 0, 0, 0
    for query, words in QUERIES:
        expected = expected_pages(words, texts, synonyms)
        found, snippets = search_results(page, server, query)
        raw_tex += [f"{query}: {s[:80]}" for s in snippets if RAW_TEX.search(s)]
        hits += len(found & expected)
        found_total += len(found)
        expected_total += len(expected)
        rows.append(f"{query:24} found {len(found):3}  expected {len(expected):3}  "
                    f"both {len(found & expected):3}  missed {sorted(expected - found)[:3]}  "
                    f"extra {sorted(found - expected)[:3]}")
    page.close()
    precision, recall = hits / max(found_total, 1), hits / max(expected_total, 1)
    print("\n".join(rows) + f"\nprecision {precision:.3f}  recall {recall:.3f}  "
          f"snippets with raw TeX {len(raw_tex)}")
    assert expected_total >= 5 * len(QUERIES), "the queries should match pages: is the site built?"
    assert precision >= 0.9 and recall >= 0.9, "\n".join(rows)
    assert raw_tex == [], f"snippets show raw TeX: {raw_tex[:5]}"


def run_search_rules(expression: str, synonyms: list[list[str]], index_terms: list[str]):
    """Evaluate expression (JavaScript) after loading the search page's rules in Node, with stubs of
    what Sphinx's searchtools.js defines."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.fail("Node.js not found: run 'make sysdeps' (Debian package 'nodejs')")
    terms = {term: 0 for term in index_terms}
    from aibook.booktools.site_search import SPLITTER_JS

    script = (f"var window = {{AIBOOK_SEARCH_SYNONYMS: {json.dumps(synonyms, ensure_ascii=False)}}};\n"
              f"var Search = {{_index: {{terms: {json.dumps(terms)}, titleterms: {{}}}}}};\n"
              "var stopwords = ['the', 'a'];\n"
              "function Stemmer() { this.stemWord = function (w) { return w.replace(/s$/, ''); }; }\n"
              + SPLITTER_JS.read_text(encoding="utf-8") + "\n"
              + (SPLITTER_JS.parent / "aibook-search.js").read_text(encoding="utf-8")
              + f"\nconsole.log(JSON.stringify({expression}));")
    run = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_a_query_becomes_groups_of_synonyms_and_words():
    synonyms = [["显存", "GPU memory"], ["预热", "warm-up"]]
    groups = run_search_rules('window.aibookSearch.queryGroups("GPU 显存 的 models")', synonyms,
                              ["显存", "gpu", "model"])
    assert groups == [[{"phrase": "显存"}, {"phrase": "gpu memory"}], [{"words": ["gpu"]}],
                      [{"words": ["model"]}]]
    # the English term is taken whole, before its words; a lone Chinese character is not required
    groups = run_search_rules('window.aibookSearch.queryGroups("warm-up 非")', synonyms, [])
    assert groups == [[{"phrase": "预热"}, {"phrase": "warm-up"}]]


def test_snippet_formulas_become_text():
    formulas = [r"\\(\\theta^* = 3\\)", r"\\[\\frac{1}{N} \\sum_{n} \\mathrm{loss}_n \\le \\alpha\\]"]
    calls = ", ".join(f'window.aibookSearch.texToText("{f}")' for f in formulas)
    text = run_search_rules(f"[{calls}]", [], [])
    assert text == ["θ^* = 3", "1/N Σ_n loss_n ≤ α"]
    assert not any(RAW_TEX.search(t) for t in text)
