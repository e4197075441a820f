"""What the grader writes for people and platforms besides its own table: Gradescope's
``results.json``, one feedback file per submission (what ``check`` shows, never the reference
solution) and a roster join (file name or notebook metadata -> student id and name)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from aibook.grader.banks import banks, find_question
from aibook.grader.check import format_result
from aibook.grader.questions import QuestionResult
from aibook.grader.session import NotebookGrade

# ---------------------------------------------------------------------------------------------
# Gradescope


def gradescope_results(grades: list[NotebookGrade], chapter: int | None = None,
                       note: str = "") -> dict:
    """Gradescope's results.json: total score and one entry per test (name, score, max_score,
    output, visibility). With ``chapter``, every question of it is listed, submitted or not."""
    tests: list[dict] = []
    seen: set[str] = set()
    notes = [note] if note else []
    for grade in grades:
        if grade.error:
            notes.append(f"{Path(grade.notebook).name}：无法评分（could not be graded）：{grade.error}")
            continue
        if grade.stopped:
            notes.append(f"{Path(grade.notebook).name}：运行停在（the notebook stopped at）{grade.stopped}")
        for result in grade.questions:
            if result.id in seen or (chapter is not None and not result.id.startswith(f"{chapter}.")):
                continue
            seen.add(result.id)
            tests += _question_entries(result)
    for question in banks().get(chapter, ()) if chapter is not None else ():
        if question.id not in seen:
            tests.append({"name": f"{question.id} {question.name}", "number": question.id,
                          "score": 0, "max_score": question.points, "visibility": "visible",
                          "output": f"未提交（not submitted）：没有找到第 {question.id} 题的答案单元格"})
    tests.sort(key=lambda t: [int(p) for p in t["number"].split(".")])
    return {"score": sum(t["score"] for t in tests), "tests": tests, "visibility": "visible",
            "stdout_visibility": "hidden", "output": "\n".join(notes)}


def _question_entries(result: QuestionResult) -> list[dict]:
    """Per-test entries of one question; one entry for the question when no test ran."""
    if not result.tests:
        return [{"name": f"{result.id} {result.name}", "number": result.id, "score": result.points,
                 "max_score": result.max_points, "output": result.message, "visibility": "visible"}]
    return [{"name": f"{result.id} {result.name}: {t.name}", "number": f"{result.id}.{i}",
             "score": t.points, "max_score": t.max_points, "visibility": "visible",
             "output": "通过（passed）" if t.passed else t.message}
            for i, t in enumerate(result.tests, 1)]


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


def write_feedback(folder: Path, grades: list[NotebookGrade], students: dict[str, Student]) -> list[Path]:
    """One ``<notebook>.md`` per submission in ``folder`` (names made unique); the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for grade in grades:
        stem = Path(grade.notebook).stem
        path, n = folder / f"{stem}.md", 1
        while path in written:
            n += 1
            path = folder / f"{stem}-{n}.md"
        student = students.get(grade.notebook)
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
        rows = [Student(r["student_id"].strip(), r["name"].strip(), (r.get("file") or "").strip())
                for r in reader if (r.get("student_id") or "").strip()]
    ids = [s.student_id for s in rows]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: a student_id appears twice")
    return rows


def notebook_student_id(path: str) -> str:
    """The id in the notebook's metadata ``{"aibook": {"student_id": ...}}``, or ''."""
    try:
        meta = json.loads(Path(path).read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError, AttributeError):
        return ""
    value = meta.get("aibook", {}).get("student_id", "") if isinstance(meta.get("aibook"), dict) else ""
    return str(value).strip()


def match_roster(paths: list[str], roster: list[Student]) -> dict[str, Student]:
    """Submission path -> roster row, by file name first, then by the notebook's student_id."""
    by_file = {s.file: s for s in roster if s.file}
    by_id = {s.student_id: s for s in roster}
    found: dict[str, Student] = {}
    for path in paths:
        student = by_file.get(Path(path).name) or by_id.get(notebook_student_id(path))
        if student is not None:
            found[path] = student
    return found
