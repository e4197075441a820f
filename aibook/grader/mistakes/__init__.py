"""Catalogues of plausible wrong answers, one module ``chNN`` per chapter (``MISTAKES``: question
id -> tuple of ``Mistake``). The tests assert that each loses points on every seed and that the
feedback names it; the grader names the one an answer's outcome matches."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

_CHAPTER = re.compile(r"ch(\d\d)")


@dataclass(frozen=True)
class Mistake:
    """A plausible wrong answer: the code a learner would write, and its name for the feedback
    (Chinese, with the English term)."""

    name: str
    answer: Callable[..., Any]


@cache
def catalogue() -> dict[str, tuple[Mistake, ...]]:
    """Every catalogued mistake, keyed by question id."""
    found: dict[str, tuple[Mistake, ...]] = {}
    for module in pkgutil.iter_modules(__path__):
        if _CHAPTER.fullmatch(module.name):
            found.update(importlib.import_module(f"{__name__}.{module.name}").MISTAKES)
    return found


def mistakes_for(question_id: str) -> tuple[Mistake, ...]:
    """The catalogued mistakes of one question (empty if none)."""
    return catalogue().get(question_id, ())
