"""What the grader writes for people and platforms besides its own table: Gradescope's
``results.json`` (with the course's policy: visibility, late penalty), one feedback file per
submission (what ``check`` shows, never the reference solution) and Canvas/Moodle gradebooks."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aibook.grader.banks import banks, find_question
from aibook.grader.check import format_result
from aibook.grader.questions import QuestionResult
from aibook.grader.roster import Student
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
    score = total if factor == 1 else round(total * factor, 2)
    return {"score": score, "tests": tests, "visibility": "visible",
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
