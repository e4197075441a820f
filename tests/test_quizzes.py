"""The self-check questions (book/quizzes/chNN.yml): their rules, their answers, their HTML."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aibook.booktools import quizzes
from aibook.booktools.quizzes import QuizError, evaluate_arithmetic, load_chapter, parse_question
from aibook.booktools.site_quiz import render_quiz

ROOT = Path(__file__).resolve().parents[1]


def section_pages() -> list[str]:
    """File names of the chapters' section pages in _toc.yml (04_3_worked_example, ...)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = []
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            pages += [s["file"].rsplit("/", 1)[-1] for s in chapter.get("sections", [])
                      if s["file"].startswith("book/")]
    return pages


def all_questions() -> dict[str, list[quizzes.Question]]:
    found = {}
    for chapter in range(1, 12):
        found.update(load_chapter(ROOT, chapter))
    return found


QUESTIONS = all_questions()


def test_every_section_page_has_two_to_four_questions():
    pages = section_pages()
    assert len(pages) >= 40
    wrong = {p: len(QUESTIONS.get(p, [])) for p in pages if not 2 <= len(QUESTIONS.get(p, [])) <= 4}
    assert wrong == {}, f"pages without 2-4 questions (page: count): {wrong}"
    assert set(QUESTIONS) <= set(pages), f"questions for pages not in _toc.yml: {set(QUESTIONS) - set(pages)}"


def test_at_least_120_questions_over_all_chapters():
    assert sum(map(len, QUESTIONS.values())) >= 120
    for chapter in (1, 7, 10):
        assert any(page.startswith(f"{chapter:02d}_") for page in QUESTIONS), f"chapter {chapter} has none"


def test_every_choice_has_exactly_one_correct_option_and_every_option_a_reason():
    for page, questions in QUESTIONS.items():
        for q in questions:
            if q.kind in ("choice", "output"):
                assert sum(o.correct for o in q.options) == 1, (page, q.prompt)
                assert all(o.why for o in q.options), (page, q.prompt)
                assert len({o.text for o in q.options}) == len(q.options), f"{page}: repeated option"


def test_a_question_with_two_correct_options_is_refused():
    spec = {"question": "q", "options": [{"text": "a", "why": "w", "correct": True},
                                         {"text": "b", "why": "w", "correct": True}]}
    with pytest.raises(QuizError, match="exactly one option must be correct, found 2"):
        parse_question(ROOT, "01_1_large_models", 1, spec)
    spec["options"][1]["correct"] = False
    spec["options"][1]["why"] = ""
    with pytest.raises(QuizError, match="every option needs a 'why'"):
        parse_question(ROOT, "01_1_large_models", 1, spec)


@pytest.mark.parametrize("page,index", [(p, i) for p, qs in QUESTIONS.items()
                                        for i, q in enumerate(qs) if q.kind == "output"])
def test_output_question_code_prints_the_correct_option(page, index):
    question = QUESTIONS[page][index]
    run = subprocess.run([sys.executable, "-c", question.code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    printed = run.stdout.strip()
    correct = next(o.text for o in question.options if o.correct)
    assert printed == correct.strip(), f"{page}: the code prints {printed!r}, the key says {correct!r}"
    assert all(o.text.strip() != printed for o in question.options if not o.correct)


def test_numeric_answers_come_from_notebook_outputs_or_a_shown_computation():
    numeric = [q for qs in QUESTIONS.values() for q in qs if q.kind == "numeric"]
    assert len(numeric) >= 15
    for q in numeric:
        assert q.answer_source.startswith("answer_expr") or ".ipynb output " in q.answer_source, q.page
    from_notebooks = [q for q in numeric if " output " in q.answer_source]
    assert len(from_notebooks) >= 10


def _notebook(path: Path, text: str) -> None:
    nb = {"cells": [{"cell_type": "code", "source": "print(x)", "metadata": {}, "execution_count": 1,
                     "outputs": [{"output_type": "stream", "name": "stdout", "text": [text]}]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb), encoding="utf-8")


def test_answer_from_reads_the_stored_output_and_says_when_it_is_gone(tmp_path):
    (tmp_path / "book" / "09_faq").mkdir(parents=True)
    notebook = tmp_path / "book" / "09_faq" / "09_9_demo.ipynb"
    _notebook(notebook, "F1 0.9455 on the test set\n")
    spec = {"type": "numeric", "question": "F1?", "answer_from": r"F1 ([0-9.]+) on", "tolerance": 0.001,
            "explanation": "e"}
    question = parse_question(tmp_path, "09_9_demo", 1, spec)
    assert question.answer == pytest.approx(0.9455)
    _notebook(notebook, "F1 was removed\n")
    with pytest.raises(QuizError, match="matches no stored output of 09_9_demo.ipynb"):
        parse_question(tmp_path, "09_9_demo", 1, spec)
    with pytest.raises(QuizError, match="exactly one of answer_from or answer_expr"):
        parse_question(tmp_path, "09_9_demo", 1, {**spec, "answer_expr": "1"})


def test_answer_expressions_are_arithmetic_only():
    assert evaluate_arithmetic("2*8 / (2*8 + 2 + 8)") == pytest.approx(16 / 26)
    assert evaluate_arithmetic("(28 + 2*1 - 5)//2 + 1") == 13
    with pytest.raises(QuizError, match="only numbers"):
        evaluate_arithmetic("__import__('os').getcwd()")


def test_invalid_yaml_is_one_clear_line(tmp_path):
    (tmp_path / "book" / "quizzes").mkdir(parents=True)
    (tmp_path / "book" / "quizzes" / "ch03.yml").write_text(
        "03_1_x:\n  - question: a: b: c\n", encoding="utf-8")
    with pytest.raises(QuizError, match=r"ch03.yml line 2: not valid YAML"):
        load_chapter(tmp_path, 3)


def test_rendered_quiz_has_native_controls_one_correct_radio_and_folded_answers():
    questions = QUESTIONS["04_3_worked_example"]
    html = render_quiz(questions, "book/04_math/04_3_worked_example")
    assert html.count('class="aibook-quiz-question"') == len(questions)
    assert html.count("<details class=\"aibook-quiz-answer\">") == len(questions)  # closed by default
    for q in questions:
        if q.kind == "numeric":
            assert f'data-answer="{q.answer!r}"' in html
    choice_count = sum(q.kind != "numeric" for q in questions)
    assert html.count('data-correct="true"') == choice_count
    assert "本节自测" in html and "`" not in html
