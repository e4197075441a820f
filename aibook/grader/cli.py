"""Grade exercise notebooks: ``python -m aibook.grader SUBMISSION.ipynb ... [--json] [--csv FILE]``.

How a submission is graded
    The file is read once and copied into a private scratch folder; the copy runs there in a new
    ``python3`` kernel (nbclient), every code cell in order with its own time limit
    (``--cell-timeout``, all together ``--timeout``): an error, a timeout or a dead kernel is
    recorded for that cell and the next one runs (after a dead kernel, in a fresh kernel that replays
    the cells that worked). The learner's ``check`` calls are skipped. Then, for every question of
    the chapters whose answer cells (metadata ``{"aibook": {"question": "4.1"}}``) it holds, the
    grader draws test inputs in its own process and sends the kernel a small self-contained
    evaluation cell: it calls the answer by name (``--call-timeout`` per test; a test that hangs ends
    that question), drops what it prints, and publishes the returned values as plain JSON tagged with
    a random nonce. The grader compares them with the reference computed in its own process
    (``aibook.grader.questions``). The submission file is never modified. ``--jobs`` submissions
    (default: one per CPU core) are graded in parallel, each in its own kernel.

What is defended
    See ``aibook.grader.sandbox`` and the README: as root, the kernel runs as a system user of its
    own grading slot, cannot read the banks or answer keys (a stub ``aibook.grader``; a mount
    namespace where possible), write the grader's files, results or other submissions, or signal the
    grader, and everything it started is killed when the notebook ends. Answers that use the
    grader's references or the library's own answer are flagged and score 0. The grader hashes its
    package at the start and checks it before writing any result. Without root the learner's code
    runs with the grader's rights, and the first line of output says so.

Why our own grader
    otter-grader 7 pulls about 96 packages (570 MB, a browser driver included) and restricts its
    use on Colab; nbgrader does not run on Colab. This grader needs only nbclient (notebook
    execution, kernel management, timeouts), which the book already uses, and the standard
    library (the modules of ``aibook.grader``), and the learner-facing checks work on Colab.
"""

# Over 300 lines on purpose: the options, the grading loop and the output stage share the parsed
# arguments and are read together.

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
from datetime import UTC, datetime
from pathlib import Path

from aibook.device import limit_threads_of_child_processes
from aibook.grader import sandbox
from aibook.grader.banks import banks, chapter_of
from aibook.grader.integrity import similar_pairs
from aibook.grader.reports import (
    Policy,
    gradescope_results,
    parse_visibility,
    submission_time,
    write_feedback,
    write_gradescope,
    write_lms_grades,
)
from aibook.grader.roster import Student, match_roster, read_roster
from aibook.grader.session import NotebookGrade, answer_sources, grade_safely, kernel_env_path, shorten

NOTHING = "没有找到提交的 .ipynb 文件（no notebook submitted）：请上传练习笔记本"
TAMPERED = ("error: the grader's own files changed while it ran (aibook/grader): no result written; "
            "reinstall the package and grade again")


def grade_all(paths: list[str], jobs: int, timeout: float = 300, call_timeout: float = 10,
              seed: int = 0, cell_timeout: float = 60, chapter: int | None = None) -> Iterator[NotebookGrade]:
    """Grade ``paths`` with ``jobs`` worker processes; yield the grades in the order given."""
    kernel_env_path()  # the workers inherit PATH, so their kernels are this venv's
    limit_threads_of_child_processes(1)  # one thread per kernel: --jobs kernels share the cores
    batch = tuple(paths)
    if jobs <= 1 or len(paths) <= 1:
        for path in paths:
            yield grade_safely(path, timeout, call_timeout, seed, cell_timeout, batch, chapter)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(paths)), mp_context=context) as pool:
        futures = [pool.submit(grade_safely, p, timeout, call_timeout, seed, cell_timeout, batch, chapter)
                   for p in paths]
        for path, future in zip(paths, futures, strict=True):
            try:
                yield future.result()
            except Exception as exc:  # a worker process died
                yield NotebookGrade(path, error=f"its grading process failed ({type(exc).__name__})"
                                                ": grade it alone with --jobs 1")


