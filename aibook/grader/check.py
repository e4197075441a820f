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
    """The report ``check`` prints: one line per test with 通过/未通过 and points, then the total."""
    lines = [f"第 {question.id} 题 {question.name}：{question.title}"]
    if not result.tests:
        lines.append(f"  {result.message}")
    for t in result.tests:
        verdict = "通过 PASS" if t.passed else "未通过 FAIL"
        lines.append(f"  {verdict}  {t.name}  [{t.points}/{t.max_points}]")
        if t.message:
            lines.append(f"        {t.message}")
    lines.append(f"得分 Total：{result.points}/{result.max_points} 分")
    return "\n".join(lines)


def check(question_id: str, answer: Any) -> None:
    """Run the tests of exercise ``question_id`` on ``answer`` and print 通过/未通过 per test.

    Feedback only: the grader runs the tests again from outside the notebook, with new inputs.
    """
    question = find_question(question_id)
    if question is None:
        print(f"没有题号 {question_id!r}（unknown question）：请用练习中的题号，如 '4.1'")
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
