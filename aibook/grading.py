"""Exercise checks: the question model, the learner-facing ``check`` and the evaluation protocol.

A ``Question`` names the function the learner writes, a reference implementation and a few
``Test``s; each test draws its inputs from a seeded random generator. In a notebook,
``check("4.6", adam_step)`` runs the tests right there and prints PASS/FAIL per test with points.
The grader (``aibook.grade``) runs the same tests from outside the learner's code: it sends
``evaluation_code`` to the learner's kernel, which calls the answer and returns the raw values as
plain JSON (``to_json``); the grader compares them with the reference in its own process.
The JSON carries numbers, strings, nested lists, ``{"__tuple__": [...]}`` and
``{"__ndarray__": nested list, "dtype": ..., "shape": [...]}``; never pickle.
"""

from __future__ import annotations

import copy
import inspect
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

RESULT_MIME = "application/x.aibook-result"  # private mime type of the evaluation cell's result
_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "float32", "float64"}
_MAX_RESULT_CHARS = 50_000_000


# ---------------------------------------------------------------------------------------------
# The question model


@dataclass(frozen=True)
class Call:
    """Positional and keyword arguments of one call of the learner's function."""

    args: tuple
    kwargs: dict = field(default_factory=dict)

    def describe(self, name: str) -> str:
        """The call as code, arrays shown by shape: ``conv_output_size(7, 3, stride=2)``."""
        parts = [_short(a) for a in self.args] + [f"{k}={_short(v)}" for k, v in self.kwargs.items()]
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

    @property
    def passed(self) -> bool:
        return self.points == self.max_points

    def to_json(self) -> dict:
        """The question's entry in ``aibook.grade --json``."""
        return {"id": self.id, "points": self.points, "max_points": self.max_points,
                "passed": self.passed, "message": self.message}


# A runner makes the calls of one test and returns their outcomes, or a message when it could not.
Runner = Callable[[Test, list[Call]], "list[Outcome] | str"]


def inputs_rng(seed: int, question_id: str, test_index: int) -> np.random.Generator:
    """The generator a test draws its inputs from: fixed by (seed, question, test)."""
    return np.random.default_rng([seed, zlib.crc32(f"{question_id}/{test_index}".encode())])


def run_question(question: Question, run: Runner, seed: int = 0) -> QuestionResult:
    """Run every test of ``question`` through ``run`` and score the outcomes against the reference."""
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
            message = _judge(question, test, calls, outcomes)
        except Exception as exc:  # a bug in the bank must not stop the other tests
            message = f"grader error ({_one_line(exc)}): please report it"
        results.append(TestResult(test.name, 0 if message else test.points, test.points,
                                  message or ""))
    failed = [r for r in results if not r.passed]
    summary = "; ".join(f"{r.name}: {r.message}" for r in failed)
    return QuestionResult(question.id, question.name, sum(r.points for r in results),
                          question.points, summary or f"passed all {len(results)} tests", results)


def _unanswered(question: Question, outcomes: list[Outcome]) -> str:
    """A message if the first test shows the question was not attempted, else ''."""
    name = question.name
    if all(o.kind == "missing" for o in outcomes):
        return f"not answered: the notebook defines no `{name}`"
    if all(o.kind == "not_done" for o in outcomes):
        return f"not done yet: `{name}` is still `...`"
    if all(o.kind == "value" and o.value is None for o in outcomes):
        return f"not done yet: `{name}` returns None (replace the `...` with your code)"
    return ""


