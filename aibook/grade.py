"""Grade exercise notebooks: ``python -m aibook.grade SUBMISSION.ipynb ... [--json] [--csv FILE]``.

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
    compares the values with the reference computed in the grader process (``aibook.grading``).
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
    --pids-limit 256 -v "$PWD/submissions:/in:ro" IMAGE python -m aibook.grade /in/*.ipynb --json``,
    and read the code (or use a plagiarism checker) where a grade matters.

Why our own grader
    otter-grader 7 pulls about 96 packages (570 MB, a browser driver included) and restricts its
    use on Colab; nbgrader does not run on Colab. This grader needs only nbclient (notebook
    execution, kernel management, timeouts), which the book already uses, and the standard
    library: two modules of about 500 lines (this one and ``aibook.grading``), and the learner-
    facing checks work on Colab.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import math
import multiprocessing
import os
import secrets
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_core.utils import ensure_event_loop
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import run_sync

from aibook.exercises import banks, chapter_of
from aibook.grading import (
    Call,
    Outcome,
    Question,
    QuestionResult,
    Test,
    evaluation_code,
    evaluation_request,
    read_outcomes,
    run_question,
)
from aibook.nbrun import kernel_env_path

MAX_RESTARTS = 3  # fresh kernels per submission after the first one died


@dataclass
class NotebookGrade:
    """The grade of one submission; ``error`` is set when it could not be graded at all."""

    notebook: str
    score: int = 0
    max_score: int = 0
    questions: list[QuestionResult] = field(default_factory=list)
    error: str | None = None
    stopped: str | None = None  # why the run stopped before the last cell, if it did
    seconds: float = 0.0

    def to_json(self) -> dict:
        """The line ``--json`` prints for this submission."""
        return {"notebook": self.notebook, "score": self.score, "max_score": self.max_score,
                "questions": [q.to_json() for q in self.questions], "error": self.error}


@dataclass
class _Stop:
    """Where and why a run through the learner's cells stopped early."""

    index: int
    reason: str

    def describe(self) -> str:
        return f"the notebook stopped at cell {self.index + 1} ({self.reason})"


class _Client(NotebookClient):
    """nbclient's client, keeping the outputs of the grader's evaluation cell only."""

    keep_outputs_of = -1

    def output(self, outs, msg, display_id, cell_index):
        if cell_index != self.keep_outputs_of:
            return None
        return super().output(outs, msg, display_id, cell_index)


class _Session:
    """One submission's kernel: runs its cells like "Run All" and sends evaluation cells."""

    def __init__(self, nb: nbformat.NotebookNode, workdir: str) -> None:
        self.nb = nb
        self.workdir = workdir
        self.scratch = len(nb.cells)  # the evaluation cell sits after the learner's cells
        nb.cells.append(nbformat.v4.new_code_cell(""))
        self.client: _Client | None = None
        self.stack = ExitStack()
        self.alive = False
        self.starts = 0

    def start(self) -> None:
        """Start a fresh kernel in the work directory; its stdout and stderr are discarded."""
        self.close()
        self.client = _Client(self.nb, kernel_name="python3", force_raise_errors=True,
                              record_timing=False, shutdown_kernel="immediate",
                              startup_timeout=60, resources={"metadata": {"path": self.workdir}})
        self.client.keep_outputs_of = self.scratch
        self.starts += 1
        self.stack.enter_context(self.client.setup_kernel(
            cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL))
        self.alive = True

    def close(self) -> None:
        """Shut the kernel down (kill it)."""
        self.stack.close()
        self.alive = False

    def run_cells(self, end: int, budget: float) -> _Stop | None:
        """Run code cells [0, end) in order within ``budget`` seconds; where it stopped, if early."""
        deadline = time.monotonic() + budget
        for index in range(end):
            cell = self.nb.cells[index]
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                return _Stop(index, f"timed out after {budget:g} s")
            try:
                self._execute(cell, index, left)
            except CellTimeoutError:
                self._settle()
                return _Stop(index, f"timed out after {budget:g} s")
            except DeadKernelError:
                self.alive = False
                return _Stop(index, "the kernel died: os._exit(), a crash or out of memory?")
            except CellExecutionError as exc:
                return _Stop(index, _one_line(f"{exc.ename}: {exc.evalue}"))
        return None

    def evaluate(self, code: str, timeout: float) -> list[dict] | str:
        """Run one evaluation cell; its outputs, or why there are none."""
        cell = self.nb.cells[self.scratch]
        cell.source, cell.outputs = code, []
        try:
            self._execute(cell, self.scratch, timeout, store_history=False)
        except CellTimeoutError:
            self._settle()
            return f"timed out after {timeout:g} s"
        except DeadKernelError:
            self.alive = False
            return "the kernel died while running it (os._exit(), a crash or out of memory?)"
        except CellExecutionError as exc:
            return _one_line(f"the evaluation could not run: {exc.ename}: {exc.evalue}")
        return list(cell.outputs)

    def _execute(self, cell: nbformat.NotebookNode, index: int, timeout: float,
                 store_history: bool = True) -> None:
        assert self.client is not None
        self.client.timeout = max(1, math.ceil(timeout))
        self.client.execute_cell(cell, index, store_history=store_history)

    def _settle(self) -> None:
        """After a timeout: interrupt the kernel; if it does not answer within 3 s, kill it."""
        assert self.client is not None and self.client.km is not None
        _cancel_stray_tasks()
        try:
            run_sync(self.client.km.interrupt_kernel)()
            probe = self._probe()
        except Exception:
            probe = False
        if not probe:
            self.close()

    def _probe(self) -> bool:
        """Whether the kernel runs a trivial cell within 3 s."""
        cell = self.nb.cells[self.scratch]
        cell.source, cell.outputs = "pass", []
        try:
            self._execute(cell, self.scratch, 3, store_history=False)
        except CellTimeoutError:
            _cancel_stray_tasks()
            return False
        except (DeadKernelError, CellExecutionError):
            return False
        return True


