"""What the grader writes for people and platforms besides its own table: Gradescope's
``results.json``, one feedback file per submission (what ``check`` shows, never the reference
solution) and a roster join (file name or notebook metadata -> student id and name)."""

from __future__ import annotations

import ast
import csv
import json
import math
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aibook.grader.banks import banks, find_question
from aibook.grader.check import format_result
from aibook.grader.questions import QuestionResult
from aibook.grader.session import NotebookGrade

# ---------------------------------------------------------------------------------------------
# Gradescope


VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


@dataclass(frozen=True)
class Policy:
    """A course's choices: per-question visibility on Gradescope (``{"4.7": "hidden"}``), the due
    date and the late penalty (fraction of the score per started day, capped at 1)."""

    visibility: dict[str, str] = field(default_factory=dict)
    due: datetime | None = None
    late_penalty_per_day: float = 0.0

    def late_factor(self, submitted: datetime | None) -> tuple[float, str]:
        """Factor on the score and a note, from when the work was submitted."""
        if self.due is None or submitted is None or submitted <= self.due:
            return 1.0, ""
        days = math.ceil((submitted - self.due).total_seconds() / 86400)
        factor = max(0.0, 1.0 - self.late_penalty_per_day * days)
        return factor, (f"迟交 {days} 天（late by {days} day{'s' if days > 1 else ''}）："
                        f"得分乘以 {factor:g}（late penalty）")


def parse_visibility(text: str) -> dict[str, str]:
    """``4.6=hidden,4.7=after_due_date`` -> {"4.6": "hidden", "4.7": "after_due_date"}."""
    found = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        qid, _, value = part.partition("=")
        if value not in VISIBILITIES:
            raise ValueError(f"{part!r}: the visibility must be one of {', '.join(VISIBILITIES)}")
        found[qid.strip()] = value
    return found


def submission_time(metadata: Path) -> tuple[datetime | None, datetime | None]:
    """(submitted at, due date) from Gradescope's ``submission_metadata.json``."""
    data = json.loads(metadata.read_text(encoding="utf-8"))
    assignment = data.get("assignment") or {}
    return (_datetime(data.get("created_at")), _datetime(assignment.get("due_date")))


def _datetime(value) -> datetime | None:
    if not value:
        return None
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def gradescope_results(grades: list[NotebookGrade], chapter: int | None = None,
                       note: str = "", policy: Policy | None = None,
                       submitted: datetime | None = None) -> dict:
    """Gradescope's results.json: total score and one entry per test (name, score, max_score,
    output, visibility), ``execution_time`` and the flags. With ``chapter``, every test of every
    question of it is listed, submitted or not, so all students have the same list of tests."""
    policy = policy or Policy()
    tests: list[dict] = []
    seen: set[str] = set()
    notes = [note] if note else []
    for grade in grades:
        if grade.error:
            notes.append(f"{Path(grade.notebook).name}：无法评分（could not be graded）：{grade.error}")
            continue
        if grade.stopped:
            notes.append(f"{Path(grade.notebook).name}：出错的格子（cells that failed）：{grade.stopped}")
        notes += [f"需要人工查看（flagged）：{flag}" for flag in grade.flags]
        for result in grade.questions:
            if result.id in seen or (chapter is not None and not result.id.startswith(f"{chapter}.")):
                continue
            seen.add(result.id)
            tests += _question_entries(result)
    for question in banks().get(chapter, ()) if chapter is not None else ():
        if question.id not in seen:
            missing = f"未提交（not submitted）：没有找到第 {question.id} 题的答案单元格"
            tests += _question_entries(QuestionResult(question.id, question.name, 0, question.points,
                                                      missing))
    for test in tests:
        test["visibility"] = policy.visibility.get(test["number"].rsplit(".", 1)[0], "visible")
    tests.sort(key=lambda t: [int(p) for p in t["number"].split(".")])
    total = sum(t["score"] for t in tests)
    factor, late = policy.late_factor(submitted)
    if late:
        notes.append(late)
    return {"score": round(total * factor, 2), "tests": tests, "visibility": "visible",
            "stdout_visibility": "hidden", "execution_time": math.ceil(sum(g.seconds for g in grades)),
            "output": "\n".join(notes)}


