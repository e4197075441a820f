"""Grading one submission: run a copy in a fresh kernel, every cell with its own time limit (an error
is recorded, not fatal), as an unprivileged identity in a private scratch folder
(``aibook.grader.sandbox``); then call each answer from outside the learner's code and compare in
this process (see ``aibook.grader.cli``)."""

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
import time
import warnings
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client import AsyncKernelManager
from jupyter_core.utils import ensure_event_loop
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import run_sync

from aibook.grader import sandbox
from aibook.grader.banks import banks, chapter_of
from aibook.grader.integrity import static_flags, watch_keys
from aibook.grader.protocol import RESULT_MIME, evaluation_code, evaluation_request, read_outcomes
from aibook.grader.questions import Call, Outcome, Question, QuestionResult, Test, run_question

MAX_RESTARTS = 3  # fresh kernels per submission after the first one died
MAX_RESULTS_KEPT = 3  # outputs of one evaluation cell kept (one is expected; more fail the test)
MAX_NOTEBOOK_BYTES = 50 * 2**20  # a submission larger than this is refused before it is read
MAX_CELL_OUTPUT = 100_000  # characters a cell may print (per stream) or display; the rest stays in the kernel
# Run in every fresh kernel before the learner's cells. Output beyond the cap is dropped inside the
# kernel, never sent: nbclient waits only 4 s (iopub_timeout) for a cell's output after the kernel's
# reply and then drops the rest, so a backlog of printed megabytes on a slow machine used to swallow
# the grader's result of a later evaluation (issue 27: 50 MB printed per call cost a right answer).
_CAP_OUTPUT = """\
def _aibook_cap_output(limit, result_mime):
    import contextlib
    import sys
    from ipykernel.iostream import OutStream
    from ipykernel.zmqshell import ZMQDisplayPublisher
    used = {}

    def count(key, size):  # how much this cell's stream or displays had sent before
        if len(used) > 256:
            used.clear()
        before = used.get(key, 0)
        used[key] = before + size
        return before

    write = OutStream.write

    # counted where the text is written, not where the I/O thread sends it every 0.2 s: a loop that
    # prints faster than that would fill the kernel's memory before the first send
    def capped_write(self, string):
        if not isinstance(string, str):
            return write(self, string)
        before = count((self.name, self.parent_header.get("msg_id")), len(string))
        if before + len(string) <= limit:
            return write(self, string)
        if before <= limit:
            write(self, string[: limit - before] + f"\\n[over {limit} characters: the rest is dropped]\\n")
        return len(string)

    publish = ZMQDisplayPublisher.publish

    def capped_publish(self, data, *args, **kwargs):
        if isinstance(data, dict) and result_mime not in data:
            size = sum(len(str(v)) for v in data.values())
            if count(("display", self.parent_header.get("msg_id")), size) + size > limit:
                return None
        return publish(self, data, *args, **kwargs)

    # IPython's own tee keeps every string a cell prints in its history, without a limit, and writes
    # through a method it bound before the cap existed: each cell writes through the class instead
    @contextlib.contextmanager
    def tee(channel):
        getattr(sys, channel).__dict__.pop("write", None)
        yield

    OutStream.write = capped_write
    ZMQDisplayPublisher.publish = capped_publish
    get_ipython()._tee = tee
"""


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
    stopped: str | None = None  # the cells that failed or timed out, in one line, if any did
    seconds: float = 0.0
    cell_errors: dict[int, str] = field(default_factory=dict)  # cell index -> what went wrong
    notebook_flags: list[str] = field(default_factory=list)  # for a person to look at, no points lost

    @property
    def flags(self) -> list[str]:
        """``"4.4: reason"`` for every flagged answer, ``"notebook: reason"`` for the rest."""
        return ([f"{q.id}: {reason}" for q in self.questions for reason in q.flags]
                + [f"notebook: {reason}" for reason in self.notebook_flags])

    @classmethod
    def from_json(cls, data: dict) -> NotebookGrade:
        """Back from ``to_json``: the JSON lines of sharded runs are merged through it."""
        from aibook.grader.banks import find_question

        questions = []
        for q in data.get("questions", []):
            question = find_question(q["id"])
            questions.append(QuestionResult.from_json(q, question.name if question else ""))
        notebook_flags = [f.removeprefix("notebook: ") for f in data.get("flags", [])
                          if f.startswith("notebook: ")]
        grade = cls(data["notebook"], int(data["score"]), int(data["max_score"]), questions,
                    data.get("error"), seconds=float(data.get("execution_time", 0.0)),
                    notebook_flags=notebook_flags,
                    cell_errors={int(k) - 1: v for k, v in data.get("cell_errors", {}).items()})
        if grade.cell_errors:
            grade.stopped = describe_cell_errors(grade.cell_errors)
        return grade

    def to_json(self) -> dict:
        """The line ``--json`` prints for this submission."""
        return {"notebook": self.notebook, "score": self.score, "max_score": self.max_score,
                "questions": [q.to_json() for q in self.questions], "error": self.error,
                "flags": self.flags, "cell_errors": {str(i + 1): why for i, why in self.cell_errors.items()},
                "execution_time": round(self.seconds, 2)}


