"""Answers that are not the learner's own: calls of the grader's references or of the library
function that is the exercise's answer (flagged, 0 points), and a similarity report across a batch
(normalised tokens: names, numbers, strings and comments do not hide a copy) for a person to read."""

from __future__ import annotations

import ast
import importlib
import inspect
import io
import itertools
import pkgutil
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import aibook
from aibook.grader.questions import Question

GRADER_NAMES = ("aibook.grader.banks", "aibook.grader.questions", "aibook.grader.mistakes",
                "aibook.grader.check.find_question", "aibook.grader.banks.find_question")
_SKIP_MODULES = {"grade", "booktools", "grader"}


@cache
def _library_functions() -> dict[str, list[str]]:
    """Function name -> dotted names of the learner library's public functions of that name."""
    found: dict[str, list[str]] = {}
    for module in pkgutil.iter_modules(aibook.__path__):
        if module.name in _SKIP_MODULES or module.name.startswith("_"):
            continue
        try:
            mod = importlib.import_module(f"aibook.{module.name}")
        except Exception:  # a module needing an optional dependency cannot be the answer here
            continue
        for name, value in vars(mod).items():
            if inspect.isfunction(value) and value.__module__ == mod.__name__:
                found.setdefault(name, []).append(f"{mod.__name__}.{name}")
    return found


@cache
def library_answers(question: Question) -> tuple[str, ...]:
    """Dotted names of the library functions that are this question's answer: the library function
    of the same name, the reference itself when it is a library function, and the library functions
    the reference calls (``nn.mlp_forward`` inside ``mlp_forward_reference``)."""
    names = set(_library_functions().get(question.name, ()))
    ref = question.reference
    module = getattr(ref, "__module__", "") or ""
    if module.startswith("aibook.") and not module.startswith("aibook.grader"):
        names.add(f"{module}.{ref.__name__}")
    try:
        tree = ast.parse(inspect.getsource(ref).lstrip())
    except (OSError, TypeError, SyntaxError):
        tree = None
    for node in ast.walk(tree) if tree else ():
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            target = getattr(ref, "__globals__", {}).get(node.value.id)
            owner = getattr(target, "__name__", "")
            if inspect.ismodule(target) and owner.startswith("aibook.") \
                    and not owner.startswith("aibook.grader") \
                    and inspect.isfunction(getattr(target, node.attr, None)):
                names.add(f"{owner}.{node.attr}")
    return tuple(sorted(names))


def watch_keys(question: Question) -> tuple[str, ...]:
    """``file.py:function`` keys the kernel's profiler watches for (see ``protocol``)."""
    return tuple(f"{d.rsplit('.', 2)[-2]}.py:{d.rsplit('.', 1)[-1]}" for d in library_answers(question))


# ---------------------------------------------------------------------------------------------
# Static check of a submission's code


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    parts.append(aliases.get(node.id, node.id))
    return ".".join(reversed(parts))


