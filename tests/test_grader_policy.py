"""Course policy and big courses (issue 27, items 5 and 6): visibility per question, late
penalties, execution_time, one list of tests for every student, Canvas and Moodle gradebook files,
and sharded grading whose merged output equals one run's."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_grading import CONV, RNN, write_notebook
from test_reports import chapter4_grade

from aibook.grader import cli
from aibook.grader.banks import banks
from aibook.grader.reports import (
    Policy,
    gradescope_results,
    parse_visibility,
    submission_time,
    write_lms_grades,
)
from aibook.grader.roster import Student
from aibook.grader.session import NotebookGrade

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def test_every_student_gets_the_same_tests_with_visibility_and_execution_time():
    answered = chapter4_grade()  # 4.1 right, 4.6 wrong, the others not answered (no test ran)
    answered.seconds = 12.3
    broken = NotebookGrade("b.ipynb", error="not a Jupyter notebook")
    policy = Policy(parse_visibility("4.6=hidden,4.7=after_due_date"))
    one, other = (gradescope_results([g], 4, policy=policy) for g in (answered, broken))
    names = [[t["name"] for t in r["tests"]] for r in (one, other)]
    assert names[0] == names[1] and len(names[0]) == sum(len(q.tests) for q in banks()[4])
    assert one["execution_time"] == 13 and other["execution_time"] == 0
    visibility = {t["number"].rsplit(".", 1)[0]: t["visibility"] for t in one["tests"]}
    assert visibility["4.6"] == "hidden" and visibility["4.7"] == "after_due_date"
    assert visibility["4.1"] == "visible"
    with pytest.raises(ValueError, match="must be one of"):
        parse_visibility("4.1=secret")


def test_late_penalty_from_gradescope_metadata(tmp_path):
    due = datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
    meta = tmp_path / "submission_metadata.json"
    meta.write_text(json.dumps({"created_at": (due + timedelta(hours=30)).isoformat(),
                                "assignment": {"due_date": due.isoformat()}}))
    submitted, read_due = submission_time(meta)
    assert read_due == due and submitted - due == timedelta(hours=30)
    grade = chapter4_grade()
    on_time = gradescope_results([grade], 4, policy=Policy(due=due, late_penalty_per_day=0.1),
                                 submitted=due - timedelta(minutes=1))
    late = gradescope_results([grade], 4, policy=Policy(due=due, late_penalty_per_day=0.1),
                              submitted=submitted)
    assert on_time["score"] == grade.score and "late" not in on_time["output"]
    assert late["score"] == pytest.approx(grade.score * 0.8)  # 30 hours: 2 started days
    assert "late by 2 days" in late["output"]


def test_canvas_and_moodle_gradebook_files(tmp_path):
    roster = [Student("2024001", "Alice", lms_id="501"), Student("2024002", "Bob", lms_id="502")]
    grade = chapter4_grade("a.ipynb")
    write_lms_grades(tmp_path / "canvas.csv", "canvas", [grade], {"a.ipynb": roster[0]}, roster, "ch04")
    write_lms_grades(tmp_path / "moodle.csv", "moodle", [grade], {"a.ipynb": roster[0]}, roster, "ch04")
    canvas = list(csv.DictReader((tmp_path / "canvas.csv").open(encoding="utf-8")))
    moodle = list(csv.DictReader((tmp_path / "moodle.csv").open(encoding="utf-8")))
    assert [(r["ID"], r["SIS User ID"], r["ch04"]) for r in canvas] == [
        ("501", "2024001", str(grade.score)), ("502", "2024002", "0")]
    assert [(r["ID number"], r["ch04"]) for r in moodle] == [("2024001", str(grade.score)), ("2024002", "0")]


def test_shards_are_disjoint_and_cover_the_batch():
    paths = [f"s{i:03d}.ipynb" for i in range(10)]
    slices = [cli.shard(list(reversed(paths)), i, 3) for i in (1, 2, 3)]
    assert sorted(sum(slices, [])) == paths and len({p for s in slices for p in s}) == 10


def test_two_shards_merged_equal_one_run(tmp_path):
    paths = [write_notebook(tmp_path / "in" / "a.ipynb", "import numpy as np", ("4.3", CONV)),
             write_notebook(tmp_path / "in" / "b.ipynb", "import numpy as np", ("4.7", RNN)),
             write_notebook(tmp_path / "in" / "c.ipynb", "import numpy as np", ("4.3", "x = ")),]

    def grader(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "aibook.grader", *args, "--seed", "7"],
                              capture_output=True, text=True, timeout=900, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        return done.stdout

    files = [str(p) for p in paths]
    whole = grader(*files, "--json", "--csv", str(tmp_path / "one.csv"))
    for i in (1, 2):
        (tmp_path / f"shard{i}.jsonl").write_text(grader(*files, "--json", "--shard", f"{i}/2"))
    merged = grader("merge", str(tmp_path / "shard1.jsonl"), str(tmp_path / "shard2.jsonl"), "--json",
                    "--csv", str(tmp_path / "merged.csv"))

    def without_time(text: str) -> list[dict]:
        lines = [json.loads(line) for line in text.splitlines()]
        return [{k: v for k, v in line.items() if k != "execution_time"} for line in lines]

    assert (tmp_path / "merged.csv").read_text() == (tmp_path / "one.csv").read_text()
    assert without_time(merged) == without_time(whole)
    assert [r["score"] for r in without_time(whole)] == [8, 6, 0]
