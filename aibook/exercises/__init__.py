"""The exercise question banks (one module ``chNN`` per chapter) and the exercise generator.

``solutions/chNN.ipynb`` is the one source of a chapter's exercises: its answer code sits between
``# BEGIN SOLUTION`` and ``# END SOLUTION`` (otter-grader's markers) and its answer cells carry
the metadata ``{"aibook": {"question": "4.1"}}``. ``exercise_text`` turns it into
``exercises/chNN.ipynb``: each marked block becomes ``...`` at the marker's indentation, outputs
and execution counts are cleared. The banks ship inside the package so ``check`` works on Colab.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import nbformat

    from aibook.grading import Question

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
_CHAPTER = re.compile(r"ch(\d\d)")


@cache
def banks() -> dict[int, tuple[Question, ...]]:
    """Every chapter's questions, keyed by chapter number, from the modules ``chNN`` here."""
    found = {}
    for module in pkgutil.iter_modules(__path__):
        if match := _CHAPTER.fullmatch(module.name):
            bank = importlib.import_module(f"{__name__}.{module.name}")
            found[int(match.group(1))] = tuple(bank.QUESTIONS)
    return found


def chapter_of(question_id: str) -> int | None:
    """The chapter number of a question id such as '4.1', or None if it is malformed."""
    head = str(question_id).split(".", 1)[0]
    return int(head) if head.isdigit() else None


def find_question(question_id: str) -> Question | None:
    """The question with this id, or None."""
    for question in banks().get(chapter_of(question_id) or -1, ()):
        if question.id == question_id:
            return question
    return None


def strip_solutions(source: str, where: str = "cell") -> str:
    """Replace each ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` block by ``...`` at its indentation."""
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.splitlines(keepends=True), 1):
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise ValueError(f"{where}, line {number}: '{BEGIN}' inside another solution block")
            inside = True
            out.append(line[: len(line) - len(line.lstrip())] + "...\n")
        elif marker == END:
            if not inside:
                raise ValueError(f"{where}, line {number}: '{END}' without '{BEGIN}'")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: '{BEGIN}' without '{END}'")
    text = "".join(out)
    return text if source.endswith("\n") else text.removesuffix("\n")


def exercise_notebook(solution: nbformat.NotebookNode, where: str = "notebook"
                      ) -> nbformat.NotebookNode:
    """The learner's version of a solution notebook: solutions stripped, no outputs."""
    import copy

    nb = copy.deepcopy(solution)
    nb.metadata.pop("widgets", None)
    for index, cell in enumerate(nb.cells, 1):
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source, f"{where}, cell {index}")
            cell.outputs = []
            cell.execution_count = None
    return nb


def exercise_text(solution_path: Path) -> str:
    """The exact text of the exercise notebook generated from ``solution_path``."""
    import nbformat

    nb = nbformat.read(solution_path, as_version=4)
    text = nbformat.writes(exercise_notebook(nb, str(solution_path)))
    return text if text.endswith("\n") else text + "\n"


def pairs(root: Path) -> list[tuple[Path, Path]]:
    """(solution, exercise) paths of every chapter under ``root``."""
    return [(path, root / "exercises" / path.name)
            for path in sorted((root / "solutions").glob("ch[0-9][0-9].ipynb"))]


def build(root: Path) -> list[Path]:
    """Make exercises/ match solutions/; return the notebooks written or removed (orphans)."""
    changed = []
    for solution, exercise in pairs(root):
        text = exercise_text(solution)
        if not exercise.is_file() or exercise.read_text(encoding="utf-8") != text:
            exercise.parent.mkdir(exist_ok=True)
            exercise.write_text(text, encoding="utf-8")
            changed.append(exercise)
    for orphan in _orphans(root):
        orphan.unlink()
        changed.append(orphan)
    return changed


def out_of_date(root: Path) -> list[Path]:
    """Exercise notebooks that are missing, stale, or have no solution notebook any more."""
    stale = [exercise for solution, exercise in pairs(root)
             if not exercise.is_file()
             or exercise.read_text(encoding="utf-8") != exercise_text(solution)]
    return stale + _orphans(root)


def _orphans(root: Path) -> list[Path]:
    """Exercise notebooks whose solution notebook is gone."""
    sources = {solution.name for solution, _ in pairs(root)}
    return [p for p in sorted((root / "exercises").glob("ch[0-9][0-9].ipynb"))
            if p.name not in sources]


def failing_tests(question_id: str, answer, seed: int = 0) -> set[str]:
    """Names of the tests that ``answer`` fails for a question: how authors check that each
    typical mistake is caught by the test written for it."""
    from aibook.grading import local_runner, run_question  # grading imports this module

    question = find_question(question_id)
    if question is None:
        raise ValueError(f"no question {question_id!r}: see aibook/exercises/chNN.py")
    result = run_question(question, local_runner(answer, question.name), seed)
    return {t.name for t in result.tests if not t.passed}
