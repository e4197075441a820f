"""Rosters that cannot misassign (issue 27, item 4): export layouts of Gradescope, Canvas and
Moodle, folders named by student, the STUDENT_ID stamp of the exercise notebooks; ambiguity is an
error naming both sides, resubmissions in an export keep the latest with a warning."""

from __future__ import annotations

import json
import os
from pathlib import Path

from aibook.booktools.exercise_notebooks import STUDENT_ID_CELL
from aibook.grader import cli
from aibook.grader.reports import write_feedback
from aibook.grader.roster import match_roster, notebook_student_id, read_roster
from aibook.grader.session import NotebookGrade

ROSTER = "student_id,name,file,lms_id\n2024001,Alice,ch04.ipynb,501\n2024002,Bob,ch04.ipynb,502\n"


def notebook(path: Path, student_id: str = "", mtime: float | None = None) -> str:
    """A submission file; ``student_id`` stamped the way the exercise notebooks ask for."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = STUDENT_ID_CELL.replace('""', json.dumps(student_id), 1)
    path.write_text(json.dumps({"metadata": {}, "nbformat": 4, "nbformat_minor": 5, "cells": [
        {"cell_type": "code", "source": stamp, "metadata": {}, "outputs": []}]}))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return str(path)


def roster(tmp_path: Path, text: str = ROSTER):
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return read_roster(path)


def names(match) -> dict[str, str]:
    return {Path(p).parent.name + "/" + Path(p).name: s.name for p, s in match.students.items()}


def test_the_stamp_is_read_from_the_exercise_cell(tmp_path):
    assert notebook_student_id(notebook(tmp_path / "a.ipynb", "2024001")) == "2024001"
    assert notebook_student_id(notebook(tmp_path / "b.ipynb")) == ""


def test_folder_per_student_with_the_same_file_name(tmp_path):
    """The case of the issue: one folder per student, ch04.ipynb in each, the roster's file column
    naming ch04.ipynb for both. Before: Bob got both rows and Alice 'no submission'."""
    people = roster(tmp_path)
    alice = notebook(tmp_path / "export" / "2024001" / "ch04.ipynb")
    bob = notebook(tmp_path / "export" / "Bob" / "ch04.ipynb")
    match = match_roster([alice, bob], people)
    assert match.errors == [] and names(match) == {"2024001/ch04.ipynb": "Alice", "Bob/ch04.ipynb": "Bob"}
    # folders that name nobody: the file column alone cannot tell them apart, so it is an error
    x, y = notebook(tmp_path / "e2" / "x" / "ch04.ipynb"), notebook(tmp_path / "e2" / "y" / "ch04.ipynb")
    match = match_roster([x, y], people)
    assert match.students == {} and len(match.errors) == 2
    assert all("Alice 2024001" in e and "Bob 2024002" in e for e in match.errors), match.errors


def test_one_submission_matching_two_students_is_an_error_naming_both(tmp_path):
    people = roster(tmp_path)
    forged = notebook(tmp_path / "export" / "2024002" / "ch04.ipynb", student_id="2024001")
    match = match_roster([forged], people)
    assert match.students == {} and len(match.errors) == 1
    assert "Alice 2024001" in match.errors[0] and "Bob 2024002" in match.errors[0]


def test_two_submissions_stamped_alike_are_an_error(tmp_path):
    people = roster(tmp_path, ROSTER.replace("ch04.ipynb", ""))
    a = notebook(tmp_path / "a.ipynb", "2024001")
    b = notebook(tmp_path / "b.ipynb", "2024001")
    match = match_roster([a, b], people)
    assert match.students == {} and a in match.errors[0] and b in match.errors[0]


def test_canvas_resubmissions_keep_the_latest_with_a_warning(tmp_path):
    people = roster(tmp_path)
    old = notebook(tmp_path / "alice_501_9001_ch04.ipynb", mtime=1_000)
    new = notebook(tmp_path / "alice_LATE_501_9002_ch04-1.ipynb", mtime=2_000)
    bob = notebook(tmp_path / "bob_502_9003_ch04.ipynb")
    match = match_roster([old, new, bob], people)
    assert match.errors == [] and match.superseded == [old]
    assert match.students == {new: people[0], bob: people[1]}
    assert "grading the latest" in match.warnings[0] and new in match.warnings[0]


def test_gradescope_and_moodle_exports(tmp_path):
    people = roster(tmp_path)
    export = tmp_path / "gs"
    (export / "submission_1").mkdir(parents=True)
    (export / "submission_metadata.yml").write_text(
        "submission_1:\n  :submitters:\n  - :name: Bob\n    :sid: '2024002'\n"
        "  :created_at: 2026-11-01 10:00:00.000000000 +00:00\n")
    bob = notebook(export / "submission_1" / "ch04.ipynb")
    alice = notebook(tmp_path / "moodle" / "Alice_501_assignsubmission_file_" / "ch04.ipynb")
    assert match_roster([bob], people).students == {bob: people[1]}
    assert match_roster([alice], people).students == {alice: people[0]}


def test_the_command_refuses_an_ambiguous_roster_and_feedback_names_the_student(tmp_path, capsys):
    x = notebook(tmp_path / "e" / "x" / "ch04.ipynb")
    y = notebook(tmp_path / "e" / "y" / "ch04.ipynb")
    (tmp_path / "roster.csv").write_text(ROSTER)
    assert cli.main([x, y, "--roster", str(tmp_path / "roster.csv"), "--csv", str(tmp_path / "g.csv")]) == 2
    err = capsys.readouterr().err
    assert "matches two students" in err and x in err and y in err and "nothing graded" in err
    assert not (tmp_path / "g.csv").exists()
    people = roster(tmp_path)
    match = match_roster([notebook(tmp_path / "f" / "2024001" / "ch04.ipynb"),
                          notebook(tmp_path / "f" / "2024002" / "ch04.ipynb")], people)
    written = write_feedback(tmp_path / "fb", [NotebookGrade(p, error="x") for p in match.students], match)
    assert sorted(p.name for p in written) == ["2024001_ch04.md", "2024002_ch04.md"]


def test_a_stamp_cannot_override_who_the_lms_export_says_submitted(tmp_path):
    """Red team: Bob stamps Alice's id in his Canvas submission. Before: 'matches two students',
    and nothing of the class was graded; now it is Bob's, with a warning, and Alice keeps hers."""
    people = roster(tmp_path)
    alice = notebook(tmp_path / "alice_501_9001_ch04.ipynb", "2024001")
    bob = notebook(tmp_path / "bob_502_9002_ch04.ipynb", "2024001")
    match = match_roster([alice, bob], people)
    assert match.errors == [] and match.students == {alice: people[0], bob: people[1]}
    assert len(match.warnings) == 1 and bob in match.warnings[0] and "graded as Bob" in match.warnings[0]
