"""Chinese search: the glossary as jieba's user dictionary, and the page's query splitter."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

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
