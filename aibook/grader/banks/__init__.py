"""The question banks, one module ``chNN`` per chapter, shipped inside the package so that
``check`` works on Colab. ``solutions/chNN.ipynb`` holds the questions' text and reference answers;
the answer cells carry the metadata ``{"aibook": {"question": "4.1"}}``.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aibook.grader.questions import Question

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