def _judge(question: Question, test: Test, calls: list[Call], outcomes: list[Outcome]) -> str:
    """'' if every call of ``test`` gave the reference result, else what went wrong."""
    if len(outcomes) != len(calls):
        return f"expected {len(calls)} results, got {len(outcomes)}"
    hint = f" (hint: {test.hint})" if test.hint else ""
    for c, out in zip(calls, outcomes, strict=True):
        where = c.describe(question.name) + ": " if len(calls) > 1 else ""
        if out.kind == "missing":
            return f"`{question.name}` is not defined"
        if out.kind == "not_done":
            return "not done yet"
        if out.kind == "error":
            if test.raises and test.raises in out.error_types:
                continue
            wanted = f"expected {test.raises}, but it " if test.raises else ""
            return f"{where}{wanted}raised {out.error}{hint}"
        if test.raises:
            return f"{where}expected {test.raises} to be raised, got {describe(out.value)}{hint}"
        expected = question.reference(*copy.deepcopy(c.args), **copy.deepcopy(c.kwargs))
        message = compare(expected, out.value, names=question.outputs, rtol=test.rtol,
                          atol=test.atol)
        if message:
            return f"{where}{message}{hint}"
        if test.unmodified and (changed := _changed_argument(question, c, out.args_after)):
            return (f"{where}changed its input `{changed}` in place: compute new arrays "
                    f"instead of writing into the arguments{hint}")
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


# ---------------------------------------------------------------------------------------------
# Comparison


def compare(expected: Any, got: Any, names: tuple[str, ...] = (), rtol: float = 1e-5,
            atol: float = 1e-8) -> str:
    """'' if ``got`` matches ``expected`` (arrays within rtol/atol), else a one-line reason.

    ``names`` names the parts of a tuple result (or the single result) for the message.
    """
    if isinstance(expected, tuple):
        what = f"a tuple ({', '.join(names)})" if len(names) == len(expected) else "a tuple"
        if not isinstance(got, (tuple, list)):
            return f"expected {what}, got {describe(got)}"
        if len(got) != len(expected):
            return f"expected {what} of {len(expected)} values, got {len(got)} values"
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            part = (names[i],) if len(names) == len(expected) else (f"result[{i}]",)
            if message := compare(e, g, part, rtol, atol):
                return message
        return ""
    label = names[0] if names else "result"
    if isinstance(expected, np.ndarray):
        return _compare_arrays(expected, got, label, rtol, atol)
    if isinstance(expected, (int, float, np.number)) and not isinstance(expected, bool):
        if isinstance(got, np.generic) or (isinstance(got, np.ndarray) and got.ndim == 0):
            got = got.item()
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            return f"{label}: expected {_number(expected)}, got {describe(got)}"
        if isinstance(expected, (int, np.integer)):
            ok = got == expected
        else:
            ok = abs(got - expected) <= atol + rtol * abs(expected)
        return "" if ok else f"{label}: expected {_number(expected)}, got {_number(got)}"
    return "" if got == expected else f"{label}: expected {expected!r}, got {describe(got)}"


def _compare_arrays(expected: np.ndarray, got: Any, label: str, rtol: float, atol: float) -> str:
    if isinstance(got, list):
        try:
            got = np.asarray(got, dtype=float)
        except (ValueError, TypeError):
            return f"{label}: expected an array of shape {expected.shape}, got {describe(got)}"
    if not isinstance(got, np.ndarray) or got.dtype.kind not in "biuf":
        return f"{label}: expected an array of shape {expected.shape}, got {describe(got)}"
    if got.shape != expected.shape:
        return f"{label}: expected shape {expected.shape}, got shape {got.shape}"
    exp, val = expected.astype(float), got.astype(float)
    with np.errstate(invalid="ignore", over="ignore"):
        excess = np.abs(val - exp) - (atol + rtol * np.abs(exp))
    excess = np.where(np.isnan(excess), np.inf, excess)
    bad = excess > 0
    if not bad.any():
        return ""
    worst = np.unravel_index(int(np.argmax(excess)), exp.shape)
    index = "[" + ", ".join(str(int(i)) for i in worst) + "]"
    return (f"{label}: {int(bad.sum())} of {exp.size} values differ (rtol={rtol:g}, "
            f"atol={atol:g}); at {index}: expected {_number(exp[worst])}, got {_number(val[worst])}")


@dataclass(frozen=True)
class Opaque:
    """A returned value that is not numbers, strings, lists or arrays (only its kind comes back)."""

    kind: str