def names_used(source: str, aliases: dict[str, str] | None = None) -> set[str]:
    """Dotted names a cell refers to, imports resolved (``from aibook import numpy_nn as nn`` then
    ``nn.conv2d`` gives ``aibook.numpy_nn.conv2d``); strings naming modules count too. ``aliases``
    carries the imports of earlier cells and gains this cell's."""
    try:
        tree = ast.parse(_without_magics(source))
    except SyntaxError:
        return set()
    aliases = {} if aliases is None else aliases
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
                used.add(a.name)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
                used.add(f"{node.module}.{a.name}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "aibook" in node.value:
            used.add(node.value.strip())
    for node in ast.walk(tree):
        if isinstance(node, (ast.Attribute, ast.Name)):
            name = _dotted(node, aliases)
            if name:
                used.add(name)
    return used


def _without_magics(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def static_flags(cells: list[tuple[str | None, str]], questions: Iterable[Question]) -> dict[str, list[str]]:
    """Question id -> reasons, from the code cells ``(question id of an answer cell or None, source)``:
    a library function that is the answer used anywhere flags its question; the grader's question
    bank (its references) used in an answer cell flags that question, elsewhere the notebook (key
    ``"notebook"``: for a person to look at; the bank is not there in the kernel anyway)."""
    flags: dict[str, list[str]] = {}
    questions = list(questions)
    allowed = {f"aibook.grader.banks.{module}.{name}" for module, names in _kernel_helper_names().items()
               for name in names}
    aliases: dict[str, str] = {}
    for qid, source in cells:
        used = names_used(source, aliases)
        grader = sorted(n for n in used if n not in allowed and (
            any(n == g or n.startswith(g + ".") for g in GRADER_NAMES)
            or n.endswith(".reference") or n == "find_question"))
        for question in questions:
            reasons = []
            library = sorted(set(library_answers(question)) & used)
            if library:
                reasons.append(f"uses {', '.join(library)}, the library's answer to {question.id}")
            if grader and qid == question.id:
                reasons.append(f"uses the grader's question bank ({grader[0]}): the reference answers")
            for reason in reasons:
                if reason not in flags.setdefault(question.id, []):
                    flags[question.id].append(reason)
        if grader and (qid is None or qid not in {q.id for q in questions}):
            reason = f"a cell outside the answers uses the grader's question bank ({grader[0]})"
            if reason not in flags.setdefault("notebook", []):
                flags["notebook"].append(reason)
    return {k: v for k, v in flags.items() if v}


@cache
def _kernel_helper_names() -> dict[str, tuple[str, ...]]:
    """Bank module -> the names its answer cells' given code may import (``KERNEL_HELPERS``)."""
    from aibook.grader import banks

    found = {}
    for module in pkgutil.iter_modules(banks.__path__):
        helpers = getattr(importlib.import_module(f"aibook.grader.banks.{module.name}"), "KERNEL_HELPERS", ())
        if helpers:
            found[module.name] = tuple(helpers)
    return found


# ---------------------------------------------------------------------------------------------
# Similarity across a batch


def normalised_tokens(source: str) -> list[str]:
    """The code's tokens with names, numbers and strings replaced by their kind; comments,
    docstrings and blank lines dropped, so renaming variables does not hide a copy."""
    try:
        tree = ast.parse(_without_magics(source))
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                    and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                body[0] = ast.Pass()
        text = ast.unparse(tree)
    except (SyntaxError, ValueError):
        text = source
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.NAME:
                out.append(tok.string if tok.string in _KEYWORDS else "N")
            elif tok.type == tokenize.NUMBER:
                out.append("0")
            elif tok.type == tokenize.STRING:
                out.append("S")
            elif tok.type == tokenize.OP:
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


_KEYWORDS = {"def", "return", "for", "in", "if", "else", "elif", "while", "range", "len", "np", "sum",
             "max", "min", "zeros", "maximum", "sqrt", "tanh", "exp", "raise", "not", "and", "or",
             "lambda", "with", "try", "except", "import", "from", "as", "None", "True", "False"}


def similarity(a: list[str], b: list[str], n: int = 4) -> float:
    """Jaccard similarity of the token 4-grams of two answers (1.0: the same code up to names)."""
    grams_a = {tuple(a[i:i + n]) for i in range(max(1, len(a) - n + 1))}
    grams_b = {tuple(b[i:i + n]) for i in range(max(1, len(b) - n + 1))}
    if not grams_a or not grams_b:
        return 0.0
    return len(grams_a & grams_b) / len(grams_a | grams_b)


@dataclass(frozen=True)
class Pair:
    """Two answers to one question that look alike (``other`` may be the library's source)."""

    question: str
    first: str
    other: str
    score: float


def similar_pairs(answers: dict[str, dict[str, str]], questions: Iterable[Question],
                  threshold: float = 0.8, min_tokens: int = 30) -> list[Pair]:
    """Pairs of submissions (and submission vs the library's answer) whose answers to a question
    have similarity >= ``threshold``. ``answers``: submission -> question id -> answer cell source.
    Answers shorter than ``min_tokens`` tokens (one-liners everyone writes alike) are skipped."""
    pairs: list[Pair] = []
    for question in questions:
        tokens = {who: normalised_tokens(src[question.id]) for who, src in answers.items()
                  if question.id in src}
        tokens = {who: t for who, t in tokens.items() if len(t) >= min_tokens and "..." not in t[-8:]}
        sources = {}
        for dotted in library_answers(question):
            module, name = dotted.rsplit(".", 1)
            try:
                function = getattr(importlib.import_module(module), name)
                sources[dotted] = normalised_tokens(inspect.getsource(function))
            except (OSError, TypeError, AttributeError, ImportError):
                continue
        for (a, ta), (b, tb) in itertools.combinations(sorted(tokens.items()), 2):
            if (s := similarity(ta, tb)) >= threshold:
                pairs.append(Pair(question.id, a, b, round(s, 3)))
        for who, t in sorted(tokens.items()):
            for dotted, ts in sources.items():
                if (s := similarity(t, ts)) >= threshold:
                    pairs.append(Pair(question.id, who, f"library: {dotted}", round(s, 3)))
    return sorted(pairs, key=lambda p: (-p.score, p.question, p.first, p.other))
