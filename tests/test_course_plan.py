"""The instructor guide's numbers: computed from the book and the question banks."""

from pathlib import Path

from aibook.booktools import course_plan
from aibook.grader.banks import banks

ROOT = Path(__file__).resolve().parents[1]


def test_every_chapter_is_listed_with_its_exercise_set():
    chapters = course_plan.chapters(ROOT)
    assert [c.number for c in chapters] == list(range(1, len(chapters) + 1))
    sets = banks()
    for c in chapters:
        assert c.questions == len(sets.get(c.number, ()))
        assert c.points == sum(q.points for q in sets.get(c.number, ()))
        assert c.sections >= 1 and c.chinese_chars > 0


def test_the_guide_names_exactly_the_chapters_without_exercises():
    without = [str(c.number) for c in course_plan.chapters(ROOT) if not c.questions]
    text = (ROOT / "book" / "instructors.md").read_text(encoding="utf-8")
    assert f"第 {'、'.join(without)} 章没有练习" in text


def test_hours_round_up_to_the_half_hour():
    assert course_plan.hours(0) == "—"
    assert course_plan.hours(1) == "0.5"
    assert course_plan.hours(31) == "1"
    assert course_plan.hours(61) == "1.5"