def _question_entries(result: QuestionResult) -> list[dict]:
    """One entry per test of the question's bank, whether or not it ran (0 points and the
    question's message when it did not)."""
    question = find_question(result.id)
    names = [t.name for t in question.tests] if question else []
    ran = {t.name: t for t in result.tests}
    if not names:
        return [{"name": f"{result.id} {result.name}", "number": f"{result.id}.1", "score": result.points,
                 "max_score": result.max_points, "output": result.message}]
    entries = []
    for i, test in enumerate(question.tests, 1):
        done = ran.get(test.name)
        output = (result.message if done is None else "通过（passed）" if done.passed else done.message)
        if result.flags:
            output = result.message
        entries.append({"name": f"{result.id} {result.name}: {test.name}", "number": f"{result.id}.{i}",
                        "score": done.points if done else 0, "max_score": test.points, "output": output})
    return entries


def write_gradescope(path: Path, results: dict) -> None:
    """Write results.json (UTF-8, Chinese kept readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Feedback files


def feedback_text(grade: NotebookGrade, student: str = "") -> str:
    """Markdown for one submission: per question exactly the report ``check`` prints."""
    title = f"# {Path(grade.notebook).name}" + (f"（{student}）" if student else "")
    if grade.error:
        return f"{title}\n\n无法评分（could not be graded）：{grade.error}\n"
    lines = [title, "", f"**得分 Total：{grade.score}/{grade.max_score} 分**", ""]
    if grade.stopped:
        lines += [f"注意（note）：笔记本运行停在 {grade.stopped}", ""]
    lines.append("评分器用新的随机输入重新运行了每一项测试（the grader draws new test inputs）。")
    for result in grade.questions:
        question = find_question(result.id)
        if question is not None:
            lines += ["", "```text", format_result(question, result), "```"]
    return "\n".join(lines) + "\n"


def write_feedback(folder: Path, grades: list[NotebookGrade], students) -> list[Path]:
    """One ``<notebook>.md`` per submission in ``folder`` (names made unique); the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for grade in grades:
        student = students.get(grade.notebook)
        stem = Path(grade.notebook).stem
        stem = f"{student.student_id}_{stem}" if student else stem  # never another student's name
        path, n = folder / f"{stem}.md", 1
        while path in written:
            n += 1
            path = folder / f"{stem}-{n}.md"
        path.write_text(feedback_text(grade, student.label if student else ""), encoding="utf-8")
        written.append(path)
    return written


# ---------------------------------------------------------------------------------------------
# Roster


@dataclass(frozen=True)
class Student:
    """One roster row."""

    student_id: str
    name: str
    file: str = ""
    lms_id: str = ""  # Canvas user id or Moodle participant id, for their export file names

    @property
    def label(self) -> str:
        return f"{self.name} {self.student_id}".strip()


def read_roster(path: Path) -> list[Student]:
    """Rows of a roster CSV with the columns student_id, name and optionally file (a file name)."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = {"student_id", "name"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: the roster needs the columns student_id and name "
                             f"(missing: {', '.join(sorted(missing))})")
        rows = [Student(r["student_id"].strip(), r["name"].strip(), (r.get("file") or "").strip(),
                        (r.get("lms_id") or "").strip())
                for r in reader if (r.get("student_id") or "").strip()]
    ids = [s.student_id for s in rows]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: a student_id appears twice")
    return rows


def notebook_student_id(path: str) -> str:
    """The id the learner stamped: ``STUDENT_ID = "..."`` in the exercise notebook's stamp cell (any
    code cell assigning it), else the notebook metadata ``{"aibook": {"student_id": ...}}``, or ''."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
        cells, meta = nb.get("cells", []), nb.get("metadata", {})
    except (OSError, ValueError, AttributeError):
        return ""
    for cell in cells if isinstance(cells, list) else ():
        if not (isinstance(cell, dict) and cell.get("cell_type") == "code"):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if "STUDENT_ID" not in source:
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            targets = [getattr(t, "id", "") for t in getattr(node, "targets", ())]
            if (isinstance(node, ast.Assign) and targets == ["STUDENT_ID"]
                    and isinstance(node.value, ast.Constant) and str(node.value.value).strip()):
                return str(node.value.value).strip()
    value = meta.get("aibook", {}).get("student_id", "") if isinstance(meta.get("aibook"), dict) else ""
    return str(value).strip()


