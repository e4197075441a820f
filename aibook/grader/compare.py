"""Comparing a returned value with the reference, with a message that says what differs (in
Chinese, with the English term where it helps: learners read it in ``check``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# ---------------------------------------------------------------------------------------------
# Comparison


def compare(expected: Any, got: Any, names: tuple[str, ...] = (), rtol: float = 1e-5,
            atol: float = 1e-8) -> str:
    """'' if ``got`` matches ``expected`` (arrays within rtol/atol), else a one-line reason.

    ``names`` names the parts of a tuple result (or the single result) for the message.
    """
    if isinstance(expected, tuple):
        what = f"元组 ({', '.join(names)})" if len(names) == len(expected) else "元组"
        if not isinstance(got, (tuple, list)):
            return f"应返回{what}（a tuple），得到{describe(got)}"
        if len(got) != len(expected):
            return f"应返回含 {len(expected)} 个值的{what}，得到 {len(got)} 个值"
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
            return f"{label}：期望 {_number(expected)}，得到{describe(got)}"
        if isinstance(expected, (int, np.integer)):
            ok = got == expected
        else:
            ok = abs(got - expected) <= atol + rtol * abs(expected)
        return "" if ok else f"{label}：期望 {_number(expected)}，得到 {_number(got)}"
    if isinstance(expected, list) and isinstance(got, list) and len(got) == len(expected):
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            if message := compare(e, g, (f"{label}[{i}]",), rtol, atol):
                return message
        return ""
    try:  # a list holding arrays makes == ambiguous: that is a wrong answer, not a grader error
        same = bool(got == expected)
    except (ValueError, TypeError):
        same = False
    return "" if same else f"{label}：期望 {expected!r}，得到{describe(got)}"


def _compare_arrays(expected: np.ndarray, got: Any, label: str, rtol: float, atol: float) -> str:
    if isinstance(got, list):
        try:
            got = np.asarray(got, dtype=float)
        except (ValueError, TypeError):
            return f"{label}：应为形状 {expected.shape} 的数组（array），得到{describe(got)}"
    if not isinstance(got, np.ndarray) or got.dtype.kind not in "biuf":
        return f"{label}：应为形状 {expected.shape} 的数组（array），得到{describe(got)}"
    if got.shape != expected.shape:
        return f"{label}：形状（shape）应为 {expected.shape}，得到 {got.shape}"
    exp, val = expected.astype(float), got.astype(float)
    with np.errstate(invalid="ignore", over="ignore"):
        excess = np.abs(val - exp) - (atol + rtol * np.abs(exp))
    excess = np.where(np.isnan(excess), np.inf, excess)
    bad = excess > 0
    if not bad.any():
        return ""
    worst = np.unravel_index(int(np.argmax(excess)), exp.shape)
    index = "[" + ", ".join(str(int(i)) for i in worst) + "]"
    return (f"{label}：{exp.size} 个值中有 {int(bad.sum())} 个不符（rtol={rtol:g}, atol={atol:g}）；"
            f"{index} 处期望 {_number(exp[worst])}，得到 {_number(val[worst])}")


@dataclass(frozen=True)
class Opaque:
    """A returned value that is not numbers, strings, lists or arrays (only its kind comes back)."""

    kind: str


def describe(value: Any) -> str:
    """A short description of a returned value for messages (starts with a space or a word)."""
    if value is None or isinstance(value, bool):
        return f" {value!r}"
    if isinstance(value, (int, float)):
        return f" {_number(value)}"
    if isinstance(value, np.ndarray):
        return f"形状为 {value.shape} 的数组"
    if isinstance(value, tuple):
        return f"含 {len(value)} 个值的元组（tuple）"
    if isinstance(value, list):
        return f"含 {len(value)} 个值的列表（list）"
    if isinstance(value, Opaque):
        return f"一个 {value.kind}"
    return f"一个 {type(value).__name__}"


def _number(x: Any) -> str:
    return str(x) if isinstance(x, (int, np.integer)) else f"{float(x):.6g}"


def short_repr(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"<array {'x'.join(map(str, value.shape))}>"
    return repr(value)


def exception_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return type(exc).__name__ + (f": {lines[0][:200]}" if lines else "")


