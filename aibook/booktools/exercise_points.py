"""Each test's points in parentheses in an exercise's **检查** line: "层宽 3→5→2（2 分）；批大小为 1（1 分）"
rather than the run-on "层宽 3→5→2 2 分；批大小为 1 1 分".

``python -m aibook.booktools.exercise_points [NOTEBOOK ...]`` (default: every ``solutions/chNN.ipynb``)
rewrites those lines in place; it touches markdown only, so stored outputs stay valid, and running it
twice changes nothing the second time. ``check_items`` reads a line back for the tests.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

MARK = "**检查**"
_RUN_ON = re.compile(r"^(?P<body>.*?)[，,]?\s*(?P<points>\d+) 分$")
_DONE = re.compile(r"（(?:[^（）]*[，,]\s*)?(?P<points>\d+) 分）$")


def _fix_item(item: str) -> str:
    if _DONE.search(item):
        return item
    match = _RUN_ON.match(item)
    if not match:
        return item
    body, points = match.group("body").rstrip(), match.group("points")
    if body.endswith("）"):  # "（以及批大小为 1）1 分" -> "（以及批大小为 1，1 分）"
        return f"{body[:-1]}，{points} 分）"
    return f"{body}（{points} 分）"


def fix_line(line: str) -> str:
    """A **检查** line with every item's points in parentheses (other lines unchanged)."""
    if not line.startswith(MARK) or "：" not in line:
        return line
    head, _, items = line.partition("：")
    end = "。" if items.endswith("。") else ""
    parts = items.removesuffix("。").split("；")
    return f"{head}：{'；'.join(_fix_item(p) for p in parts)}{end}"


def check_items(line: str) -> list[int] | None:
    """The points of each item of a **检查** line, or None if an item lacks "（N 分）"."""
    items = line.partition("：")[2].removesuffix("。").split("；")
    points = [_DONE.search(item.strip()) for item in items]
    return None if not all(points) else [int(m.group("points")) for m in points]


def fix_notebook(path: Path) -> bool:
    """Rewrite the **检查** lines of one notebook; True if it changed."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    changed = False
    for cell in nb.cells:
        if cell.cell_type == "markdown" and MARK in cell.source:
            lines = cell.source.split("\n")
            new = [fix_line(line) for line in lines]
            if new != lines:
                cell.source, changed = "\n".join(new), True
    if changed:
        nbformat.write(nb, path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aibook.booktools.exercise_points",
                                     description="Put each test's points in parentheses in **检查** lines.")
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to rewrite (default: solutions/ch*.ipynb)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(Path("solutions").glob("ch*.ipynb"))
    if not paths:
        print("no notebooks: run it from the repository root or name them", file=sys.stderr)
        return 2
    for path in paths:
        if fix_notebook(path):
            print(f"rewrote {path}: run 'make exercises' next")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