# Canvas "Download submissions": login[_LATE]_userid_submissionid_original name (the ids are Canvas's)
_CANVAS = re.compile(r"^(?P<login>[^_]+)(?P<late>_LATE)?_(?P<user>\d+)_(?P<submission>\d+)_.+$")
# Moodle "Download all submissions": one folder "Full Name_participantid_assignsubmission_file_"
_MOODLE = re.compile(r"^(?P<name>.+)_(?P<participant>\d+)_assignsubmission_file_?$")


@dataclass
class Claim:
    """Who a submission says it belongs to, and from where; ``when`` orders resubmissions."""

    students: dict[str, str]  # student_id -> why (which key matched)
    when: float = 0.0
    export: bool = False  # an LMS export names one submission per attempt: several = resubmissions


@dataclass
class RosterMatch:
    """Submission path -> student; errors (nothing may be graded), warnings and the older
    submissions that a student's latest replaced."""

    students: dict[str, Student]
    errors: list[str]
    warnings: list[str]
    superseded: list[str]

    def get(self, path: str) -> Student | None:
        return self.students.get(path)

    def values(self):
        return self.students.values()

    def __contains__(self, path: object) -> bool:
        return path in self.students


def _gradescope_export(path: Path) -> tuple[dict, Path] | None:
    """The ``submission_metadata.yml`` of a Gradescope export above ``path``, and its folder."""
    for folder in path.resolve().parents:
        meta = folder / "submission_metadata.yml"
        if meta.is_file():
            try:
                import yaml

                return yaml.safe_load(meta.read_text(encoding="utf-8")) or {}, folder
            except (OSError, ValueError, ImportError):
                return None
    return None


def _claim(path: str, roster: list[Student], common: Path) -> Claim:
    """Every roster student this submission points at: stamped id, export metadata, folder names."""
    by_id = {s.student_id: s for s in roster}
    by_name = {s.name.casefold(): s for s in roster if s.name}
    by_lms = {s.lms_id: s for s in roster if s.lms_id}
    claim = Claim({})
    p = Path(path)
    try:
        claim.when = p.stat().st_mtime
    except OSError:
        pass
    stamped = notebook_student_id(path)
    if stamped in by_id:
        claim.students[stamped] = f"STUDENT_ID {stamped!r} in the notebook"
    export = _gradescope_export(p)
    if export is not None:
        meta, folder = export
        top = p.resolve().relative_to(folder).parts[0]
        entry = meta.get(top) if isinstance(meta, dict) else None
        for submitter in (entry or {}).get(":submitters", []) if isinstance(entry, dict) else ():
            sid = str(submitter.get(":sid", "")).strip()
            if sid in by_id:
                claim.students[sid] = f"Gradescope export {top} (sid {sid})"
        if isinstance(entry, dict) and entry.get(":created_at"):
            claim.when, claim.export = _timestamp(entry[":created_at"], claim.when), True
    if canvas := _CANVAS.match(p.name):
        student = by_lms.get(canvas["user"])
        if student:
            claim.students[student.student_id] = f"Canvas file name (user {canvas['user']})"
        claim.when, claim.export = claim.when + int(canvas["submission"]) * 1e-9, True
    try:
        parts = p.resolve().relative_to(common).parts[:-1]
    except ValueError:
        parts = p.parts[:-1]
    for part in parts:
        if moodle := _MOODLE.match(part):
            student = by_lms.get(moodle["participant"]) or by_name.get(moodle["name"].casefold())
            if student:
                claim.students[student.student_id] = f"Moodle folder {part!r}"
        elif part in by_id:
            claim.students[part] = f"folder {part!r}"
        elif part.casefold() in by_name:
            claim.students[by_name[part.casefold()].student_id] = f"folder {part!r}"
    return claim