class _Client(NotebookClient):
    """nbclient's client: of the learner's cells it keeps no output (their errors are recorded);
    of the grader's evaluation cell only its results and errors, at most ``MAX_RESULTS_KEPT``."""

    keep_outputs_of = -1

    def output(self, outs, msg, display_id, cell_index):
        if cell_index != self.keep_outputs_of or len(outs) >= MAX_RESULTS_KEPT:
            return None
        content = msg.get("content", {})
        if msg["msg_type"] == "display_data" and RESULT_MIME in content.get("data", {}):
            return super().output(outs, msg, display_id, cell_index)
        if msg["msg_type"] == "error":
            return super().output(outs, msg, display_id, cell_index)
        return None  # printed text, images: dropped, so a printing answer costs nothing else


class _KernelManager(AsyncKernelManager):
    """The kernel started behind the sandbox's prefix (namespace, limits, identity), with its
    connection file in the scratch folder, readable by that identity."""

    aibook_prefix: list[str] = []
    aibook_identity: sandbox.Identity | None = None

    def format_kernel_cmd(self, extra_arguments=None):
        return [*self.aibook_prefix, *super().format_kernel_cmd(extra_arguments)]

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        if self.aibook_identity is not None:
            os.chown(self.connection_file, self.aibook_identity.uid, self.aibook_identity.gid)


