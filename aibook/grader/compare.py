"""Comparing a returned value with the reference, with a message that says what differs."""

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


def short_repr(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"<array {'x'.join(map(str, value.shape))}>"
    return repr(value)


def exception_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return type(exc).__name__ + (f": {lines[0][:200]}" if lines else "")


