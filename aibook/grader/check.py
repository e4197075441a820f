"""The learner-facing ``check``: run a question's tests on an answer right in the notebook."""

from __future__ import annotations

from typing import Any

from aibook.grader.banks import find_question
from aibook.grader.protocol import RESULT_MIME, _evaluate_calls, evaluation_request, read_outcomes
from aibook.grader.questions import Call, Outcome, Question, QuestionResult, Runner, Test, run_question

# ---------------------------------------------------------------------------------------------
# Feedback in the notebook


def local_runner(answer: Any, name: str) -> Runner:
    """A runner that calls ``answer`` in this process through the same JSON round trip."""
    namespace = {name: Ellipsis if answer is None else answer}

    def run(test: Test, calls: list[Call]) -> list[Outcome] | str:
        request = evaluation_request(calls, "local", test.unmodified)
        return read_outcomes([{"output_type": "display_data",
                               "data": {RESULT_MIME: _evaluate_calls(namespace, name, request)}}],
                             "local", len(calls))

    return run


def format_result(question: Question, result: QuestionResult) -> str:
    """The report ``check`` prints: one line per test with PASS/FAIL and points, then the total."""
    lines = [f"Question {question.id} ({question.name}): {question.title}"]
    if not result.tests:
        lines.append(f"  {result.message}")
    for t in result.tests:
        lines.append(f"  {'PASS' if t.passed else 'FAIL'}  {t.name}  [{t.points}/{t.max_points}]")
        if t.message:
            lines.append(f"        {t.message}")
    lines.append(f"Total: {result.points}/{result.max_points} points")
    return "\n".join(lines)


def check(question_id: str, answer: Any) -> None:
    """Run the tests of exercise ``question_id`` on ``answer`` and print PASS/FAIL per test.

    Feedback only: the grader runs the tests again from outside the notebook, with new inputs.
    """
    question = find_question(question_id)
    if question is None:
        print(f"unknown question {question_id!r}: use an id from the exercise text, e.g. '4.1'")
        return
    print(format_result(question, run_question(question, local_runner(answer, question.name))))


def failing_tests(question_id: str, answer, seed: int = 0) -> set[str]:
    """Names of the tests that ``answer`` fails for a question: how authors check that each
    typical mistake is caught by the test written for it."""
    question = find_question(question_id)
    if question is None:
        raise ValueError(f"no question {question_id!r}: see aibook/grader/banks/chNN.py")
    result = run_question(question, local_runner(answer, question.name), seed)
    return {t.name for t in result.tests if not t.passed}
