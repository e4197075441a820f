"""Exercise notebooks from their one source: ``solutions/chNN.ipynb`` -> ``exercises/chNN.ipynb``.

The answer code in a solution notebook sits between ``# BEGIN SOLUTION`` and ``# END SOLUTION``;
``exercise_text`` turns each marked block into ``...`` at the marker's indentation and clears
outputs and execution counts. ``python -m aibook.booktools.exercise_notebooks build|check``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import nbformat

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"


def strip_solutions(source: str, where: str = "cell") -> str:
    """Replace each ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` block by ``...`` at its indentation."""
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.splitlines(keepends=True), 1):
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise ValueError(f"{where}, line {number}: '{BEGIN}' inside another solution block")
            inside = True
            out.append(line[: len(line) - len(line.lstrip())] + "...\n")
        elif marker == END:
            if not inside:
                raise ValueError(f"{where}, line {number}: '{END}' without '{BEGIN}'")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: '{BEGIN}' without '{END}'")
    text = "".join(out)
    return text if source.endswith("\n") else text.removesuffix("\n")


STUDENT_ID_CELL = ('STUDENT_ID = ""  # 在引号里填上你的学号（student id），例如 "2024001"：'
                   '评分时用它把成绩记到你名下')


def exercise_notebook(solution: nbformat.NotebookNode, where: str = "notebook"
                      ) -> nbformat.NotebookNode:
    """The learner's version of a solution notebook: solutions stripped, no outputs, and after the
    first code cell the cell where the learner stamps their student id (read by the grader's roster
    join, ``aibook.grader.reports``)."""
    import copy

    import nbformat

    nb = copy.deepcopy(solution)
    nb.metadata.pop("widgets", None)
    for index, cell in enumerate(nb.cells, 1):
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source, f"{where}, cell {index}")
            cell.outputs = []
            cell.execution_count = None
    first = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells) - 1)
    stamp = nbformat.v4.new_code_cell(STUDENT_ID_CELL, metadata={"aibook": {"role": "student_id"}})
    stamp.id = "aibook-student-id"
    nb.cells.insert(first + 1, stamp)
    return nb


def exercise_text(solution_path: Path) -> str:
    """The exact text of the exercise notebook generated from ``solution_path``."""
    import nbformat

    nb = nbformat.read(solution_path, as_version=4)
    text = nbformat.writes(exercise_notebook(nb, str(solution_path)))
    return text if text.endswith("\n") else text + "\n"


def pairs(root: Path) -> list[tuple[Path, Path]]:
    """(solution, exercise) paths of every chapter under ``root``."""
    return [(path, root / "exercises" / path.name)
            for path in sorted((root / "solutions").glob("ch[0-9][0-9].ipynb"))]


def build(root: Path) -> list[Path]:
    """Make exercises/ match solutions/; return the notebooks written or removed (orphans)."""
    changed = []
    for solution, exercise in pairs(root):
        text = exercise_text(solution)
        if not exercise.is_file() or exercise.read_text(encoding="utf-8") != text:
            exercise.parent.mkdir(exist_ok=True)
            exercise.write_text(text, encoding="utf-8")
            changed.append(exercise)
    for orphan in _orphans(root):
        orphan.unlink()
        changed.append(orphan)
    return changed


def out_of_date(root: Path) -> list[Path]:
    """Exercise notebooks that are missing, stale, or have no solution notebook any more."""
    stale = [exercise for solution, exercise in pairs(root)
             if not exercise.is_file()
             or exercise.read_text(encoding="utf-8") != exercise_text(solution)]
    return stale + _orphans(root)


def _orphans(root: Path) -> list[Path]:
    """Exercise notebooks whose solution notebook is gone."""
    sources = {solution.name for solution, _ in pairs(root)}
    return [p for p in sorted((root / "exercises").glob("ch[0-9][0-9].ipynb"))
            if p.name not in sources]




def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aibook.booktools.exercise_notebooks",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["build", "check"])
    parser.add_argument("--root", type=Path, default=Path("."),
                        help="repository root holding solutions/ and exercises/ (default: .)")
    args = parser.parse_args(argv)
    root = args.root
    if not (root / "solutions").is_dir():
        print(f"error: no solutions/ folder in {root.resolve()}: run from the repository root "
              "or pass --root", file=sys.stderr)
        return 2
    try:
        if args.command == "build":
            changed = build(root)
            names = ", ".join(str(p.relative_to(root)) for p in changed)
            n = len(pairs(root))
            print(f"exercises/: {n} chapter{'' if n == 1 else 's'}, updated: {names or 'none'}")
            return 0
        stale = out_of_date(root)
    except ValueError as exc:  # unbalanced solution markers
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if stale:
        names = ", ".join(str(p.relative_to(root)) for p in stale)
        print(f"error: exercises/ is out of date with solutions/ ({names}): run 'make exercises'",
              file=sys.stderr)
        return 1
    n = len(pairs(root))
    print(f"exercises/ matches solutions/ ({n} chapter{'' if n == 1 else 's'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
