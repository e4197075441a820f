"""Throughput of the batch grader on a course-sized batch (issue 27, item 6): generate N Chapter 4
submissions from the exercise notebook (each answer right, wrong or broken at random: the reference
solution, a catalogued mistake, a syntax error or an exception, or left as ``...``), grade them with
``--jobs`` kernels and report submissions per minute. A report, not a test.

    python benchmarks/grade_300.py                 # 300 submissions, 2 jobs
    python benchmarks/grade_300.py --count 40      # a quicker sample

The machine's load matters: say how many other heavy jobs ran beside it when quoting the number.
"""

from __future__ import annotations

import argparse
import csv
import inspect
import random
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path

import nbformat

from aibook.grader.banks import banks
from aibook.grader.mistakes import mistakes_for

ROOT = Path(__file__).resolve().parents[1]


def answer_sources() -> dict[str, dict[str, list[str]]]:
    """Question id -> kind -> candidate answer cell sources."""
    solution = nbformat.read(ROOT / "solutions" / "ch04.ipynb", as_version=4)
    right = {c.metadata["aibook"]["question"]: "".join(
                 line for line in c.source.splitlines(keepends=True)
                 if line.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION"))
             for c in solution.cells
             if isinstance(c.metadata.get("aibook"), dict) and "question" in c.metadata["aibook"]}
    found = {}
    for question in banks()[4]:
        wrong = []
        for mistake in mistakes_for(question.id):
            if getattr(mistake.answer, "__code__", None) is None or mistake.answer.__code__.co_freevars:
                continue  # a closure: its source alone does not run
            try:
                source = textwrap.dedent(inspect.getsource(mistake.answer))
            except (OSError, TypeError):
                continue
            if source.startswith("def ") and "nn." not in source:  # NumPy only, like the learners
                name = source.split("(", 1)[0][4:]
                wrong.append(f"import numpy as np\n{source}\n{question.name} = {name}\n")
        broken = [f"def {question.name}(*args):\n    return args[0] +* 1\n",
                  f"def {question.name}(*args, **kwargs):\n    raise RuntimeError('not finished')\n"]
        zeros = f"import numpy as np\ndef {question.name}(*args, **kwargs):\n    return np.zeros(3)\n"
        wrong = wrong or [zeros]
        found[question.id] = {"right": [right[question.id]], "wrong": wrong, "broken": broken}
    return found


def make_submissions(folder: Path, count: int, seed: int = 0) -> Counter:
    """``count`` notebooks in ``folder``: each answer right (50 %), wrong (25 %), broken (15 %) or
    left undone (10 %); returns how many answers of each kind were written."""
    rng = random.Random(seed)
    exercise = nbformat.read(ROOT / "exercises" / "ch04.ipynb", as_version=4)
    sources = answer_sources()
    kinds = Counter()
    for n in range(count):
        nb = nbformat.from_dict(nbformat.from_dict(exercise))
        for cell in nb.cells:
            meta = cell.metadata.get("aibook") if isinstance(cell.metadata.get("aibook"), dict) else {}
            qid = meta.get("question")
            if meta.get("role") == "student_id":
                cell.source = f'STUDENT_ID = "2026{n:04d}"'
            if qid not in sources:
                continue
            kind = rng.choices(["right", "wrong", "broken", "undone"], [50, 25, 15, 10])[0]
            kinds[kind] += 1
            if kind != "undone":
                cell.source = rng.choice(sources[qid][kind])
        nbformat.write(nb, folder / f"student{n:04d}.ipynb")
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "submissions"
        folder.mkdir()
        kinds = make_submissions(folder, args.count)
        paths = sorted(str(p) for p in folder.glob("*.ipynb"))
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "aibook.grader", *paths, "--jobs", str(args.jobs),
                               "--csv", str(Path(tmp) / "grades.csv")], capture_output=True, text=True)
        seconds = time.monotonic() - start
        if not (Path(tmp) / "grades.csv").exists():
            raise SystemExit(f"the grader wrote no grades (exit {done.returncode}): {done.stderr[-2000:]}")
        rows = list(csv.DictReader((Path(tmp) / "grades.csv").open(encoding="utf-8")))
    scores = sorted(int(r["total"]) for r in rows)
    print(f"{args.count} submissions ({dict(kinds)} answers), {args.jobs} jobs: {seconds:.0f} s, "
          f"{args.count / seconds * 60:.1f} submissions per minute; exit {done.returncode}")
    print(f"scores: min {scores[0]}, median {scores[len(scores) // 2]}, max {scores[-1]}; "
          f"{sum(1 for r in rows if r['error'])} not gradable; {sum(1 for r in rows if r['flags'])} flagged")


if __name__ == "__main__":
    main()