class _Session:
    """One submission's kernel: runs its cells and sends evaluation cells."""

    def __init__(self, nb: nbformat.NotebookNode, workdir: Path,
                 identity: sandbox.Identity | None, hide: list[Path]) -> None:
        self.nb = nb
        self.workdir = workdir
        self.identity = identity
        self.hide = hide
        self.scratch = len(nb.cells)  # the evaluation cell sits after the learner's cells
        nb.cells.append(nbformat.v4.new_code_cell(""))
        self.client: _Client | None = None
        self.stack = ExitStack()
        self.alive = False
        self.starts = 0

    def start(self) -> None:
        """Start a fresh kernel in the scratch folder; its stdout and stderr are discarded."""
        self.close()
        self.client = _Client(self.nb, kernel_name="python3", force_raise_errors=True,
                              record_timing=False, shutdown_kernel="immediate",
                              startup_timeout=60, kernel_manager_class=_KernelManager,
                              resources={"metadata": {"path": str(self.workdir)}})
        self.client.keep_outputs_of = self.scratch
        km = self.client.create_kernel_manager()
        # in the root-owned folder around the scratch folder: a link the learner's code left in its own
        # folder must never redirect a file that root writes
        km.connection_file = str(self.workdir.parent / f"kernel-{self.starts}.json")
        km.aibook_prefix = sandbox.kernel_prefix(self.identity, self.hide)
        km.aibook_identity = self.identity
        self.starts += 1
        self.stack.enter_context(self.client.setup_kernel(
            cwd=str(self.workdir), env=sandbox.kernel_environment(self.workdir),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.alive = True
        cell = self.nb.cells[self.scratch]
        cell.outputs = []
        cell.source = (f"{_CAP_OUTPUT}\n_aibook_cap_output({MAX_CELL_OUTPUT}, {RESULT_MIME!r})\n"
                       "del _aibook_cap_output\n")
        self._execute(cell, self.scratch, 60, store_history=False)  # raises if the kernel is unusable

    def stop_background(self) -> None:
        """Kill what the learner's cells left running beside the kernel, before the answers are
        called: a spinning child must not slow the grading of this or a concurrent submission."""
        process = getattr(getattr(self.client, "km", None), "provisioner", None)
        pid = getattr(getattr(process, "process", None), "pid", None)
        if self.identity is not None and self.alive and pid is not None:
            sandbox.kill_all_but(self.identity, pid)

    def close(self) -> None:
        """Shut the kernel down (kill it) and everything it started."""
        try:
            self.stack.close()
        finally:
            self.alive = False
            if self.identity is not None:
                sandbox.kill_all(self.identity)

    def run_one(self, index: int, timeout: float) -> str:
        """Run code cell ``index``; '' or what went wrong (the kernel may be dead afterwards)."""
        try:
            self._execute(self.nb.cells[index], index, timeout)
        except CellTimeoutError:
            self._settle()
            return f"timed out after {timeout:g} s"
        except DeadKernelError:
            self.alive = False
            return "the kernel died: os._exit(), a crash or out of memory?"
        except CellExecutionError as exc:
            if exc.ename == "MemoryError":  # what it allocated may stay referenced and starve later answers
                self.close()
                return shorten(f"MemoryError: {exc.evalue}").rstrip(": ") + " (graded on in a fresh kernel)"
            return shorten(f"{exc.ename}: {exc.evalue}")
        return ""

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


class _Runner:
    """Runs every code cell once with its own time limit; a cell that kills the kernel gets a fresh
    kernel in which the cells before it that worked are replayed. ``errors``: cell -> reason."""

    def __init__(self, session: _Session, budget: float, cell_timeout: float) -> None:
        self.session = session
        self.deadline = time.monotonic() + budget
        self.budget = budget
        self.cell_timeout = cell_timeout
        self.errors: dict[int, str] = {}
        self.done: list[int] = []  # cells that ran without error, in order

    def _left(self) -> float:
        return self.deadline - time.monotonic()

    def _code_cells(self, end: int) -> list[int]:
        return [i for i in range(end) if self.session.nb.cells[i].cell_type == "code"
                and self.session.nb.cells[i].source.strip()]

    def run_all(self) -> None:
        cells = self._code_cells(self.session.scratch)
        for n, index in enumerate(cells):
            if self._left() <= 0:
                for rest in cells[n:]:
                    self.errors[rest] = f"not run: the notebook's {self.budget:g} s were used up"
                return
            why = self.session.run_one(index, min(self.cell_timeout, self._left()))
            if why:
                self.errors[index] = why
            else:
                self.done.append(index)
            if not self.session.alive and (gone := self.revive()):
                for rest in cells[n + 1:]:
                    self.errors[rest] = f"not run: {gone}"
                return

    def revive(self) -> str:
        """A fresh kernel with the cells that worked replayed; '' or why there is none."""
        session = self.session
        if session.starts > MAX_RESTARTS:
            return f"gave up after {session.starts} fresh kernels"
        try:
            session.start()
        except Exception as exc:
            return f"could not restart the kernel ({shorten(str(exc), 120)})"
        for index in list(self.done):
            why = session.run_one(index, max(1.0, min(self.cell_timeout, self._left())))
            if why:
                self.done.remove(index)
                self.errors[index] = f"replaying it in a fresh kernel: {why}"
            if not session.alive:
                return self.revive()
        return ""


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


def describe_cell_errors(errors: dict[int, str]) -> str:
    """One line: ``cell 3: SyntaxError: ...; cell 5: timed out after 60 s``."""
    return shorten("; ".join(f"cell {i + 1}: {why}" for i, why in errors.items()), 400)


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
    except RecursionError:
        return None, "not a Jupyter notebook (JSON nested too deeply): submit the .ipynb file"
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
        qid = _question_of(cell)
        if qid is not None and qid not in found:
            found[qid] = index
    return found


def answer_sources(path: str | Path) -> dict[str, str]:
    """Question id -> source of its answer cell, read without running anything ({} if unreadable)."""
    try:
        nb, _ = _read_notebook(Path(path).read_bytes())
    except OSError:
        return {}
    if nb is None:
        return {}
    return {qid: nb.cells[i].source for qid, i in _answer_cells(nb).items()}


def _question_of(cell: nbformat.NotebookNode) -> str | None:
    meta = cell.metadata.get("aibook")
    qid = meta.get("question") if isinstance(meta, dict) else None
    return qid if isinstance(qid, str) else None


def grade_notebook(path: str | Path, timeout: float = 300, call_timeout: float = 10,
                   seed: int = 0, cell_timeout: float = 60, others: tuple[str, ...] = (),
                   chapter: int | None = None) -> NotebookGrade:
    """Grade one submission (see the module docstring); never raises for a bad submission.
    ``others``: the batch's other submissions, hidden from this one's kernel where possible.
    ``chapter``: the assignment; without it, the chapter most of its answer cells belong to."""
    start = time.monotonic()
    grade = _grade(Path(path), timeout, call_timeout, seed, cell_timeout, others, chapter)
    grade.seconds = time.monotonic() - start
    return grade


def _grade(path: Path, timeout: float, call_timeout: float, seed: int, cell_timeout: float,
           others: tuple[str, ...], chapter: int | None) -> NotebookGrade:
    name = str(path)
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # nbclient's leftovers after timeouts
    try:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            return NotebookGrade(name, error=(
                f"the notebook is {size / 2**20:.0f} MB, over the grader's {MAX_NOTEBOOK_BYTES // 2**20} MB: "
                "clear its outputs (Edit → Clear Outputs of All Cells), save and submit it again"))
        data = path.read_bytes()
    except OSError as exc:
        return NotebookGrade(name, error=f"cannot read it ({exc.strerror or exc})")
    nb, why = _read_notebook(data)
    if nb is None:
        return NotebookGrade(name, error=why)
    answers = _answer_cells(nb)
    present = Counter(c for c in map(chapter_of, answers) if c in banks())
    if chapter is None and present:  # the chapter most answer cells belong to (ties: the first)
        chapter = max(sorted(present), key=present.__getitem__)
    if chapter not in present:
        found = f" (it has answer cells of chapter {', '.join(map(str, sorted(present)))})" if present else ""
        return NotebookGrade(name, error=(
            f"no answer cells of chapter {chapter}{found}: submit that chapter's exercise notebook"
            if chapter is not None else
            "no questions found: answer cells need the metadata {\"aibook\": {\"question\": "
            "\"4.1\"}}; start from the notebook in exercises/"))
    questions = list(banks()[chapter])
    grade = NotebookGrade(name, max_score=sum(q.points for q in questions))
    kernel_env_path()
    slot = sandbox.Slot() if sandbox.isolation().users else None
    identity = slot.identity if slot else None
    scratch = sandbox.Scratch(identity)
    try:
        copy = scratch.work / (path.name if path.suffix == ".ipynb" else "submission.ipynb")
        copy.write_bytes(data)
        if identity is not None:
            os.chown(copy, identity.uid, identity.gid)
        keep = [scratch.root, sandbox.kernel_library(), Path(sys.prefix), Path(sys.base_prefix),
                Path(sys.executable).resolve().parent]
        hide = sandbox.folders_to_hide([path, *map(Path, others)], keep)
        session = _Session(nb, scratch.work, identity, hide)
        try:
            session.start()
        except Exception as exc:
            grade.error = (f"could not start the python3 kernel ({shorten(str(exc), 120)}): "
                           "install ipykernel in this environment"
                           + (f", readable by the user {identity.name}" if identity else ""))
            return grade
        try:
            _run_and_evaluate(session, grade, questions, answers, timeout, call_timeout, seed,
                              cell_timeout)
        finally:
            session.close()
    finally:
        try:
            if slot is not None:
                slot.release()
        finally:
            scratch.remove()  # even when releasing the slot failed
    cells = [(_question_of(c), c.source) for c in nb.cells[:-1] if c.cell_type == "code"]
    found = static_flags(cells, questions)
    for question in grade.questions:
        for reason in found.get(question.id, ()):
            question.flag(reason)
    grade.notebook_flags = found.get("notebook", [])
    grade.notebook_flags += [f"answer cells of chapter {c} not graded: this is chapter {chapter}'s assignment"
                             for c in sorted(set(present) - {chapter})]
    grade.score = sum(q.points for q in grade.questions)
    return grade


def _run_and_evaluate(session: _Session, grade: NotebookGrade, questions: list[Question],
                      answers: dict[str, int], timeout: float, call_timeout: float,
                      seed: int, cell_timeout: float) -> None:
    runner = _Runner(session, timeout, cell_timeout)
    runner.run_all()
    session.stop_background()
    grade.cell_errors = dict(sorted(runner.errors.items()))
    if grade.cell_errors:
        grade.stopped = describe_cell_errors(grade.cell_errors)

    for question in questions:
        where = answers.get(question.id)
        killed: list[str] = []  # set when a test of this question left the kernel dead
        library: set[str] = set()

        def run(test: Test, calls: list[Call], question: Question = question,
                killed: list[str] = killed, library: set[str] = library) -> list[Outcome] | str:
            if killed:
                return f"not run: an earlier test of {question.id} killed or hung the kernel"
            if not session.alive and (why := runner.revive()):
                return f"not graded: {why}"
            nonce = secrets.token_hex(8)
            request = evaluation_request(calls, nonce, test.unmodified, watch_keys(question), quiet=True)
            outputs = session.evaluate(evaluation_code(question.name, request, nonce), call_timeout)
            if not session.alive or (isinstance(outputs, str) and outputs.startswith("timed out")):
                killed.append(question.id)  # one endless loop costs one call time limit, not one per test
            if isinstance(outputs, str):
                return outputs
            outcomes = read_outcomes(outputs, nonce, len(calls))
            if not isinstance(outcomes, str):
                for outcome in outcomes:
                    library.update(outcome.library)
            return outcomes

        result = run_question(question, run, seed)
        if where is not None and where in runner.errors:
            result.message = f"its answer cell {where + 1} failed ({runner.errors[where]}); {result.message}"
        for key in sorted(library):
            result.flag(f"calls the library's answer {key.replace('.py:', '.')} while it runs")
        grade.questions.append(result)
    grade.score = sum(q.points for q in grade.questions)


def grade_safely(path: str, timeout: float, call_timeout: float, seed: int, cell_timeout: float = 60,
                 others: tuple[str, ...] = (), chapter: int | None = None) -> NotebookGrade:
    """``grade_notebook`` that turns an unexpected grader failure into a one-line error."""
    try:
        return grade_notebook(path, timeout, call_timeout, seed, cell_timeout, others, chapter)
    except Exception as exc:
        return NotebookGrade(str(path), error=f"grader error ({shorten(repr(exc), 160)}): "
                                              "please report it with this notebook")
