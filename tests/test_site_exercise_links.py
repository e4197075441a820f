"""Exercises one click away: the end of every section page of a chapter with graded exercises links
to its questions on the exercise page, and every such chapter's index links the set. The mapping is
checked against the table of contents and the exercise notebooks; the links are counted in the
built site (run after `make book`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_site_browser import toc_pages

from aibook.booktools.site_exercise_links import (
    CHAPTER_INDEX,
    SECTION_PAGE,
    question_label,
    question_titles,
    section_questions,
)

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
BOX = re.compile(r'<div class="aibook-exercise-links[^"]*">(.*?)</div>', re.S)


def chapters_with_exercises() -> set[int]:
    return {int(p.stem[2:]) for p in (ROOT / "exercises").glob("ch[0-9][0-9].ipynb")}


def pages_of_chapters_with_exercises(pattern: re.Pattern) -> list[str]:
    return [p for p in toc_pages() if (m := pattern.fullmatch(p)) and int(m[1]) in chapters_with_exercises()]


def test_every_section_page_of_a_chapter_with_exercises_names_its_questions():
    mapping = section_questions(ROOT)
    sections = pages_of_chapters_with_exercises(SECTION_PAGE)
    assert sorted(mapping) == sorted(sections), "book/exercise_sections.yml must list exactly these pages"
    for page, numbers in mapping.items():
        chapter = int(SECTION_PAGE.fullmatch(page)[1])
        titles = question_titles(ROOT / "exercises" / f"ch{chapter:02d}.ipynb")
        assert set(numbers) <= set(titles), f"{page}: no such question in exercises/ch{chapter:02d}"
        assert all(n.startswith(f"{chapter}.") for n in numbers), page
    linked = {n for numbers in mapping.values() for n in numbers}
    every = {n for c in chapters_with_exercises()
             for n in question_titles(ROOT / "exercises" / f"ch{c:02d}.ipynb")}
    print(f"\n{sum(bool(v) for v in mapping.values())} of {len(mapping)} section pages name questions; "
          f"{len(linked)} of {len(every)} questions are linked from a section page")


def _html(page: str) -> str:
    path = SITE / f"{page}.html"
    if not path.is_file():
        pytest.fail("the website is not built: run 'make book' first")
    return path.read_text(encoding="utf-8")


def test_the_built_pages_end_with_links_that_land_on_the_questions():
    mapping = section_questions(ROOT)
    with_links, to_questions = 0, 0
    for page in pages_of_chapters_with_exercises(SECTION_PAGE):
        chapter = int(SECTION_PAGE.fullmatch(page)[1])
        boxes = BOX.findall(_html(page))
        assert boxes, f"{page}: no exercise links at the end"
        target = f"exercises/ch{chapter:02d}.html"
        hrefs = re.findall(r'href="([^"]+)"', boxes[-1])
        assert any(h.split("#")[0].endswith(target) for h in hrefs), f"{page}: no link to {target}"
        with_links += 1
        anchors = {h.split("#")[1] for h in hrefs if "#" in h and h.split("#")[0].endswith(target)}
        assert anchors == {question_label(n) for n in mapping[page]}, page
        exercise_page = _html(f"exercises/ch{chapter:02d}")
        for anchor in anchors:
            assert f'id="{anchor}"' in exercise_page, f"{page}: #{anchor} is not on {target}"
        to_questions += bool(anchors)
    indexes = pages_of_chapters_with_exercises(CHAPTER_INDEX)
    for page in indexes:
        chapter = int(CHAPTER_INDEX.fullmatch(page)[1])
        boxes = BOX.findall(_html(page))
        assert boxes and f"exercises/ch{chapter:02d}.html" in boxes[-1], f"{page}: no link to its set"
    print(f"\n{with_links} section pages end with a link to their chapter's exercises, {to_questions} of "
          f"them to named questions; {len(indexes)} chapter indexes link their set")
    assert with_links == len(mapping) and len(indexes) == len(chapters_with_exercises())
