"""The question model: a ``Question`` names the function a learner writes, its reference and
its ``Test``s; ``run_question`` runs the tests through a runner (in-process or in a kernel)."""

from __future__ import annotations

import copy
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aibook.grader.compare import compare, describe, exception_line, short_repr
from aibook.grader.mistakes import Mistake, mistakes_for

# ---------------------------------------------------------------------------------------------
# The question model


@dataclass(frozen=True)
class Call:
    """Positional and keyword arguments of one call of the learner's function."""

    args: tuple
    kwargs: dict = field(default_factory=dict)

    def describe(self, name: str) -> str:
        """The call as code, arrays shown by shape: ``conv_output_size(7, 3, stride=2)``."""
        parts = [short_repr(a) for a in self.args] + [f"{k}={short_repr(v)}" for k, v in self.kwargs.items()]
        return f"{name}({', '.join(parts)})"


def call(*args: Any, **kwargs: Any) -> Call:
    """Shorthand for ``Call(args, kwargs)`` in question banks."""
    return Call(args, kwargs)


@dataclass(frozen=True)
class Test:
    """One graded test: the calls to make, worth ``points`` if every call gives the right result.

    ``calls(rng)`` returns the calls; fixed examples ignore ``rng``. With ``raises`` set (an
    exception class name) every call must raise it. With ``unmodified`` the array arguments must
    be unchanged after the call. ``hint`` is added to the failure message.
    """

    name: str
    points: int
    calls: Callable[[np.random.Generator], list[Call]]
    raises: str | None = None
    unmodified: bool = False
    rtol: float = 1e-5
    atol: float = 1e-8
    hint: str = ""

    __test__ = False  # not a pytest test class


@dataclass(frozen=True)
class Question:
    """An exercise: the learner writes ``name(params...)``; ``reference`` gives the right result.

    ``outputs`` names the returned values (one name, or one per element of a returned tuple).
    """

    id: str
    name: str
    title: str
    params: tuple[str, ...]
    outputs: tuple[str, ...]
    reference: Callable[..., Any]
    tests: tuple[Test, ...]

    @property
    def points(self) -> int:
        """Points of all tests together."""
        return sum(t.points for t in self.tests)


@dataclass
class Outcome:
    """What the learner's answer did on one call: returned ``value``, raised, or is missing."""

    kind: str  # "value", "error", "missing" (name not defined), "not_done" (still `...`)
    value: Any = None
    error: str = ""
    error_types: tuple[str, ...] = ()
    args_after: list | None = None
    library: tuple[str, ...] = ()  # library functions that are the answer, seen called (watched)


@dataclass
class TestResult:
    """Points earned by one test, and why not all of them."""

    name: str
    points: int
    max_points: int
    message: str = ""

    __test__ = False  # not a pytest test class

    @property
    def passed(self) -> bool:
        return self.points == self.max_points


@dataclass
class QuestionResult:
    """Points earned by one question, with a one-line summary and the per-test results."""

    id: str
    name: str
    points: int
    max_points: int
    message: str
    tests: list[TestResult] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # why a person should look (scored 0)

    @property
    def passed(self) -> bool:
        return self.points == self.max_points

    def flag(self, reason: str) -> None:
        """Mark the answer as not the learner's own work: 0 points, the reason kept."""
        if reason in self.flags:
            return
        self.flags.append(reason)
        self.points = 0
        for test in self.tests:
            test.points = 0
            test.message = test.message or f"flagged: {reason}"
        self.message = f"flagged: {reason}; {self.message}"

    def to_json(self) -> dict:
        """The question's entry in ``python -m aibook.grader --json``."""
        return {"id": self.id, "points": self.points, "max_points": self.max_points,
                "passed": self.passed, "message": self.message, "flags": self.flags,
                "tests": [{"name": t.name, "points": t.points, "max_points": t.max_points,
                           "message": t.message} for t in self.tests]}

    @classmethod
    def from_json(cls, data: dict, name: str = "") -> QuestionResult:
        """Back from ``to_json`` (merging the JSON lines of sharded runs)."""
        tests = [TestResult(t["name"], int(t["points"]), int(t["max_points"]), t.get("message", ""))
                 for t in data.get("tests", [])]
        return cls(data["id"], name, int(data["points"]), int(data["max_points"]), data["message"],
                   tests, list(data.get("flags", [])))


# A runner makes the calls of one test and returns their outcomes, or a message when it could not.
Runner = Callable[[Test, list[Call]], "list[Outcome] | str"]


def inputs_rng(seed: int, question_id: str, test_index: int) -> np.random.Generator:
    """The generator a test draws its inputs from: fixed by (seed, question, test)."""
    return np.random.default_rng([seed, zlib.crc32(f"{question_id}/{test_index}".encode())])


def run_question(question: Question, run: Runner, seed: int = 0,
                 mistakes: tuple[Mistake, ...] | None = None) -> QuestionResult:
    """Run every test of ``question`` through ``run`` and score the outcomes against the reference.

    A failing call whose outcome matches a catalogued ``mistakes`` entry is told that mistake's
    name instead of the test's generic hint (default: the catalogue of ``question.id``).
    """
    if mistakes is None:
        mistakes = mistakes_for(question.id)
    results: list[TestResult] = []
    for index, test in enumerate(question.tests):
        calls = test.calls(inputs_rng(seed, question.id, index))
        outcomes = run(test, calls)
        if isinstance(outcomes, str):
            results.append(TestResult(test.name, 0, test.points, outcomes))
            continue
        if index == 0 and (stub := _unanswered(question, outcomes)):
            return QuestionResult(question.id, question.name, 0, question.points, stub)
        try:
            message = _judge(question, test, calls, outcomes, mistakes)
        except Exception as exc:  # a bug in the bank must not stop the other tests
            message = f"评分器出错（grader error: {exception_line(exc)}），请报告这个问题"
        results.append(TestResult(test.name, 0 if message else test.points, test.points,
                                  message or ""))
    failed = [r for r in results if not r.passed]
    summary = "; ".join(f"{r.name}: {r.message}" for r in failed)
    passed = f"全部 {len(results)} 项测试通过（passed all {len(results)} tests）"
    return QuestionResult(question.id, question.name, sum(r.points for r in results),
                          question.points, summary or passed, results)