def describe(value: Any) -> str:
    """A short description of a returned value for messages."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} values"
    if isinstance(value, list):
        return f"a list of {len(value)} values"
    if isinstance(value, Opaque):
        return f"a {value.kind}"
    return f"a {type(value).__name__}"


def _number(x: Any) -> str:
    return str(x) if isinstance(x, (int, np.integer)) else f"{float(x):.6g}"


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"<array {'x'.join(map(str, value.shape))}>"
    return repr(value)


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return type(exc).__name__ + (f": {lines[0][:200]}" if lines else "")


# ---------------------------------------------------------------------------------------------
# JSON encoding of test inputs and returned values


def to_json(value: Any) -> Any:
    """Plain-JSON form of test inputs: numbers, strings, lists, tuples, dicts and arrays."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": str(value.dtype), "shape": list(value.shape)}
    if isinstance(value, tuple):
        return {"__tuple__": [to_json(v) for v in value]}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    raise TypeError(f"cannot send a {type(value).__name__} to the kernel")


def from_json(obj: Any, depth: int = 0) -> Any:
    """Decode a value that came back from a kernel; untrusted, so anything odd raises ValueError."""
    if depth > 32:
        raise ValueError("value nested too deeply")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        return [from_json(v, depth + 1) for v in obj]
    if not isinstance(obj, dict):
        raise ValueError(f"unexpected {type(obj).__name__}")
    if "__tuple__" in obj and isinstance(obj["__tuple__"], list):
        return tuple(from_json(v, depth + 1) for v in obj["__tuple__"])
    if "__type__" in obj:
        return Opaque(str(obj["__type__"])[:80])
    if "__ndarray__" in obj:
        dtype, shape = obj.get("dtype"), obj.get("shape")
        if dtype not in _DTYPES:
            raise ValueError(f"unsupported dtype {dtype!r}")
        if not (isinstance(shape, list) and all(type(n) is int and n >= 0 for n in shape)):
            raise ValueError("bad array shape")
        array = np.array(obj["__ndarray__"], dtype=dtype)
        if array.shape != tuple(shape):
            raise ValueError("array data does not match its shape")
        return array
    raise ValueError("unexpected object")


def _evaluate_calls(namespace, name, request):
    """Call ``namespace[name]`` on each call in the JSON ``request``; return the outcomes as JSON.

    Self-contained (imports inside, no globals) because the grader sends this function's source to
    the learner's kernel; ``check`` runs it in-process, so both see the same outcomes.
    """
    import json

    import numpy

    max_items = 1_000_000

    def decode(o):
        if isinstance(o, list):
            return [decode(v) for v in o]
        if isinstance(o, dict):
            if "__ndarray__" in o:
                return numpy.array(o["__ndarray__"], dtype=o["dtype"]).reshape(o["shape"])
            if "__tuple__" in o:
                return tuple(decode(v) for v in o["__tuple__"])
            return {k: decode(v) for k, v in o.items()}
        return o

    def encode(o, depth=0):
        if depth > 30:
            return {"__type__": "value nested too deeply"}
        if o is None or isinstance(o, (bool, int, float, str)):
            return o
        if isinstance(o, (numpy.bool_, numpy.number)):
            return o.item()
        if not isinstance(o, numpy.ndarray) and hasattr(o, "detach") and hasattr(o, "numpy"):
            try:  # a torch tensor
                o = o.detach().cpu().numpy()
            except Exception:
                return {"__type__": type(o).__name__}
        if isinstance(o, numpy.ndarray):
            if o.dtype.kind not in "biuf":
                return {"__type__": f"array of {o.dtype}"}
            if o.size > max_items:
                return {"__type__": f"array of {o.size} values (too large to check)"}
            return {"__ndarray__": o.tolist(), "dtype": str(o.dtype), "shape": list(o.shape)}
        if isinstance(o, (list, tuple)):
            if len(o) > max_items:
                return {"__type__": f"{type(o).__name__} of {len(o)} values (too large to check)"}
            items = [encode(v, depth + 1) for v in o]
            return items if isinstance(o, list) else {"__tuple__": items}
        return {"__type__": type(o).__name__}

    def one_line(exc):
        try:
            lines = str(exc).strip().splitlines()
        except Exception:
            lines = []
        return type(exc).__name__ + (": " + lines[0][:200] if lines else "")

    req = json.loads(request)
    results = []
    for c in req["calls"]:
        if name not in namespace:
            results.append({"missing": True})
            continue
        answer = namespace[name]
        if answer is Ellipsis:
            results.append({"not_done": True})
            continue
        args, kwargs = decode(c["args"]), decode(c["kwargs"])
        try:
            item = {"value": encode(answer(*args, **kwargs))}
        except (Exception, SystemExit) as exc:
            item = {"error": one_line(exc), "types": [k.__name__ for k in type(exc).__mro__]}
        if req.get("check_args"):
            item["args"] = encode(list(args))
        results.append(item)
    return json.dumps({"nonce": req["nonce"], "results": results})