def _cancel_stray_tasks() -> None:
    """Cancel what nbclient leaves running after a cell timeout (its output and liveness pollers).

    Left alone, the output poller of the timed-out cell keeps reading the kernel's messages and
    swallows the outputs of the next cells.
    """
    loop = ensure_event_loop()
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


def _one_line(text: str, limit: int = 240) -> str:
    lines = text.strip().splitlines()
    first = lines[0] if lines else ""
    return first if len(first) <= limit else first[: limit - 3] + "..."


def _read_notebook(data: bytes) -> tuple[nbformat.NotebookNode | None, str]:
    """The parsed notebook, or None and why it is not one."""
    try:
        text = data.decode("utf-8")
        raw = json.loads(text)
    except UnicodeDecodeError:
        return None, "not a Jupyter notebook (not UTF-8 text): submit the .ipynb file"
    except json.JSONDecodeError as exc:
        return None, (f"not a Jupyter notebook (invalid or truncated JSON at line {exc.lineno}): "
                      "submit the complete .ipynb file")
    if not (isinstance(raw, dict) and isinstance(raw.get("cells"), list)
            and isinstance(raw.get("nbformat"), int)):
        return None, "not a Jupyter notebook (JSON without cells): submit the .ipynb file"
    try:
        with warnings.catch_warnings():  # nbformat warns about old or slightly invalid files
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
        for cell in nb.cells:
            if not (isinstance(cell.source, str) and isinstance(cell.metadata, dict)):
                raise ValueError("a cell has no text or metadata")
            if cell.cell_type == "code":
                cell.setdefault("outputs", [])
    except Exception as exc:
        why = f"a cell has no {exc.args[0]!r}" if isinstance(exc, (KeyError, AttributeError)) \
            else _one_line(str(exc), 120)
        return None, f"not a readable Jupyter notebook ({why}): submit the .ipynb file"
    return nb, ""


def _answer_cells(nb: nbformat.NotebookNode) -> dict[str, int]:
    """Question id -> index of its (first) answer cell."""
    found: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("aibook")
        qid = meta.get("question") if isinstance(meta, dict) else None
        if isinstance(qid, str) and qid not in found:
            found[qid] = index
    return found


def grade_notebook(path: str | Path, timeout: float = 300, call_timeout: float = 10,
                   seed: int = 0) -> NotebookGrade:
    """Grade one submission (see the module docstring); never raises for a bad submission."""
    start = time.monotonic()
    grade = _grade(Path(path), timeout, call_timeout, seed)
    grade.seconds = time.monotonic() - start
    return grade