def _unanswered(question: Question, outcomes: list[Outcome]) -> str:
    """A message if the first test shows the question was not attempted, else ''."""
    name = question.name
    if all(o.kind == "missing" for o in outcomes):
        return f"未作答（not answered）：笔记本里没有定义 `{name}`"
    if all(o.kind == "not_done" for o in outcomes):
        return f"尚未完成（not done yet）：`{name}` 还是 `...`"
    if all(o.kind == "value" and o.value is None for o in outcomes):
        return f"尚未完成（not done yet）：`{name}` 返回了 None（把 `...` 换成你的代码）"
    return ""


def _judge(question: Question, test: Test, calls: list[Call], outcomes: list[Outcome],
           mistakes: tuple[Mistake, ...] = ()) -> str:
    """'' if every call of ``test`` gave the reference result, else what went wrong."""
    if len(outcomes) != len(calls):
        return f"应有 {len(calls)} 个结果，得到 {len(outcomes)} 个"
    for c, out in zip(calls, outcomes, strict=True):
        hint = _Hint(question, test, c, out, mistakes)
        where = c.describe(question.name) + "：" if len(calls) > 1 else ""
        if out.kind == "missing":
            return f"没有定义 `{question.name}`（not defined）"
        if out.kind == "not_done":
            return "尚未完成（not done yet）"
        if out.kind == "error":
            if test.raises and test.raises in out.error_types:
                continue
            wanted = f"应抛出 {test.raises}，但" if test.raises else ""
            return f"{where}{wanted}抛出了 {out.error}{hint}"
        if test.raises:
            return f"{where}应抛出 {test.raises}（raise），却返回了{describe(out.value)}{hint}"
        expected = question.reference(*copy.deepcopy(c.args), **copy.deepcopy(c.kwargs))
        message = compare(expected, out.value, names=question.outputs, rtol=test.rtol,
                          atol=test.atol)
        if message:
            return f"{where}{message}{hint}"
        if test.unmodified and (changed := _changed_argument(question, c, out.args_after)):
            return (f"{where}原地修改了输入 `{changed}`（in-place）：请计算新的数组，"
                    f"不要写入参数{hint}")
    return ""


def _changed_argument(question: Question, c: Call, after: list | None) -> str:
    """Name of the first array argument that differs after the call, else ''."""
    if after is None or len(after) != len(c.args):
        return "?"
    for i, (before, now) in enumerate(zip(c.args, after, strict=True)):
        if isinstance(before, np.ndarray):
            same = (isinstance(now, np.ndarray) and now.shape == before.shape
                    and np.array_equal(now, before, equal_nan=True))
            if not same:
                return question.params[i] if i < len(question.params) else f"argument {i + 1}"
    return ""




class _Hint:
    """The end of a failure message: the catalogued mistake the outcome matches, else the test's
    hint; worked out only when a message is written."""

    def __init__(self, question: Question, test: Test, c: Call, out: Outcome,
                 mistakes: tuple[Mistake, ...]) -> None:
        self.parts = (question, test, c, out, mistakes)

    def __format__(self, spec: str) -> str:
        names = _diagnose(*self.parts)
        if names:
            return f"（可能的错误：{'；或 '.join(names)}）"
        hint = self.parts[1].hint
        return f"（提示 hint: {hint}）" if hint else ""


def _diagnose(question: Question, test: Test, c: Call, out: Outcome,
              mistakes: tuple[Mistake, ...]) -> list[str]:
    """Names of the catalogued mistakes that give exactly this (wrong) outcome on this call."""
    names = []
    for mistake in mistakes:
        args, kwargs = copy.deepcopy(c.args), copy.deepcopy(c.kwargs)
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                value = mistake.answer(*args, **kwargs)
        except Exception as exc:  # a mistake that raises matches an answer that raises the same
            if out.kind == "error" and type(exc).__name__ in out.error_types:
                names.append(mistake.name)
            continue
        if out.kind != "value":
            continue
        same = _same(value, out.value, test.rtol, test.atol)
        if same and test.unmodified:  # and it changed its inputs as the answer did
            same = _changed_argument(question, Call(tuple(args), c.kwargs), out.args_after) == ""
        if same and mistake.name not in names:
            names.append(mistake.name)
    return names


def _same(a: Any, b: Any, rtol: float, atol: float) -> bool:
    """Whether two results agree, nan and inf included (a mistake's nan matches an answer's nan)."""
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y, rtol, atol) for x, y in zip(a, b, strict=True))
    try:
        x, y = np.asarray(a), np.asarray(b)
        if x.dtype.kind in "biuf" and y.dtype.kind in "biuf":
            return x.shape == y.shape and bool(np.allclose(y, x, rtol=rtol, atol=atol, equal_nan=True))
        return bool(a == b)
    except Exception:  # values that compare only by identity
        return False
