"""The evaluation protocol: test inputs and returned values as plain JSON (never pickle), and the
self-contained cell the grader runs in the learner's kernel to call an answer."""

from __future__ import annotations

import inspect
import json
from typing import Any

import numpy as np

from aibook.grader.compare import Opaque, exception_line
from aibook.grader.questions import Call, Outcome

RESULT_MIME = "application/x.aibook-result"  # private mime type of the evaluation cell's result
_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "float32", "float64"}
_MAX_RESULT_CHARS = 50_000_000

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
        if array.size == 0 and 0 in shape:  # tolist() of an empty (0, 4) array is just []
            array = array.reshape(shape)
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

    import contextlib
    import io
    import sys

    class Sink(io.TextIOBase):  # what the answer prints is dropped, so printing costs no points
        def write(self, text):
            return len(text)

    req = json.loads(request)
    watch = set(req.get("watch") or ())  # "numpy_nn.py:conv2d": library functions that are the answer
    hits = set()

    def profile(frame, event, arg):
        if event == "call":
            code = frame.f_code
            key = code.co_filename.replace("\\", "/").rsplit("/", 1)[-1] + ":" + code.co_name
            if key in watch and "/aibook/" in code.co_filename.replace("\\", "/"):
                hits.add(key)

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
        quiet = contextlib.ExitStack()
        if req.get("quiet"):
            quiet.enter_context(contextlib.redirect_stdout(Sink()))
            quiet.enter_context(contextlib.redirect_stderr(Sink()))
        try:
            with quiet:
                if watch:
                    sys.setprofile(profile)
                try:
                    value = answer(*args, **kwargs)
                finally:
                    if watch:
                        sys.setprofile(None)
            item = {"value": encode(value)}
        except (Exception, SystemExit) as exc:
            item = {"error": one_line(exc), "types": [k.__name__ for k in type(exc).__mro__]}
        if hits:
            item["library"] = sorted(hits)
        if req.get("check_args"):
            item["args"] = encode(list(args))
        results.append(item)
    return json.dumps({"nonce": req["nonce"], "results": results})


def evaluation_request(calls: list[Call], nonce: str, check_args: bool, watch: tuple[str, ...] = (),
                       quiet: bool = False) -> str:
    """The JSON request the evaluation code decodes in the kernel: the calls, whether to send the
    arguments back, the library functions to watch for (``watch``) and whether to drop prints."""
    encoded = [{"args": to_json(list(c.args)), "kwargs": to_json(c.kwargs)} for c in calls]
    return json.dumps({"nonce": nonce, "calls": encoded, "check_args": check_args,
                       "watch": list(watch), "quiet": quiet})


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
        return f"could not read the result that came back ({exception_line(exc)})"


def _outcome(item: Any) -> Outcome:
    if not isinstance(item, dict):
        raise ValueError("bad result item")
    library = item.get("library", [])
    if not (isinstance(library, list) and all(isinstance(x, str) for x in library)):
        raise ValueError("bad library list")
    outcome = _plain_outcome(item)
    outcome.library = tuple(x[:120] for x in library[:10])
    return outcome


def _plain_outcome(item: dict) -> Outcome:
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


