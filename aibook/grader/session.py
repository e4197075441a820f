"""Grading one submission: run a copy in a fresh kernel like "Run All", then call each answer
from outside the learner's code and compare in this process (see ``aibook.grader.cli``)."""

# Over 300 lines on purpose: the kernel session, its restarts and the replay after a crash share
# state and are read together.

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import secrets
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_core.utils import ensure_event_loop
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import run_sync

from aibook.grader.banks import banks, chapter_of
from aibook.grader.protocol import evaluation_code, evaluation_request, read_outcomes
from aibook.grader.questions import Call, Outcome, Question, QuestionResult, Test, run_question

MAX_RESTARTS = 3  # fresh kernels per submission after the first one died


def kernel_env_path() -> None:
    """Put this interpreter's folder first on PATH so the 'python3' kernel is this venv's."""
    bindir = str(Path(sys.executable).parent)
    if not os.environ.get("PATH", "").startswith(bindir + os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


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
                return _Stop(index, shorten(f"{exc.ename}: {exc.evalue}"))
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
            return shorten(f"the evaluation could not run: {exc.ename}: {exc.evalue}")
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


def shorten(text: str, limit: int = 240) -> str:
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
            else shorten(str(exc), 120)
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
            grade.error = (f"could not start the python3 kernel ({shorten(str(exc), 120)}): "
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
            return f"not graded: could not restart the kernel ({shorten(str(exc), 120)})"
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


def grade_safely(path: str, timeout: float, call_timeout: float, seed: int) -> NotebookGrade:
    """``grade_notebook`` that turns an unexpected grader failure into a one-line error."""
    try:
        return grade_notebook(path, timeout, call_timeout, seed)
    except Exception as exc:
        return NotebookGrade(str(path), error=f"grader error ({shorten(repr(exc), 160)}): "
                                              "please report it with this notebook")


