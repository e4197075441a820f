"""Numbers for the instructor guide (教师指南), computed from the book's sources, never typed.

Per chapter: its sections, the length of its prose, an estimated study time, and its exercise set
(questions and points from the question banks in ``aibook/grader/banks``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

# Assumptions of the study-time estimate, printed on the page next to the table.
READING_CHARS_PER_MINUTE = 250  # careful reading of technical Chinese, formulas included
MINUTES_PER_CODE_CELL = 1.0  # reading a code cell and its output (or running it)
MINUTES_PER_QUESTION = 20  # one exercise: reading, writing, checking

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


@dataclass(frozen=True)
class Chapter:
    number: int
    title: str
    docname: str  # the chapter's index page, e.g. "book/04_math/index"
    sections: int
    chinese_chars: int
    code_cells: int
    questions: int
    points: int

    @property
    def reading_minutes(self) -> float:
        return self.chinese_chars / READING_CHARS_PER_MINUTE + self.code_cells * MINUTES_PER_CODE_CELL

    @property
    def exercise_minutes(self) -> float:
        return self.questions * MINUTES_PER_QUESTION


def hours(minutes: float) -> str:
    """Minutes as hours, rounded up to the half hour ("1.5"); "—" for nothing to do."""
    if minutes <= 0:
        return "—"
    half_hours = max(1, math.ceil(minutes / 30))
    return f"{half_hours / 2:g}"


def _chapter_text(folder: Path) -> tuple[int, int, int]:
    """(sections, Chinese characters, code cells) of a chapter folder."""
    chars = len(_HAN.findall((folder / "index.md").read_text(encoding="utf-8")))
    notebooks = sorted(folder.glob("*.ipynb"))
    code_cells = 0
    for path in notebooks:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if cell["cell_type"] == "markdown":
                chars += len(_HAN.findall(source))
            elif cell["cell_type"] == "code":
                code_cells += 1
    return len(notebooks), chars, code_cells


def chapters(root: Path) -> list[Chapter]:
    """Every chapter of book/, in order, with its exercise set (0 questions when it has none)."""
    from aibook.grader.banks import banks

    sets = banks()
    out = []
    for index in sorted(root.glob("book/[0-9][0-9]_*/index.md")):
        first = index.read_text(encoding="utf-8").splitlines()[0]
        match = re.match(r"#\s*第\s*(\d+)\s*章\s*(.*)", first)
        if not match:
            continue
        number = int(match[1])
        sections, chars, code_cells = _chapter_text(index.parent)
        questions = sets.get(number, ())
        out.append(Chapter(number, match[2].strip(), str(index.relative_to(root).with_suffix("")),
                           sections, chars, code_cells, len(questions), sum(q.points for q in questions)))
    return out