def evaluation_request(calls: list[Call], nonce: str, check_args: bool) -> str:
    """The JSON request the evaluation code decodes in the kernel."""
    encoded = [{"args": to_json(list(c.args)), "kwargs": to_json(c.kwargs)} for c in calls]
    return json.dumps({"nonce": nonce, "calls": encoded, "check_args": check_args})


def evaluation_code(name: str, request: str, nonce: str) -> str:
    """Source of the cell the grader runs in the learner's kernel to call ``name``.

    It defines a uniquely named copy of ``_evaluate_calls``, publishes its JSON result as
    display data of type ``RESULT_MIME`` (tied to this cell's execution) and deletes itself.
    """
    func = f"_aibook_eval_{nonce}"
    source = inspect.getsource(_evaluate_calls).replace("def _evaluate_calls(", f"def {func}(", 1)
    return (f"{source}\n"
            f"try:\n"
            f"    __import__('IPython.display', fromlist=['_']).publish_display_data(\n"
            f"        {{{RESULT_MIME!r}: {func}(globals(), {name!r}, {request!r})}})\n"
            f"finally:\n"
            f"    del {func}\n")


def read_outcomes(outputs: list[dict], nonce: str, n_calls: int) -> list[Outcome] | str:
    """Outcomes from the outputs of one evaluation cell, or why they cannot be read."""
    payloads = [o.get("data", {}).get(RESULT_MIME) for o in outputs
                if o.get("output_type") == "display_data" and RESULT_MIME in o.get("data", {})]
    if not payloads:
        errors = [o for o in outputs if o.get("output_type") == "error"]
        why = f" ({errors[0].get('ename')}: {errors[0].get('evalue')})" if errors else ""
        return f"no result came back from the kernel{why}"
    if len(payloads) > 1:
        return "more than one result came back for one evaluation: not graded"
    text = payloads[0]
    if isinstance(text, list):
        text = "".join(text)
    if not isinstance(text, str) or len(text) > _MAX_RESULT_CHARS:
        return "the result that came back is too large or not text"
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("nonce") != nonce:
            return "the result that came back does not belong to this evaluation: not graded"
        items = data["results"]
        if not isinstance(items, list) or len(items) != n_calls:
            return "the result that came back has the wrong number of calls"
        return [_outcome(item) for item in items]
    except (ValueError, KeyError, TypeError) as exc:
        return f"could not read the result that came back ({_one_line(exc)})"


def _outcome(item: Any) -> Outcome:
    if not isinstance(item, dict):
        raise ValueError("bad result item")
    after = from_json(item["args"]) if "args" in item else None
    if after is not None and not isinstance(after, list):
        raise ValueError("bad argument list")
    if item.get("missing") is True:
        return Outcome("missing")
    if item.get("not_done") is True:
        return Outcome("not_done")
    if "error" in item:
        types = item.get("types")
        if not (isinstance(types, list) and all(isinstance(t, str) for t in types)):
            raise ValueError("bad exception types")
        return Outcome("error", error=str(item["error"])[:300], error_types=tuple(types),
                       args_after=after)
    if "value" in item:
        return Outcome("value", value=from_json(item["value"]), args_after=after)
    raise ValueError("bad result item")


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
    from aibook.exercises import find_question

    question = find_question(question_id)
    if question is None:
        print(f"unknown question {question_id!r}: use an id from the exercise text, e.g. '4.1'")
        return
    print(format_result(question, run_question(question, local_runner(answer, question.name))))
