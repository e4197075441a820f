"""aibook.booktools.library_reference: the website's quick reference covers the whole learner library."""

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
