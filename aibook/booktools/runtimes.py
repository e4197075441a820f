"""The home page's run-time table: every notebook's run time as measured by the test suite.

``make test`` (the root ``conftest.py``) writes what it measured to ``_build/notebook-times.json``;
``python -m aibook.booktools.runtimes update`` turns that into ``book/runtimes.json``, which the
website renders (``{runtime-table}``) and every later test run compares with what it measures: a
notebook whose time moved by more than ``tolerance_s`` is reported (never failed: load moves times).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

RECORD = Path("book") / "runtimes.json"
MEASURED = Path("_build") / "notebook-times.json"
RECORDED_FOLDERS = ("book", "solutions")  # exercises/ are not executed
SETTING = "pytest -n 2（两个笔记本同时运行），每个笔记本 1 个 PyTorch 线程，时间包括内核启动"


def tolerance_s(recorded: float) -> float:
    """How far a measured time may move from the record: 20 s, or 75 % for longer notebooks."""
    return max(20.0, 0.75 * recorded)


def is_current(recorded: float, measured: float) -> bool:
    return abs(measured - recorded) <= tolerance_s(recorded)


def load_json(path: Path) -> dict:
    """A JSON file's content, or {} if it does not exist."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def save_measured(root: Path, seconds: dict[str, float]) -> Path:
    """Merge this run's per-notebook seconds into ``_build/notebook-times.json`` (kept between runs)."""
    path = root / MEASURED
    merged = load_json(path)
    merged.update({nb: round(s, 1) for nb, s in seconds.items()
                   if Path(nb).parts[0] in RECORDED_FOLDERS})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(sorted(merged.items())), indent=1) + "\n", encoding="utf-8")
    return path


def describe_machine() -> str:
    """The CPU the times were measured on, in words."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPU cores ({model}), Linux, Python {platform.python_version()}"


def stale_entries(record: dict, notebooks: list[str]) -> tuple[list[str], list[str]]:
    """(notebooks missing from the record, record entries that are not notebooks any more)."""
    recorded = set(record.get("notebooks", {}))
    return sorted(set(notebooks) - recorded), sorted(recorded - set(notebooks))


def update(root: Path, notebooks: list[str]) -> dict:
    """Write ``book/runtimes.json`` from the measured times of ``notebooks`` (all must be measured)."""
    measured = load_json(root / MEASURED)
    missing = [nb for nb in notebooks if nb not in measured]
    if missing:
        raise ValueError(f"no measured time for {', '.join(missing)}: run 'make test' first")
    record = {"machine": describe_machine(), "setting": SETTING,
              "notebooks": {nb: measured[nb] for nb in sorted(notebooks)}}
    (root / RECORD).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return record


def main(argv: list[str] | None = None) -> int:
    from aibook.booktools import nbcheck

    parser = argparse.ArgumentParser(prog="python -m aibook.booktools.runtimes",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["update", "show"])
    parser.add_argument("--root", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    notebooks = [str(p) for p in nbcheck.list_notebooks(args.root, RECORDED_FOLDERS)]
    try:
        record = update(args.root, notebooks) if args.command == "update" else load_json(args.root / RECORD)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    times = record.get("notebooks", {})
    for nb, seconds in times.items():
        print(f"{nb:<58} {seconds:6.1f} s")
    print(f"{len(times)} notebooks, {sum(times.values()):.0f} s in all, on {record.get('machine', '?')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
