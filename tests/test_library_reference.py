"""aibook.booktools.library_reference: the website's quick reference covers the whole learner library."""

import re
from pathlib import Path

import pytest

from aibook.booktools import library_reference as ref

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("module", ref.library_modules())
def test_every_public_function_and_class_says_what_it_does(module):
    missing = [e.name for e in ref.public_entries(module) if not e.summary]
    assert not missing, f"aibook.{module}: write a one-line docstring for {missing}"


def test_the_library_is_what_remains_without_grader_and_tooling():
    modules = ref.library_modules()
    assert "models" in modules and "image_data" in modules
    assert not {"grader", "booktools", "grade"} & set(modules)


def test_chapter_use_is_read_from_the_notebooks():
    use = ref.chapter_use(ROOT)
    assert 5 in use["recipes"] and 3 in use["autograd"] and 10 in use["bibliography"]
    rows = ref.reference(ROOT)
    assert [r[0] for r in rows][0] == "device"  # every chapter's first cell
    entries = {e.name for r in rows if r[0] == "models" for e in r[3]}
    assert {"SeedCNN", "FastCNN", "count_parameters"} <= entries


def test_every_entry_has_a_chinese_line_and_every_line_an_entry():
    missing, stale = ref.missing_chinese(ROOT)
    assert not missing, f"book/library_zh.yml: write a Chinese one-liner for {missing}"
    assert not stale, f"book/library_zh.yml names what the library no longer has: {stale}"
    lines = ref.chinese_lines(ROOT)
    english_only = [k for k, v in lines.items() if not re.search(r"[\u4e00-\u9fff]", str(v))]
    assert not english_only, f"book/library_zh.yml: lines without Chinese: {english_only}"


def test_a_missing_chinese_line_is_reported(tmp_path):
    (tmp_path / "book").mkdir()
    data = "device: 选设备。\nnot_a_module.f: 无。\n"
    (tmp_path / "book" / "library_zh.yml").write_text(data, encoding="utf-8")
    missing, stale = ref.missing_chinese(tmp_path)
    assert "device.get_device" in missing and "device" not in missing
    assert stale == ["not_a_module.f"]
