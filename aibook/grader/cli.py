"""Grade exercise notebooks: ``python -m aibook.grader SUBMISSION.ipynb ... [--json] [--csv FILE]``.

How a submission is graded
    The file is read once and copied into a fresh temporary directory; the copy runs there in a
    new ``python3`` kernel (nbclient), cell by cell like Jupyter's "Run All": it stops at the first
    cell that fails, runs past ``--timeout`` (all cells together) or kills the kernel; after a
    dead kernel a fresh one replays the cells before that cell. Then, for every question whose
    answer cell (metadata ``{"aibook": {"question": "4.1"}}``) ran, the grader draws test inputs
    in its own process and sends the same kernel a small self-contained evaluation cell: it looks
    the answer up by name in the kernel's globals, calls it (``--call-timeout`` per test) and
    publishes the returned values as plain JSON in a display_data output of a private mime type,
    tagged with a random nonce per call. The grader reads that output of that cell only and
    compares the values with the reference computed in the grader process (``aibook.grader.questions``).
    The submission file is never modified and nothing is written next to it. ``--jobs``
    submissions (default: one per CPU core) are graded in parallel, each in its own kernel.

What is defended
    Points come only from the values the learner's function returns for inputs drawn in the
    grader (a fresh ``--seed`` each run unless given), compared in the grader. Printed text
    ("All tests passed"), forged JSON lines (the kernel's own stdout and stderr go to /dev/null),
    stored outputs (never read), a redefined ``check``, an emptied question bank or monkeypatched
    NumPy comparisons in the kernel earn nothing; a second result for one call, or one without the
    call's nonce, fails that test. A notebook that raises, calls ``sys.exit()`` or ``os._exit()``,
    kills its kernel or never ends is still graded: questions answered before that point count.

What is not defended (the grader is not a sandbox)
    It runs the learner's code with the grader's own rights. That code can call the package's
    reference implementations (``aibook.numpy_nn``, PyTorch) and get full marks without writing
    the answer; read the grader's environment variables and any file its user can read; change
    files its user can write (the installed question bank included); use the network; write to
    the grader's terminal through /proc; or kill the grader process (then that run stops).
    To isolate it, run the grader in a throw-away container or VM without network, as an
    unprivileged user who cannot write the package, with a clean environment and CPU, memory and
    process limits, e.g. ``docker run --rm --network none --user 1000 --memory 4g --cpus 2
    --pids-limit 256 -v "$PWD/submissions:/in:ro" IMAGE python -m aibook.grader /in/*.ipynb --json``,
    and read the code (or use a plagiarism checker) where a grade matters.

Why our own grader
    otter-grader 7 pulls about 96 packages (570 MB, a browser driver included) and restricts its
    use on Colab; nbgrader does not run on Colab. This grader needs only nbclient (notebook
    execution, kernel management, timeouts), which the book already uses, and the standard
    library (the modules of ``aibook.grader``), and the learner-facing checks work on Colab.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from aibook.device import limit_threads_of_child_processes
from aibook.grader.session import NotebookGrade, grade_safely, kernel_env_path, shorten


def grade_all(paths: list[str], jobs: int, timeout: float = 300, call_timeout: float = 10,
              seed: int = 0) -> Iterator[NotebookGrade]:
    """Grade ``paths`` with ``jobs`` worker processes; yield the grades in the order given."""
    kernel_env_path()  # the workers inherit PATH, so their kernels are this venv's
    limit_threads_of_child_processes(1)  # one thread per kernel: --jobs kernels share the cores
    if jobs <= 1 or len(paths) <= 1:
        for path in paths:
            yield grade_safely(path, timeout, call_timeout, seed)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(paths)), mp_context=context) as pool:
        futures = [pool.submit(grade_safely, p, timeout, call_timeout, seed) for p in paths]
        for path, future in zip(paths, futures, strict=True):
            try:
                yield future.result()
            except Exception as exc:  # a worker process died
                yield NotebookGrade(path, error=f"its grading process failed ({type(exc).__name__})"
                                                ": grade it alone with --jobs 1")


def format_grade(grade: NotebookGrade) -> str:
    """A readable block for one submission: total, then one line per question."""
    lines = [f"{grade.notebook}: {grade.score}/{grade.max_score} points ({grade.seconds:.1f} s)"]
    if grade.stopped:
        lines.append(f"  note: {grade.stopped}")
    for q in grade.questions:
        text = "" if q.passed else f"  {shorten(q.message, 160)}"
        lines.append(f"  {q.id:<5} {q.name:<18} {q.points:>3}/{q.max_points:<3}{text}")
    return "\n".join(lines)


def write_csv(path: Path, grades: list[NotebookGrade]) -> None:
    """One row per submission, one column per question, then total, max_score and error."""
    ids: list[str] = []
    for grade in grades:
        ids += [q.id for q in grade.questions if q.id not in ids]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["notebook", *ids, "total", "max_score", "error"])
        for grade in grades:
            points = {q.id: q.points for q in grade.questions}
            writer.writerow([grade.notebook, *(points.get(i, "") for i in ids), grade.score,
                             grade.max_score, grade.error or ""])


def _positive(kind: type) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value
    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m aibook.grader",
        description="Grade exercise notebooks: run each in a fresh kernel and test its answers.")
    parser.add_argument("submissions", nargs="+", help="the learners' .ipynb files")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per submission per line")
    parser.add_argument("--csv", type=Path, metavar="FILE",
                        help="also write one row per submission, one column per question")
    parser.add_argument("--timeout", type=_positive(float), default=300.0, metavar="SECONDS",
                        help="time for running one submission's cells (default 300)")
    parser.add_argument("--call-timeout", type=_positive(float), default=10.0, metavar="SECONDS",
                        help="time for one test's calls of an answer (default 10)")
    parser.add_argument("--jobs", type=_positive(int), default=os.cpu_count() or 1,
                        help="submissions graded in parallel (default: one per CPU core)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the test inputs (default: a new one each run)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    jobs = min(args.jobs, len(args.submissions))
    start = time.monotonic()
    grades = []
    try:
        for grade in grade_all(args.submissions, jobs, args.timeout, args.call_timeout, seed):
            grades.append(grade)
            if grade.error:
                print(f"error: {grade.notebook}: {grade.error}", file=sys.stderr, flush=True)
            if args.json:
                print(json.dumps(grade.to_json()), flush=True)
            elif not grade.error:
                print(format_grade(grade), flush=True)
    except KeyboardInterrupt:
        print(f"interrupted after grading {len(grades)} submissions", file=sys.stderr)
        return 130
    if args.csv:
        try:
            write_csv(args.csv, grades)
        except OSError as exc:
            print(f"error: cannot write {args.csv} ({exc.strerror}): choose another --csv file",
                  file=sys.stderr)
            return 2
    graded = sum(g.error is None for g in grades)
    count = f"{graded}" if graded == len(grades) else f"{graded} of {len(grades)}"
    plural = "" if len(grades) == 1 else "s"
    print(f"graded {count} submission{plural} in {time.monotonic() - start:.1f} s with {jobs} "
          f"job{'' if jobs == 1 else 's'} (test inputs: --seed {seed})", file=sys.stderr)
    return 0 if graded == len(grades) else 1


if __name__ == "__main__":
    raise SystemExit(main())
