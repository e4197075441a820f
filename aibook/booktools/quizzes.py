"""The self-check questions at the end of each section page: one YAML file per chapter.

``book/quizzes/chNN.yml`` maps a page's file name (``04_3_worked_example``) to its questions.
Three kinds, each with Chinese feedback:

- ``choice``: ``options`` (each ``text``, ``why``, and ``correct: true`` on exactly one).
- ``output``: "what does this cell print": ``code`` plus options as above; the tests run the code
  and check that the correct option is what it prints.
- ``numeric``: ``tolerance`` and ``explanation``, and the answer from exactly one of
  ``answer_from`` (a regular expression with one group, searched in the stored outputs of the
  page's notebook, or of ``notebook``: the number is never typed twice) or ``answer_expr`` (an
  arithmetic expression that shows the working, evaluated here).
The build (``site_quiz``) and the tests read questions only through ``load_chapter``/``page_quizzes``.
"""

from __future__ import annotations

import ast
import json
import operator
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

KINDS = ("choice", "output", "numeric")
PAGE = re.compile(r"^(\d\d)_\d+_\w+$")


class QuizError(ValueError):
    """A question file that cannot be used; the message says which question and what to fix."""


@dataclass
class Option:
    text: str
    why: str
    correct: bool = False


@dataclass
class Question:
    kind: str
    prompt: str
    page: str
    options: list[Option] = field(default_factory=list)
    code: str = ""
    answer: float | None = None
    tolerance: float = 0.0
    explanation: str = ""
    unit: str = ""
    answer_source: str = ""  # how the number was obtained, for the tests' messages


def quiz_file(root: Path, chapter: int) -> Path:
    return root / "book" / "quizzes" / f"ch{chapter:02d}.yml"


def notebook_outputs_text(notebook: Path) -> str:
    """The stored text outputs of a notebook (streams, text/plain, text/markdown), in cell order."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    parts = []
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append("".join(out.get("text", "")))
            for mime in ("text/plain", "text/markdown"):
                value = out.get("data", {}).get(mime)
                if value:
                    parts.append("".join(value) if isinstance(value, list) else value)
    return "\n".join(parts)


_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow, ast.FloorDiv: operator.floordiv}


def evaluate_arithmetic(expression: str) -> float:
    """The value of an arithmetic expression of numbers, + - * / // ** and parentheses (no names)."""
    def value(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        raise QuizError(f"answer_expr {expression!r}: only numbers and + - * / // ** are allowed")
    return float(value(ast.parse(expression, mode="eval").body))


def _notebook_for(root: Path, page: str, name: str | None) -> Path:
    stem = name or page
    found = sorted((root / "book").glob(f"*/{stem}.ipynb"))
    if len(found) != 1:
        raise QuizError(f"notebook {stem!r} not found under book/ (give its file name without .ipynb)")
    return found[0]


def _resolve_number(root: Path, page: str, spec: dict, where: str) -> tuple[float, str]:
    if ("answer_from" in spec) == ("answer_expr" in spec):
        raise QuizError(f"{where}: a numeric question needs exactly one of answer_from or answer_expr")
    if "answer_expr" in spec:
        return evaluate_arithmetic(str(spec["answer_expr"])), f"answer_expr {spec['answer_expr']}"
    notebook = _notebook_for(root, page, spec.get("notebook"))
    pattern = re.compile(spec["answer_from"])
    if pattern.groups != 1:
        raise QuizError(f"{where}: answer_from needs exactly one group (the number)")
    match = pattern.search(notebook_outputs_text(notebook))
    if not match:
        raise QuizError(f"{where}: answer_from {spec['answer_from']!r} matches no stored output of "
                        f"{notebook.name}: re-run the notebook or fix the pattern")
    return float(match.group(1).replace(",", "")), f"{notebook.name} output {match.group(0)!r}"


def _options(raw, where: str) -> list[Option]:
    options = [Option(str(o["text"]), str(o.get("why", "")).strip(), bool(o.get("correct", False)))
               for o in raw or []]
    if len(options) < 2:
        raise QuizError(f"{where}: a choice needs at least two options")
    if sum(o.correct for o in options) != 1:
        raise QuizError(f"{where}: exactly one option must be correct, found "
                        f"{sum(o.correct for o in options)}")
    if any(not o.why for o in options):
        raise QuizError(f"{where}: every option needs a 'why' (why it is right or wrong)")
    return options


def parse_question(root: Path, page: str, index: int, spec: dict) -> Question:
    where = f"{page} question {index}"
    kind = spec.get("type", "choice")
    if kind not in KINDS:
        raise QuizError(f"{where}: type must be one of {', '.join(KINDS)}, not {kind!r}")
    question = Question(kind=kind, prompt=str(spec["question"]).strip(), page=page)
    if kind in ("choice", "output"):
        question.options = _options(spec.get("options"), where)
        question.code = str(spec.get("code", "")).rstrip()
        if kind == "output" and not question.code:
            raise QuizError(f"{where}: an output question needs the code whose output is asked")
    else:
        question.answer, question.answer_source = _resolve_number(root, page, spec, where)
        question.tolerance = float(spec.get("tolerance", 0))
        question.explanation = str(spec.get("explanation", "")).strip()
        question.unit = str(spec.get("unit", ""))
        if not question.explanation:
            raise QuizError(f"{where}: a numeric question needs an explanation")
    return question


def load_chapter(root: Path, chapter: int, only: str | None = None) -> dict[str, list[Question]]:
    """Every page's questions of one chapter (empty when the chapter has no file); ``only``: one page's."""
    path = quiz_file(root, chapter)
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise QuizError(f"{path.name}{where}: not valid YAML ({getattr(error, 'problem', error)}); "
                        "quote a text that contains ': '") from None
    quizzes = {}
    for page, specs in data.items():
        if not PAGE.match(page) or int(page[:2]) != chapter:
            raise QuizError(f"{path.name}: {page!r} is not a page of chapter {chapter} "
                            "(name it like 04_3_worked_example)")
        if only in (None, page):
            quizzes[page] = [parse_question(root, page, i, spec) for i, spec in enumerate(specs, 1)]
    return quizzes


def page_quizzes(root: Path, docname: str) -> list[Question]:
    """The questions for a page given by its Sphinx docname (``book/04_math/04_3_worked_example``)."""
    page = docname.rsplit("/", 1)[-1]
    if not docname.startswith("book/") or not PAGE.match(page):
        return []
    return load_chapter(root, int(page[:2]), only=page).get(page, [])