def _grade(path: Path, timeout: float, call_timeout: float, seed: int) -> NotebookGrade:
    name = str(path)
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # nbclient's leftovers after timeouts
    try:
        data = path.read_bytes()
    except OSError as exc:
        return NotebookGrade(name, error=f"cannot read it ({exc.strerror or exc})")
    nb, why = _read_notebook(data)
    if nb is None:
        return NotebookGrade(name, error=why)
    answers = _answer_cells(nb)
    chapters = sorted({c for c in map(chapter_of, answers) if c in banks()})
    questions = [q for c in chapters for q in banks()[c]]
    if not questions:
        return NotebookGrade(name, error=(
            "no questions found: answer cells need the metadata {\"aibook\": {\"question\": "
            "\"4.1\"}}; start from the notebook in exercises/"))
    grade = NotebookGrade(name, max_score=sum(q.points for q in questions))
    kernel_env_path()
    with tempfile.TemporaryDirectory(prefix="aibook-grade-") as workdir:
        copy = Path(workdir) / (path.name if path.suffix == ".ipynb" else "submission.ipynb")
        copy.write_bytes(data)
        nb, _ = _read_notebook(copy.read_bytes())
        assert nb is not None
        session = _Session(nb, workdir)
        try:
            session.start()
        except Exception as exc:
            grade.error = (f"could not start the python3 kernel ({_one_line(str(exc), 120)}): "
                           "install ipykernel in this environment")
            return grade
        try:
            _run_and_evaluate(session, grade, questions, answers, timeout, call_timeout, seed)
        finally:
            session.close()
    return grade


def _run_and_evaluate(session: _Session, grade: NotebookGrade, questions: list[Question],
                      answers: dict[str, int], timeout: float, call_timeout: float,
                      seed: int) -> None:
    n_cells = session.scratch
    stop = session.run_cells(n_cells, timeout)

    def revive() -> str:
        """Fresh kernel, replay the cells before the stop; '' or why the kernel is gone."""
        nonlocal stop
        if session.starts > MAX_RESTARTS:
            return f"not graded: gave up after {session.starts} fresh kernels"
        try:
            session.start()
        except Exception as exc:
            return f"not graded: could not restart the kernel ({_one_line(str(exc), 120)})"
        end = stop.index if stop else n_cells
        replay = session.run_cells(end, timeout)
        if replay:
            stop = _Stop(replay.index, f"replaying it in a fresh kernel: {replay.reason}")
        return ""

    if stop and not session.alive and stop.index > 0:
        revive()

    for question in questions:
        where = answers.get(question.id)
        if stop and (where is None or where >= stop.index):
            cell = "no answer cell" if where is None else f"its answer is in cell {where + 1}"
            grade.questions.append(QuestionResult(
                question.id, question.name, 0, question.points,
                f"not graded: {stop.describe()}; {cell}"))
            continue

        killed: list[str] = []  # set when a test of this question left the kernel dead

        def run(test: Test, calls: list[Call], question: Question = question,
                where: int | None = where, killed: list[str] = killed) -> list[Outcome] | str:
            if killed:
                return f"not run: an earlier test of {question.id} killed or hung the kernel"
            if not session.alive and (why := revive()):
                return why
            if stop and (where is None or where >= stop.index):
                return f"not graded: {stop.describe()}"
            nonce = secrets.token_hex(8)
            request = evaluation_request(calls, nonce, test.unmodified)
            outputs = session.evaluate(evaluation_code(question.name, request, nonce), call_timeout)
            if not session.alive:
                killed.append(question.id)
            if isinstance(outputs, str):
                return outputs
            return read_outcomes(outputs, nonce, len(calls))

        grade.questions.append(run_question(question, run, seed))
    grade.score = sum(q.points for q in grade.questions)
    grade.stopped = stop.describe() if stop else None


def _grade_safely(path: str, timeout: float, call_timeout: float, seed: int) -> NotebookGrade:
    """``grade_notebook`` that turns an unexpected grader failure into a one-line error."""
    try:
        return grade_notebook(path, timeout, call_timeout, seed)
    except Exception as exc:
        return NotebookGrade(str(path), error=f"grader error ({_one_line(repr(exc), 160)}): "
                                              "please report it with this notebook")


def grade_all(paths: list[str], jobs: int, timeout: float = 300, call_timeout: float = 10,
              seed: int = 0) -> Iterator[NotebookGrade]:
    """Grade ``paths`` with ``jobs`` worker processes; yield the grades in the order given."""
    kernel_env_path()  # the workers inherit PATH, so their kernels are this venv's
    if jobs <= 1 or len(paths) <= 1:
        for path in paths:
            yield _grade_safely(path, timeout, call_timeout, seed)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(paths)), mp_context=context) as pool:
        futures = [pool.submit(_grade_safely, p, timeout, call_timeout, seed) for p in paths]
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
        text = "" if q.passed else f"  {_one_line(q.message, 160)}"
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
        prog="python -m aibook.grade",
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
