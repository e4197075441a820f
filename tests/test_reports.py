"""What the grader writes for platforms and people: Gradescope's results.json, feedback files,
the roster join and the autograder zip (its run_autograder run in a temporary /autograder layout)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from aibook.grader import cli
from aibook.grader.banks import banks, find_question
from aibook.grader.check import format_result, local_runner
from aibook.grader.gradescope import build_zip, runtime_requirements
from aibook.grader.mistakes import mistakes_for
from aibook.grader.questions import run_question
from aibook.grader.reports import feedback_text, gradescope_results, write_feedback
from aibook.grader.roster import Student, match_roster, read_roster
from aibook.grader.session import NotebookGrade

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "submissions" / "ch04_small.ipynb"  # scores 28/60, any seed

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def chapter4_grade(notebook: str = "alice_ch04.ipynb") -> NotebookGrade:
    """A grade as the batch grader makes it, without a kernel: 4.1 right, 4.6 with eps inside the
    square root, the other questions not answered."""
    grade = NotebookGrade(notebook, max_score=60)
    for q in banks()[4]:
        if q.id == "4.1":
            answer = q.reference
        elif q.id == "4.6":
            answer = next(m for m in mistakes_for("4.6") if "epsilon inside" in m.name).answer
        else:
            answer = None
        grade.questions.append(run_question(q, local_runner(answer, q.name), seed=3))
    grade.score = sum(q.points for q in grade.questions)
    return grade


def test_gradescope_results_have_one_entry_per_test_and_the_right_total():
    grade = chapter4_grade()
    results = gradescope_results([grade], chapter=4)
    assert results["score"] == grade.score == 8 + sum(
        t.points for t in grade.questions[5].tests)
    names = [t["name"] for t in results["tests"]]
    assert "4.1 mlp_forward: the chapter's worked example" in names
    assert sum(t["max_score"] for t in results["tests"]) == 60
    for entry in results["tests"]:
        assert set(entry) >= {"name", "score", "max_score", "output", "visibility"}
        assert 0 <= entry["score"] <= entry["max_score"]
    adam_first = next(t for t in results["tests"] if t["name"].startswith("4.6 adam_step: the first"))
    assert adam_first["score"] == 0 and "epsilon inside the square root" in adam_first["output"]
    not_done = next(t for t in results["tests"] if t["name"] == "4.3 conv_output_size: stride 1, no padding")
    assert not_done["score"] == 0 and "not done yet" in not_done["output"]
    json.dumps(results)  # plain JSON


def test_gradescope_lists_unanswered_questions_and_errors():
    broken = NotebookGrade("x.ipynb", error="not a Jupyter notebook (invalid JSON)")
    results = gradescope_results([broken], chapter=9, note="")
    assert results["score"] == 0 and len(results["tests"]) == sum(len(q.tests) for q in banks()[9])
    assert all("not submitted" in t["output"] for t in results["tests"])
    assert "invalid JSON" in results["output"]


def test_feedback_file_is_what_check_shows_and_never_the_reference():
    grade = chapter4_grade()
    text = feedback_text(grade, "Alice 2024001")
    assert text.startswith("# alice_ch04.ipynb（Alice 2024001）")
    assert f"得分 Total：{grade.score}/60 分" in text
    for result in grade.questions:
        assert format_result(find_question(result.id), result) in text
    assert "可能的错误：ε 放进了平方根" in text  # expected vs received and the mistake's name
    assert "np.sqrt(v_hat) + eps" not in text and "def " not in text and "aibook/" not in text


def test_feedback_names_are_unique(tmp_path):
    paths = write_feedback(tmp_path / "fb", [chapter4_grade("a/ch04.ipynb"),
                                              chapter4_grade("b/ch04.ipynb")], {})
    assert [p.name for p in paths] == ["ch04.md", "ch04-2.md"]


def test_roster_joins_by_file_name_then_notebook_metadata(tmp_path):
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text("student_id,name,file\n2024001,Alice,alice_ch04.ipynb\n2024002,Bob,\n"
                          "2024003,Carol,\n", encoding="utf-8")
    roster = read_roster(roster_csv)
    assert roster[0] == Student("2024001", "Alice", "alice_ch04.ipynb")
    alice = tmp_path / "alice_ch04.ipynb"
    bob = tmp_path / "whatever.ipynb"
    alice.write_text(json.dumps({"metadata": {}, "cells": []}))
    bob.write_text(json.dumps({"metadata": {"aibook": {"student_id": "2024002"}}, "cells": []}))
    stranger = tmp_path / "stranger.ipynb"
    stranger.write_text("{not json")
    found = match_roster([str(alice), str(bob), str(stranger)], roster)
    assert found.students == {str(alice): roster[0], str(bob): roster[1]} and found.errors == []

    grades = [chapter4_grade(str(alice)), chapter4_grade(str(bob)), NotebookGrade(str(stranger), error="bad")]
    out = tmp_path / "grades.csv"
    cli.write_csv(out, grades, roster, found)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["student_id"], r["name"]) for r in rows] == [
        ("2024001", "Alice"), ("2024002", "Bob"), ("", ""), ("2024003", "Carol")]
    assert rows[0]["total"] == str(grades[0].score) and rows[3]["error"] == "no submission"


def test_a_roster_without_its_columns_is_one_clear_error(tmp_path, capsys):
    bad = tmp_path / "roster.csv"
    bad.write_text("id,student\n1,A\n")
    with pytest.raises(ValueError, match="needs the columns student_id and name"):
        read_roster(bad)
    assert cli.main([str(SMALL), "--roster", str(bad)]) == 2
    assert "cannot read the roster" in capsys.readouterr().err


def test_autograder_zip_holds_the_scripts_the_package_and_the_pins(tmp_path):
    out = build_zip(4, tmp_path / "autograder_ch04.zip")
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        assert {"setup.sh", "run_autograder", "requirements.txt", "package/pyproject.toml",
                "package/aibook/grader/cli.py", "package/aibook/grader/banks/ch04.py"} <= names
        assert not any("__pycache__" in n for n in names)
        for script in ("setup.sh", "run_autograder"):
            assert (z.getinfo(script).external_attr >> 16) & stat.S_IXUSR, script
        assert "--chapter 4" in z.read("run_autograder").decode()
        assert z.read("requirements.txt").decode() == runtime_requirements(ROOT / "requirements.txt")
    z_dir = tmp_path / "unzipped"
    zipfile.ZipFile(out).extractall(z_dir)
    for script in ("setup.sh", "run_autograder"):
        subprocess.run(["bash", "-n", str(z_dir / script)], check=True)  # syntax only: no network here
    with pytest.raises(ValueError, match="no exercises for chapter 1"):
        build_zip(1, tmp_path / "x.zip")


def _autograder_layout(tmp_path: Path, submissions: list[Path]) -> tuple[Path, dict]:
    """/autograder as Gradescope lays it out, in tmp_path; the zipped package on PYTHONPATH."""
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    zipfile.ZipFile(build_zip(4, tmp_path / "ag.zip")).extractall(root / "source")
    for path in submissions:
        shutil.copy(path, root / "submission" / path.name)
    for script in ("setup.sh", "run_autograder"):
        (root / "source" / script).chmod(0o755)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable,
           "PYTHONPATH": str(root / "source" / "package")}
    return root, env


def test_run_autograder_grades_the_submission_into_results_json(tmp_path):
    root, env = _autograder_layout(tmp_path, [SMALL])
    before = (root / "submission" / SMALL.name).read_bytes()
    done = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert results["score"] == 28
    assert sum(t["max_score"] for t in results["tests"]) == 60
    assert {t["name"].split()[0] for t in results["tests"]} == {q.id for q in banks()[4]}
    assert all(set(t) >= {"name", "score", "max_score", "output", "visibility"} for t in results["tests"])
    # the two typical mistakes of the fixture are named across the kernel boundary
    outputs = "\n".join(t["output"] for t in results["tests"])
    assert "可能的错误：忽略了 stride 参数（stride ignored）" in outputs
    assert "可能的错误：原地修改了 m（in-place update of m）" in outputs
    assert (root / "submission" / SMALL.name).read_bytes() == before
    # the package that ran is the zipped copy, not this checkout
    assert "source/package" in subprocess.run(
        [sys.executable, "-c", "import aibook; print(aibook.__file__)"], env=env, capture_output=True,
        text=True, cwd=tmp_path).stdout


def test_run_autograder_without_a_notebook_still_writes_results(tmp_path):
    root, env = _autograder_layout(tmp_path, [])
    done = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert results["score"] == 0 and "no notebook submitted" in results["output"]
    assert len(results["tests"]) == sum(len(q.tests) for q in banks()[4])  # the same list for everyone