def printable(name: str) -> str:
    """A file name as one line of text: a name with a newline or other control character (chosen by a
    student, in an LMS export) is shown quoted and escaped, so it cannot start a forged line."""
    return name if name.isprintable() else ascii(name)


def spreadsheet_safe(text: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (a file name such as '=HYPERLINK(...)')."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def format_grade(grade: NotebookGrade) -> str:
    """A readable block for one submission: total, then one line per question."""
    lines = [f"{printable(grade.notebook)}: {grade.score}/{grade.max_score} points ({grade.seconds:.1f} s)"]
    if grade.stopped:
        lines.append(f"  note: {grade.stopped}")
    for q in grade.questions:
        text = "" if q.passed else f"  {shorten(q.message, 160)}"
        lines.append(f"  {q.id:<5} {q.name:<18} {q.points:>3}/{q.max_points:<3}{text}")
    return "\n".join(lines)


def write_csv(path: Path, grades: list[NotebookGrade], roster: list[Student] | None = None,
              students: dict[str, Student] | None = None) -> None:
    """One row per submission, one column per question, then total, max_score and error; with a
    roster, student_id and name first and a row for every student without a submission."""
    ids: list[str] = []
    for grade in grades:
        ids += [q.id for q in grade.questions if q.id not in ids]
    students = students or {}
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        who = ["student_id", "name"] if roster is not None else []
        writer.writerow([*who, "notebook", *ids, "total", "max_score", "error", "flags"])
        for grade in grades:
            points = {q.id: q.points for q in grade.questions}
            student = students.get(grade.notebook)
            person = [student.student_id, student.name] if student else ["", ""]
            writer.writerow([*person[: len(who)], spreadsheet_safe(grade.notebook),
                             *(points.get(i, "") for i in ids), grade.score, grade.max_score,
                             grade.error or "", spreadsheet_safe("; ".join(grade.flags))])
        submitted = {s.student_id for s in students.values()}
        for student in roster or []:
            if student.student_id not in submitted:
                writer.writerow([student.student_id, student.name, "", *("" for _ in ids), 0, "",
                                 "no submission", ""])


def write_similarity(path: Path, submissions: list[str]) -> None:
    """question, submission, other (a submission or the library's answer), similarity: the pairs
    at or above 0.8, most alike first."""
    answers = {p: answer_sources(p) for p in submissions}
    chapters = sorted({c for a in answers.values() for q in a if (c := chapter_of(q)) is not None})
    questions = [q for c in chapters for q in banks().get(c, ())]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["question", "submission", "other", "similarity"])
        for pair in similar_pairs(answers, questions):
            writer.writerow([pair.question, pair.first, pair.other, f"{pair.score:.3f}"])


def read_shards(files: list[Path]) -> list[NotebookGrade]:
    """The grades in the ``--json`` output of several shard runs, sorted by notebook (as one run
    over the sorted paths gives them); a notebook graded twice is an error."""
    grades: dict[str, NotebookGrade] = {}
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            data = json.loads(line)
            data.pop("student_id", None), data.pop("name", None)
            if data["notebook"] in grades:
                raise ValueError(f"{file}:{number}: {data['notebook']} was graded in two shards")
            grades[data["notebook"]] = NotebookGrade.from_json(data)
    return [grades[k] for k in sorted(grades)]


def shard(paths: list[str], index: int, count: int) -> list[str]:
    """Slice ``index`` (1-based) of ``count``: every ``count``-th path of the sorted list, so each
    machine of a job array picks its own share without talking to the others."""
    return sorted(paths)[index - 1::count]


