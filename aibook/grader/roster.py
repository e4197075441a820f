"""The roster join: which student a submission belongs to, from the id the learner stamped
(``STUDENT_ID`` cell), the layout of a Gradescope, Canvas or Moodle export, folder names and the
roster's ``file`` column; ambiguity is an error naming both sides, never a silent guess."""

from __future__ import annotations

import ast
import csv
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path


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
    lms: dict[str, str] = field(default_factory=dict)  # what the LMS export says: outranks the stamp


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
                claim.students[sid] = claim.lms[sid] = f"Gradescope export {top} (sid {sid})"
        if isinstance(entry, dict) and entry.get(":created_at"):
            claim.when, claim.export = _timestamp(entry[":created_at"], claim.when), True
    if canvas := _CANVAS.match(p.name):
        student = by_lms.get(canvas["user"])
        if student:
            claim.students[student.student_id] = claim.lms[student.student_id] = \
                f"Canvas file name (user {canvas['user']})"
        claim.when, claim.export = claim.when + int(canvas["submission"]) * 1e-9, True
    try:
        parts = p.resolve().relative_to(common).parts[:-1]
    except ValueError:
        parts = p.parts[:-1]
    for part in parts:
        if moodle := _MOODLE.match(part):
            student = by_lms.get(moodle["participant"]) or by_name.get(moodle["name"].casefold())
            if student:
                claim.students[student.student_id] = claim.lms[student.student_id] = f"Moodle folder {part!r}"
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
        if len(claim.lms) == 1 and len(claim.students) > 1:  # the LMS, not the stamp, says who submitted
            (sid, why), = claim.lms.items()
            others = " and ".join(f"{by_id[i].label} ({w})" for i, w in claim.students.items() if i != sid)
            warnings.append(f"{path}: graded as {by_id[sid].label} ({why}), not {others}")
            claim.students = dict(claim.lms)
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


