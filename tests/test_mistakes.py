"""The catalogue of plausible wrong answers (aibook/grader/mistakes/): every one loses points on
every seed, and the feedback names it; an answer that matches none gets the test's generic hint."""

from __future__ import annotations

import numpy as np
import pytest

from aibook.grader.banks import banks, find_question
from aibook.grader.check import local_runner
from aibook.grader.mistakes import catalogue, mistakes_for
from aibook.grader.questions import run_question

# the wrong answers overflow, divide by zero and take log(0) on purpose
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

SEEDS = (0, 1, 7, 2024, 987654321)  # the seeds test_exercises.py and the chapter tests use
MIN_MISTAKES = 5
CATALOGUED = (2, 3, 4, 5, 6, 8, 9, 11)
ENTRIES = [(q, m) for chapter in CATALOGUED for q in banks()[chapter] for m in mistakes_for(q.id)]


def _id(value):
    if hasattr(value, "answer"):
        return getattr(value.answer, "__name__", "mistake")
    return getattr(value, "id", None)


@pytest.mark.parametrize("question, mistake", ENTRIES, ids=_id)
def test_each_mistake_loses_points_and_is_named_on_every_seed(question, mistake):
    for seed in SEEDS:
        result = run_question(question, local_runner(mistake.answer, question.name), seed)
        assert result.points < result.max_points, f"seed {seed}: full marks"
        assert "可能的错误：" in result.message and mistake.name in result.message, (
            f"seed {seed}: {result.message}")


@pytest.mark.parametrize("chapter", CATALOGUED)
def test_every_question_has_enough_catalogued_mistakes(chapter):
    short = {q.id: len(mistakes_for(q.id)) for q in banks()[chapter]
             if len(mistakes_for(q.id)) < MIN_MISTAKES}
    assert not short, f"fewer than {MIN_MISTAKES} wrong answers: {short}"


def test_catalogue_belongs_to_real_questions_with_distinct_names():
    for qid, mistakes in catalogue().items():
        assert find_question(qid) is not None, qid
        names = [m.name for m in mistakes]
        assert len(set(names)) == len(names), qid
        assert all("（" in n and n.endswith("）") for n in names), "Chinese, then the English term"


def test_the_solutions_match_no_mistake():
    for question, mistake in ENTRIES:
        result = run_question(question, local_runner(question.reference, question.name), 0)
        assert result.passed and "可能的错误" not in result.message, (question.id, mistake.name)


def test_an_answer_matching_no_mistake_gets_the_generic_hint():
    question = find_question("3.1")
    result = run_question(question, local_runner(lambda z: np.zeros_like(z) + 0.5, question.name))
    assert "可能的错误" not in result.message
    assert "提示 hint: normalise along the last axis" in result.message


def test_the_named_mistakes_of_issue_19_are_caught():
    """The four wrong answers that once scored full marks, now told what they are."""
    for qid, fragment in [("3.1", "global max"), ("3.6", "epsilon inside the square root"),
                          ("4.6", "epsilon inside the square root"), ("4.2", "ReLU'(0) = 1"),
                          ("6.1", "clip(w*h)")]:
        mistake = next(m for m in mistakes_for(qid) if fragment in m.name)
        question = find_question(qid)
        for seed in range(200):
            result = run_question(question, local_runner(mistake.answer, question.name), seed)
            assert not result.passed and mistake.name in result.message, (qid, seed)