def _shard(text: str) -> tuple[int, int]:
    index, _, count = text.partition("/")
    if not (index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
        raise argparse.ArgumentTypeError(f"expected I/N with 1 <= I <= N, got {text!r}")
    return int(index), int(count)


def _policy(args: argparse.Namespace) -> tuple[Policy, datetime | None]:
    submitted, due = submission_time(args.metadata) if args.metadata else (None, None)
    if args.due:
        due = datetime.fromisoformat(args.due)
        due = due if due.tzinfo else due.replace(tzinfo=UTC)
    if not 0 <= args.late_penalty <= 1:
        raise ValueError(f"--late-penalty must be between 0 and 1, got {args.late_penalty}")
    policy = Policy(parse_visibility(args.visibility), due, args.late_penalty)
    return policy, submitted or (datetime.now(UTC) if due else None)


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
        description="Grade exercise notebooks: run each in a fresh kernel and test its answers. "
                    "`python -m aibook.grader merge SHARD.jsonl ...` joins the --json outputs of "
                    "--shard runs into one run's CSV and JSON.")
    parser.add_argument("submissions", nargs="*", help="the learners' .ipynb files")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per submission per line")
    parser.add_argument("--csv", type=Path, metavar="FILE",
                        help="also write one row per submission, one column per question")
    parser.add_argument("--timeout", type=_positive(float), default=300.0, metavar="SECONDS",
                        help="time for running one submission's cells (default 300)")
    parser.add_argument("--cell-timeout", type=_positive(float), default=60.0, metavar="SECONDS",
                        help="time for one cell of the notebook (default 60)")
    parser.add_argument("--call-timeout", type=_positive(float), default=10.0, metavar="SECONDS",
                        help="time for one test's calls of an answer (default 10)")
    parser.add_argument("--similarity", type=Path, metavar="CSV",
                        help="write the pairs of answers that look alike (between submissions and "
                             "with the library's answer) for a person to read")
    parser.add_argument("--jobs", type=_positive(int), default=os.cpu_count() or 1,
                        help="submissions graded in parallel (default: one per CPU core)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the test inputs (default: a new one each run)")
    parser.add_argument("--roster", type=Path, metavar="CSV",
                        help="student_id,name[,file] per student: joins the grades by file name, "
                             "else by the notebook metadata aibook.student_id")
    parser.add_argument("--feedback", type=Path, metavar="DIR",
                        help="write one Markdown file per submission: what check() shows, per test")
    parser.add_argument("--gradescope", type=Path, metavar="FILE",
                        help="write Gradescope's results.json (all submissions as one student's)")
    parser.add_argument("--chapter", type=int, default=None,
                        help="grade this chapter's questions only (default: the chapter most of a "
                             "notebook's answer cells belong to); with --gradescope, list all of them")
    parser.add_argument("--visibility", default="", metavar="4.6=hidden,...",
                        help="with --gradescope: per question visible, hidden, after_due_date or "
                             "after_published (default visible)")
    parser.add_argument("--due", metavar="ISO-DATE", help="due date, e.g. 2026-12-01T23:59+08:00 "
                        "(on Gradescope read from --metadata)")
    parser.add_argument("--late-penalty", type=float, default=0.0, metavar="FRACTION",
                        help="score lost per started day late, e.g. 0.1 (default 0)")
    parser.add_argument("--metadata", type=Path, metavar="JSON",
                        help="Gradescope's submission_metadata.json: submission time and due date")
    parser.add_argument("--canvas", type=Path, metavar="CSV", help="with --roster: a Canvas gradebook import")
    parser.add_argument("--moodle", type=Path, metavar="CSV", help="with --roster: a Moodle grade import")
    parser.add_argument("--assignment", default="exercises", help="the gradebook column (default exercises)")
    parser.add_argument("--shard", type=_shard, metavar="I/N",
                        help="grade only slice I of N (1-based), the same slice on every machine")
    args = parser.parse_args(argv)
    try:
        policy, submitted = _policy(args)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if (args.canvas or args.moodle) and not args.roster:
        parser.error("--canvas and --moodle need --roster")
    if args.shard:
        args.submissions = shard(args.submissions, *args.shard)
    merged: list[NotebookGrade] | None = None
    if args.submissions[:1] == ["merge"]:  # python -m aibook.grader merge shard-*.jsonl ...
        try:
            merged = read_shards([Path(p) for p in args.submissions[1:]])
        except (OSError, ValueError, KeyError) as exc:
            print(f"error: cannot merge: {exc}: give the files that --json wrote", file=sys.stderr)
            return 2
        args.submissions = [g.notebook for g in merged]
    elif not args.submissions and not args.gradescope:
        parser.error("no submissions given: name the .ipynb files to grade")
    try:
        roster = read_roster(args.roster) if args.roster else None
    except (OSError, ValueError) as exc:
        print(f"error: cannot read the roster: {exc}", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    jobs = max(1, min(args.jobs, len(args.submissions)))
    students = match_roster(args.submissions, roster) if roster else {}
    if roster:
        for line in students.errors:
            print(f"error: roster: {line}", file=sys.stderr)
        if students.errors:
            print("error: nothing graded: every submission must match exactly one student",
                  file=sys.stderr)
            return 2
        for line in students.warnings:
            print(f"warning: roster: {line}", file=sys.stderr)
        args.submissions = [p for p in args.submissions if p not in students.superseded]
    warnings = sandbox.warnings_for([Path(p) for p in args.submissions])
    for line in warnings:
        print(line, file=sys.stderr, flush=True)
    digest = sandbox.package_digest()
    start = time.monotonic()
    grades = []
    try:
        results = iter(merged) if merged is not None else grade_all(
            args.submissions, jobs, args.timeout, args.call_timeout, seed, args.cell_timeout, args.chapter)
        for grade in results:
            if sandbox.package_digest() != digest:
                print(TAMPERED, file=sys.stderr)
                return 3
            grades.append(grade)
            if grade.error:
                print(f"error: {printable(grade.notebook)}: {grade.error}", file=sys.stderr, flush=True)
            if args.json:
                line = grade.to_json()
                if roster is not None:
                    student = students.get(grade.notebook)
                    line = {"student_id": student.student_id if student else None,
                            "name": student.name if student else None, **line}
                print(json.dumps(line, ensure_ascii=False), flush=True)
            elif not grade.error:
                print(format_grade(grade), flush=True)
    except KeyboardInterrupt:
        print(f"interrupted after grading {len(grades)} submissions", file=sys.stderr)
        return 130
    for path in args.submissions:
        if roster is not None and path not in students:
            print(f"warning: {path} is not on the roster (no matching file or student_id)",
                  file=sys.stderr)
    if sandbox.package_digest() != digest:
        print(TAMPERED, file=sys.stderr)
        return 3
    outputs = [(args.csv, "--csv", lambda: write_csv(args.csv, grades, roster, students)),
               (args.similarity, "--similarity", lambda: write_similarity(args.similarity, args.submissions)),
               (args.feedback, "--feedback", lambda: write_feedback(args.feedback, grades, students)),
               (args.gradescope, "--gradescope", lambda: write_gradescope(args.gradescope, gradescope_results(
                   grades, args.chapter, "\n".join([*warnings, NOTHING if not grades else ""]).strip(),
                   policy, submitted))),
               (args.canvas, "--canvas", lambda: write_lms_grades(
                   args.canvas, "canvas", grades, students, roster or [], args.assignment)),
               (args.moodle, "--moodle", lambda: write_lms_grades(
                   args.moodle, "moodle", grades, students, roster or [], args.assignment))]
    for target, option, write in outputs:
        if target is None:
            continue
        try:
            write()
        except OSError as exc:
            print(f"error: cannot write {target} ({exc.strerror}): choose another {option}",
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