def _timestamp(value, default: float) -> float:
    from datetime import datetime

    try:
        if hasattr(value, "timestamp"):
            return value.timestamp()
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return default


def match_roster(paths: list[str], roster: list[Student]) -> RosterMatch:
    """Submission path -> roster row, read from the stamped id, the export layout (Gradescope,
    Canvas, Moodle), a folder named by id or name, then the roster's ``file`` column.

    A submission that points at two students, a ``file`` that names several submissions, or two
    submissions of one student outside an LMS export is an error naming both; several submissions
    of one student in an LMS export: the latest is graded, with a warning."""
    by_id = {s.student_id: s for s in roster}
    folders = {Path(p).resolve().parent for p in paths}
    # the export's top folder: below it, folder names may name students (one folder: its parent)
    common = Path(os.path.commonpath([str(f) for f in folders])) if folders else Path(".")
    if len(folders) == 1:
        common = common.parent
    errors: list[str] = []
    warnings: list[str] = []
    claims = {path: _claim(path, roster, common) for path in paths}
    for path, claim in claims.items():
        if not claim.students:
            matches = [s for s in roster if s.file and s.file in (Path(path).name, _relative(path, common))]
            for student in matches:
                claim.students[student.student_id] = f"roster file {student.file!r}"
        if len(claim.students) > 1:
            who = " and ".join(f"{by_id[i].label} ({why})" for i, why in claim.students.items())
            errors.append(f"{path} matches two students: {who}; fix the roster or the notebook's STUDENT_ID")
    found: dict[str, Student] = {}
    superseded: list[str] = []
    for student in roster:
        mine = [p for p, c in claims.items() if list(c.students) == [student.student_id]]
        if len(mine) > 1 and all(claims[p].export for p in mine):
            mine.sort(key=lambda p: claims[p].when)
            warnings.append(f"{student.label}: {len(mine)} submissions; grading the latest, {mine[-1]} "
                            f"(not {', '.join(mine[:-1])})")
            superseded += mine[:-1]
            mine = mine[-1:]
        elif len(mine) > 1:
            why = "; ".join(f"{p} ({claims[p].students[student.student_id]})" for p in mine)
            errors.append(f"{student.label} is matched by {len(mine)} submissions: {why}; "
                          "keep one, or stamp STUDENT_ID in each")
            continue
        if mine:
            found[mine[0]] = student
    return RosterMatch(found, errors, warnings, superseded)


def _relative(path: str, common: Path) -> str:
    try:
        return Path(path).resolve().relative_to(common).as_posix()
    except ValueError:
        return Path(path).name


# ---------------------------------------------------------------------------------------------
# Gradebook imports of the learning-management systems


def write_lms_grades(path: Path, lms: str, grades: list[NotebookGrade], students, roster: list[Student],
                     assignment: str) -> None:
    """A gradebook file that Canvas (``Student,ID,SIS User ID,...``, then the assignment column)
    or Moodle (``ID number,Full name,<assignment>``, mapped on import) reads; every roster student
    gets a row, 0 without a submission."""
    score = {students.get(g.notebook).student_id: g.score for g in grades if students.get(g.notebook)}
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        if lms == "canvas":
            writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
            for s in roster:
                writer.writerow([s.name, s.lms_id, s.student_id, "", "", score.get(s.student_id, 0)])
        else:
            writer.writerow(["ID number", "Full name", assignment])
            for s in roster:
                writer.writerow([s.student_id, s.name, score.get(s.student_id, 0)])
