"""The exercise generator (solutions/ -> exercises/), the chapter question banks and the notebooks."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from aibook.booktools.exercise_notebooks import (
    build,
    exercise_notebook,
    out_of_date,
    pairs,
    strip_solutions,
)
from aibook.booktools.exercise_notebooks import main as exercises_main
from aibook.booktools.exercise_points import MARK, check_items, fix_line
from aibook.booktools.publish import repository_url
from aibook.grader.banks import banks, find_question
from aibook.grader.check import failing_tests, local_runner
from aibook.grader.mistakes.ch04 import (
    adam_in_place,
    adam_no_correction,
    backward_no_relu_derivative,
    conv_flipped,
    forward_no_output_relu,
    pool_from_zero,
    rnn_w_hh_not_transposed,
    size_without_checks,
)
from aibook.grader.questions import run_question
from aibook.grader.session import kernel_env_path

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(banks())
MIN_QUESTIONS = {2: 8, 3: 8, 8: 4, 11: 8}  # what each chapter's issue asks for; 6 otherwise
# names the answers may use besides their own code (each chapter's first cell imports them)
ANSWER_PREAMBLE = ("import math\nimport numpy as np\nimport torch\nimport torch.nn.functional as F\n"
                   "from aibook.autograd import Value")
REPOSITORY_URL = repository_url()
SETUP_CELL = f'''import sys
if "google.colab" in sys.modules:  # on Colab only: install the book's helper package
    %pip install -q "aibook @ git+{REPOSITORY_URL}"

import aibook
device = aibook.setup_notebook(seed=0)
'''


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def answer_cells(nb: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata["aibook"]["question"]: c for c in nb.cells if "aibook" in c.metadata}


def solution(chapter: int) -> Path:
    return ROOT / "solutions" / f"ch{chapter:02d}.ipynb"


def exercise(chapter: int) -> Path:
    return ROOT / "exercises" / f"ch{chapter:02d}.ipynb"


def solution_namespace(chapter: int) -> dict:
    namespace: dict = {}
    exec(ANSWER_PREAMBLE, namespace)
    for cell in answer_cells(read(solution(chapter))).values():
        exec(cell.source, namespace)
    return namespace


# --- generator -------------------------------------------------------------------------------


def test_exercises_are_in_sync_with_solutions():
    assert [s.name for s, _ in pairs(ROOT)] == [solution(c).name for c in CHAPTERS]
    stale = out_of_date(ROOT)
    assert not stale, f"{[str(p) for p in stale]} out of date with solutions/: run 'make exercises'"


def test_strip_solutions_keeps_the_marker_indentation():
    source = ("def f(x):\n    \"\"\"Doc.\"\"\"\n    # BEGIN SOLUTION\n    y = x + 1\n    return y\n"
              "    # END SOLUTION\n\n# BEGIN SOLUTION\nanswer = 42\n# END SOLUTION\nprint(f(1))")
    assert strip_solutions(source) == (
        "def f(x):\n    \"\"\"Doc.\"\"\"\n    ...\n\n...\nprint(f(1))")
    assert strip_solutions("x = 1\n") == "x = 1\n"


@pytest.mark.parametrize("source, problem", [
    ("# BEGIN SOLUTION\nx = 1\n", "without '# END SOLUTION'"),
    ("x = 1\n# END SOLUTION\n", "without '# BEGIN SOLUTION'"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n", "inside another solution block"),
])
def test_unbalanced_markers_are_an_error(source, problem):
    with pytest.raises(ValueError, match=problem):
        strip_solutions(source, "solutions/ch99.ipynb, cell 3")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_exercise_notebook_has_no_solutions_outputs_or_counts(chapter):
    solution_nb, exercise_nb = read(solution(chapter)), read(exercise(chapter))
    assert exercise_nb == exercise_notebook(solution_nb)
    stamps = [c for c in exercise_nb.cells if c.get("id") == "aibook-student-id"]
    assert len(stamps) == 1 and stamps[0].source.startswith('STUDENT_ID = ""')  # the learner's id
    learner_cells = [c for c in exercise_nb.cells if c.get("id") != "aibook-student-id"]
    assert len(learner_cells) == len(solution_nb.cells)
    for sol, ex in zip(solution_nb.cells, learner_cells, strict=True):
        assert sol.get("id") == ex.get("id") and sol.cell_type == ex.cell_type
        assert ex.metadata.get("aibook") == sol.metadata.get("aibook")
        if ex.cell_type == "code":
            assert ex.outputs == [] and ex.execution_count is None
            assert "SOLUTION" not in ex.source
            assert ex.source == strip_solutions(sol.source)
    assert "widgets" not in exercise_nb.metadata


def test_check_command_fails_in_one_line_when_exercises_are_stale(tmp_path, capsys):
    for folder in ("solutions", "exercises"):
        (tmp_path / folder).mkdir()
    shutil.copy(solution(4), tmp_path / "solutions" / "ch04.ipynb")
    shutil.copy(exercise(4), tmp_path / "exercises" / "ch04.ipynb")
    assert exercises_main(["check", "--root", str(tmp_path)]) == 0
    nb = read(tmp_path / "solutions" / "ch04.ipynb")
    nb.cells.append(nbformat.v4.new_markdown_cell("One more hint."))
    nbformat.write(nb, tmp_path / "solutions" / "ch04.ipynb")
    (tmp_path / "exercises" / "ch09.ipynb").write_text("{}")  # its solution is gone
    capsys.readouterr()
    assert exercises_main(["check", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "exercises/ch04.ipynb, exercises/ch09.ipynb" in err and "run 'make exercises'" in err
    assert {p.name for p in build(tmp_path)} == {"ch04.ipynb", "ch09.ipynb"}
    assert not (tmp_path / "exercises" / "ch09.ipynb").exists()
    assert exercises_main(["check", "--root", str(tmp_path)]) == 0
    assert exercises_main(["build", "--root", str(tmp_path / "nowhere")]) == 2
    assert "no solutions/ folder" in capsys.readouterr().err


# --- every chapter's notebooks and question bank ----------------------------------------------


@pytest.mark.parametrize("chapter", CHAPTERS)
@pytest.mark.parametrize("kind", [solution, exercise], ids=["solutions", "exercises"])
def test_first_code_cell_is_the_colab_install_cell(chapter, kind):
    first = next(c for c in read(kind(chapter)).cells if c.cell_type == "code")
    assert first.source.startswith(SETUP_CELL)
    assert "from aibook.grader import check" in first.source


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_question_has_one_answer_cell_a_check_and_its_points_stated(chapter):
    nb = read(solution(chapter))
    questions = banks()[chapter]
    answers = answer_cells(nb)
    assert list(answers) == [q.id for q in questions]
    sources = [c.source for c in nb.cells]
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for q in questions:
        cell = answers[q.id]
        func = next(n for n in ast.parse(cell.source).body if isinstance(n, ast.FunctionDef))
        assert (func.name, tuple(a.arg for a in func.args.args)) == (q.name, q.params)
        assert "# BEGIN SOLUTION" in cell.source and "# END SOLUTION" in cell.source
        index = nb.cells.index(cell)
        assert f'check("{q.id}", {q.name})' in sources[index + 1]
        heading = re.search(rf"^## {re.escape(q.id)} .*（(\d+) 分）$", markdown, re.M)
        assert heading and int(heading.group(1)) == q.points, f"{q.id}: points in the heading"
        assert re.search(rf"^\| {re.escape(q.id)} \| .* \| {q.points} \|$", markdown, re.M)
    assert f"共 {len(questions)} 题，{sum(q.points for q in questions)} 分" in markdown


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_check_line_lists_the_tests_with_their_points_in_parentheses(chapter):
    """Issue 21: '层宽 3→5→2 2 分；批大小为 1 1 分' ran the points into the text. Fix a notebook with
    ``python -m aibook.booktools.exercise_points solutions/chNN.ipynb``, then ``make exercises``."""
    markdown = "\n".join(c.source for c in read(solution(chapter)).cells if c.cell_type == "markdown")
    lines = [line for line in markdown.splitlines() if line.startswith(MARK)]
    questions = banks()[chapter]
    assert len(lines) == len(questions)
    for q, line in zip(questions, lines, strict=True):
        assert check_items(line) == [t.points for t in q.tests], f"{q.id}: {line}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_stored_solution_outputs_show_full_marks(chapter):
    reports = 0
    for cell in read(solution(chapter)).cells:
        text = "".join(o.get("text", "") for o in cell.get("outputs", []))
        if text.startswith("第 "):
            reports += 1
            assert "FAIL" not in text and "未通过" not in text
            done, total = re.search(r"得分 Total：(\d+)/(\d+) 分", text).groups()
            assert done == total
    assert reports == len(banks()[chapter])


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_exercise_notebook_runs_and_every_check_says_not_done(chapter, tmp_path):
    kernel_env_path()
    nb = read(exercise(chapter))
    NotebookClient(nb, kernel_name="python3", timeout=600,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    reports = ["".join(o.get("text", "") for o in c.outputs) for c in nb.cells
               if c.cell_type == "code" and c.source.startswith("check(")]
    assert len(reports) == len(banks()[chapter])
    for report in reports:
        assert "not done yet" in report and re.search(r"得分 Total：0/\d+ 分", report)


def test_failing_tests_rejects_unknown_questions():
    with pytest.raises(ValueError, match="no question '9.9'"):
        failing_tests("9.9", print)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_bank_has_enough_questions_and_tests(chapter):
    questions = banks()[chapter]
    rng = np.random.default_rng(0)
    assert len(questions) >= MIN_QUESTIONS.get(chapter, 6)
    assert len({q.id for q in questions}) == len(questions)
    for q in questions:
        assert len(q.tests) >= 4 and all(t.points > 0 for t in q.tests), q.id
        takes_arrays = any(isinstance(a, np.ndarray) for a in q.tests[0].calls(rng)[0].args)
        assert any(t.unmodified for t in q.tests) or not takes_arrays, f"{q.id}: no input check"
        assert find_question(q.id) is q


@pytest.mark.parametrize("chapter", CHAPTERS)
@pytest.mark.parametrize("seed", [0, 1, 2024, 987654321])
def test_references_and_the_solutions_pass_with_any_seed(chapter, seed):
    namespace = solution_namespace(chapter)
    for q in banks()[chapter]:
        assert run_question(q, local_runner(q.reference, q.name), seed).passed, q.id
        result = run_question(q, local_runner(namespace[q.name], q.name), seed)
        assert result.passed, f"{q.id}: {result.message}"


# --- chapter 4: typical mistakes (aibook/grader/mistakes/ch04.py), each caught by its test -----


@pytest.mark.parametrize("qid, answer, failing", [
    ("4.1", forward_no_output_relu, "dead ReLU units (negative pre-activations give 0)"),
    ("4.2", backward_no_relu_derivative, "dead ReLU units pass no gradient back"),
    ("4.3", size_without_checks, "invalid inputs raise ValueError"),
    ("4.4", conv_flipped, "an asymmetric kernel (no flipping)"),
    ("4.5", pool_from_zero, "all inputs negative"),
    ("4.6", adam_no_correction, "the first step, t = 1 (bias correction)"),
    ("4.6", adam_in_place, "does not modify its inputs"),
    ("4.7", rnn_w_hh_not_transposed, "a batch of 5"),
], ids=lambda v: v.__name__ if callable(v) else None)
def test_typical_mistakes_fail_the_test_made_for_them(qid, answer, failing):
    assert failing in failing_tests(qid, answer, seed=7)


def test_exercise_points_rewrites_run_on_points_once():
    line = ("**检查**（容差 1e-5）：本章算例 $x=[1,2,3]$ 2 分；层宽 3→5→2 2 分；"
            "n 的倍数（以及批大小为 1）1 分。")
    fixed = fix_line(line)
    assert fixed == ("**检查**（容差 1e-5）：本章算例 $x=[1,2,3]$（2 分）；层宽 3→5→2（2 分）；"
                     "n 的倍数（以及批大小为 1，1 分）。")
    assert fix_line(fixed) == fixed and check_items(fixed) == [2, 2, 1] and check_items(line) is None
