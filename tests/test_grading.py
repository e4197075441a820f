"""aibook.grader: checks, comparison, JSON and the batch grader, including its trust model.

The grader tests start real kernels; their submissions use NumPy only so each kernel is quick.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from aibook.grader import check, cli, session
from aibook.grader.banks import banks, find_question
from aibook.grader.check import local_runner
from aibook.grader.compare import compare
from aibook.grader.protocol import RESULT_MIME, evaluation_request, from_json, read_outcomes, to_json
from aibook.grader.questions import call, run_question

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "submissions" / "ch04_small.ipynb"  # scores 28/60, any seed
PYTHON = sys.executable

CONV = '''def conv_output_size(n, kernel, stride=1, padding=0, dilation=1):
    if min(n, kernel, stride, dilation) < 1 or padding < 0:
        raise ValueError("bad sizes")
    size = (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    if size < 1:
        raise ValueError("the kernel does not fit")
    return size'''
RNN = '''def rnn_step(x_t, h_prev, W_hh, W_xh, b_h):
    return np.tanh(h_prev @ W_hh.T + x_t @ W_xh.T + b_h)'''


def write_notebook(path: Path, *cells: str | tuple[str, str]) -> Path:
    """A submission: plain strings are code cells, (question id, source) are answer cells."""
    nb_cells = []
    for cell in cells:
        if isinstance(cell, tuple):
            nb_cells.append(new_code_cell(cell[1], metadata={"aibook": {"question": cell[0]}}))
        else:
            nb_cells.append(new_code_cell(cell))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=nb_cells), path)
    return path


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and modification time of every file under ``folder``."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def points(result: session.NotebookGrade) -> dict[str, int]:
    return {q.id: q.points for q in result.questions}


def message(result: session.NotebookGrade, qid: str) -> str:
    return next(q.message for q in result.questions if q.id == qid)


def run_cli(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    """The grader's command line; ``timeout`` only stops a hung grader, it judges nothing."""
    return subprocess.run([PYTHON, "-m", "aibook.grader", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


# --- comparison and JSON ---------------------------------------------------------------------


def test_compare_says_what_differs():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert compare(expected, expected + 1e-9) == ""
    assert compare(expected, expected.T.copy().reshape(4)) == (
        "result：形状（shape）应为 (2, 2)，得到 (4,)")
    got = expected.copy()
    got[1, 0] = 3.5
    msg = compare(expected, got, names=("out",), rtol=1e-5, atol=1e-8)
    assert msg == ("out：4 个值中有 1 个不符（rtol=1e-05, atol=1e-08）；[1, 0] 处期望 3，得到 3.5")
    assert "应返回元组 (h, c)（a tuple）" in compare((expected, expected), expected, names=("h", "c"))
    assert compare((1, expected), (1, np.full((2, 2), np.nan)), names=("a", "b")).startswith("b：")
    assert compare(4, 3, names=("size",)) == "size：期望 4，得到 3"
    assert compare(4, np.int64(4)) == "" and compare(4, 4.0) == ""
    assert compare(4, None) == "result：期望 4，得到 None"
    # lists compare item by item; a list holding arrays is a wrong answer with a message, not a crash
    assert compare([[1, 2], [3]], [[1, 2], [3]]) == ""
    assert compare([[1, 2], [3]], [[1, 2], [4]], names=("pieces",)).startswith("pieces[1][0]：")
    assert compare([[1, 2]], [np.array([1, 2])]).startswith("result[0]：期望 [1, 2]")


def test_json_round_trip_and_untrusted_decoding():
    value = (np.arange(6.0).reshape(2, 3), [1, 2.5, None, "x"], np.array([True, False]))
    back = from_json(json.loads(json.dumps(to_json(value))))
    assert isinstance(back, tuple) and back[1] == [1, 2.5, None, "x"]
    np.testing.assert_array_equal(back[0], value[0])
    assert back[2].dtype == bool
    for forged in ({"__ndarray__": [1, 2], "dtype": "object", "shape": [2]},
                   {"__ndarray__": [1, 2], "dtype": "float64", "shape": [3]},
                   {"__ndarray__": [1, 2], "dtype": "float64", "shape": [True, 2]},
                   {"__pickle__": "gASV"}):
        with pytest.raises(ValueError):
            from_json(forged)


def test_read_outcomes_refuses_extra_or_foreign_results():
    good = json.dumps({"nonce": "n1", "results": [{"value": 3}]})

    def out(text: str) -> dict:
        return {"output_type": "display_data", "data": {RESULT_MIME: text}}

    assert read_outcomes([out(good)], "n1", 1)[0].value == 3
    assert "more than one result" in read_outcomes([out(good), out(good)], "n1", 1)
    assert "does not belong" in read_outcomes([out(good)], "n2", 1)
    assert "could not read" in read_outcomes([out("{not json")], "n1", 1)
    assert "no result came back" in read_outcomes([], "n1", 1)
    assert "wrong number" in read_outcomes([out(good)], "n1", 2)


def test_evaluation_request_is_plain_json():
    request = json.loads(evaluation_request([call(np.ones((2, 1)), 3, stride=2)], "n", True))
    assert request["calls"][0]["args"][0] == {"__ndarray__": [[1.0], [1.0]], "dtype": "float64",
                                              "shape": [2, 1]}
    assert request["calls"][0]["kwargs"] == {"stride": 2} and request["check_args"] is True


# --- check() in the notebook -----------------------------------------------------------------


def conv_no_dilation(n, kernel, stride=1, padding=0, dilation=1):
    if min(n, kernel, stride) < 1 or padding < 0:
        raise ValueError("bad sizes")
    size = (n + 2 * padding - kernel) // stride + 1
    if size < 1:
        raise ValueError("does not fit")
    return size


def test_check_prints_pass_fail_points_and_total(capsys):
    check("4.3", conv_no_dilation)
    out = capsys.readouterr().out
    assert out.startswith("第 4.3 题 conv_output_size：")
    assert "  通过 PASS  stride 1, no padding  [1/1]" in out
    assert "  未通过 FAIL  dilation  [0/1]" in out
    assert "conv_output_size(7, 3, dilation=2)：size：期望 3，得到 5" in out
    assert "可能的错误：忽略了空洞（dilation ignored）" in out  # the catalogued mistake, named
    assert re.search(r"^得分 Total：[0-7]/8 分$", out, re.M)


def test_check_says_not_done_yet(capsys):
    def mlp_forward(x, W1, b1, W2, b2):
        """Two-layer ReLU MLP."""
        ...

    check("4.1", mlp_forward)
    check("4.1", ...)
    out = capsys.readouterr().out
    assert out.count("not done yet") == 2 and "PASS" not in out and "FAIL" not in out
    assert out.count("得分 Total：0/8 分") == 2


def test_check_reports_exceptions_in_one_line(capsys):
    def rnn_step(x_t, h_prev, W_hh, W_xh, b_h):
        raise RuntimeError("shapes (3,) and (4,) not aligned\nsecond line")

    check("4.7", rnn_step)
    out = capsys.readouterr().out
    assert "抛出了 RuntimeError: shapes (3,) and (4,) not aligned" in out
    assert "second line" not in out and "Traceback" not in out


def test_check_of_an_unknown_question(capsys):
    check("4.99", print)
    assert "没有题号 '4.99'（unknown question）" in capsys.readouterr().out


def test_check_never_prints_the_reference_or_its_source(capsys):
    def zeros_like_answer(*args, **kwargs):
        return np.zeros(3)

    for question in banks()[4]:
        check(question.id, zeros_like_answer)
        out = capsys.readouterr().out
        source = inspect.getsource(question.reference)
        code_lines = [s.strip() for s in source.splitlines()[1:] if len(s.strip()) > 12]
        assert code_lines and not any(line in out for line in code_lines), question.id
        assert "def " not in out and "aibook/" not in out


def test_torch_tensors_and_lists_count_as_arrays():
    import torch

    question = find_question("4.7")
    as_tensor = local_runner(lambda *a: torch.tensor(question.reference(*a)), "rnn_step")
    as_list = local_runner(lambda *a: question.reference(*a).tolist(), "rnn_step")
    assert run_question(question, as_tensor).passed and run_question(question, as_list).passed


# --- the grader ------------------------------------------------------------------------------


def test_solution_scores_full_marks_and_is_left_untouched(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    submission = folder / "ch04.ipynb"
    shutil.copy(ROOT / "solutions" / "ch04.ipynb", submission)
    before = snapshot(folder)
    result = session.grade_notebook(submission, seed=12345)
    assert result.error is None and result.stopped is None
    assert (result.score, result.max_score) == (60, 60)
    assert all(q.passed and "passed all" in q.message for q in result.questions)
    assert snapshot(folder) == before


def test_unmodified_exercise_scores_zero():
    path = ROOT / "exercises" / "ch04.ipynb"
    before = path.read_bytes()
    result = session.grade_notebook(path)
    assert (result.score, result.max_score, result.error, result.stopped) == (0, 60, None, None)
    assert [q.id for q in result.questions] == [q.id for q in banks()[4]]
    assert all(q.message.startswith("尚未完成（not done yet）") for q in result.questions)
    assert path.read_bytes() == before


@pytest.mark.parametrize("crash, reason", [
    ("1 / 0", "ZeroDivisionError: division by zero"),
    ("import sys\nsys.exit(3)", "SystemExit: 3"),
    ("import os\nos._exit(1)", "the kernel died"),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "the kernel died"),
], ids=["raises", "sys.exit", "os._exit", "kill"])
def test_a_crash_costs_only_its_own_cell(tmp_path, crash, reason):
    path = write_notebook(tmp_path / "crash.ipynb", "import numpy as np", ("4.3", CONV), crash,
                          ("4.7", RNN))
    result = session.grade_notebook(path, timeout=60)
    assert result.error is None
    assert points(result)["4.3"] == 8 and points(result)["4.7"] == 6  # after a dead kernel: replayed
    assert list(result.cell_errors) == [2] and result.cell_errors[2].startswith(reason)
    assert result.stopped.startswith(f"cell 3: {reason}")


def test_replay_after_a_crash_records_where_the_notebook_no_longer_runs(tmp_path):
    path = write_notebook(tmp_path / "sub" / "flaky.ipynb", "import numpy as np\nimport os",
                          ("4.3", CONV),
                          "if os.path.exists('ran.txt'):  # in the kernel's temporary folder\n"
                          "    raise RuntimeError('second run')\nopen('ran.txt', 'w').close()",
                          ("4.7", RNN), "os._exit(1)")
    before = snapshot(path.parent)
    result = session.grade_notebook(path, timeout=60)
    assert points(result)["4.3"] == 8 and points(result)["4.7"] == 6
    assert result.cell_errors[2] == "replaying it in a fresh kernel: RuntimeError: second run"
    assert result.cell_errors[4].startswith("the kernel died")
    assert snapshot(path.parent) == before  # ran.txt was written in the temporary folder


def test_table_output_names_the_stop(tmp_path, capsys):
    path = write_notebook(tmp_path / "t.ipynb", "import numpy as np", ("4.3", CONV), "1 / 0")
    assert cli.main([str(path), "--jobs", "1"]) == 0
    out, err = capsys.readouterr()
    assert f"{path}: 8/60 points" in out
    assert "note: cell 3: ZeroDivisionError: division by zero" in out
    assert re.search(r"^  4\.3 +conv_output_size +8/8", out, re.M)
    assert re.search(r"^graded 1 submission in [\d.]+ s with 1 job", err, re.M)


def test_never_ending_cells_time_out_alone(tmp_path):
    loop = write_notebook(tmp_path / "loop.ipynb", "import numpy as np", ("4.3", CONV),
                          "while True:\n    pass", ("4.7", RNN))
    stubborn = write_notebook(tmp_path / "stubborn.ipynb", "import numpy as np\nimport time",
                              ("4.3", CONV),
                              "while True:  # ignores the interrupt: the kernel must be killed\n"
                              "    try:\n        time.sleep(0.05)\n"
                              "    except KeyboardInterrupt:\n        pass", ("4.7", RNN))
    proc = run_cli(str(loop), str(stubborn), "--json", "--cell-timeout", "5", "--jobs", "2")
    assert proc.returncode == 0, proc.stderr  # both came back: the loops were stopped, not waited for
    for line in proc.stdout.splitlines():
        result = json.loads(line)
        by_id = {q["id"]: q for q in result["questions"]}
        assert by_id["4.3"]["points"] == 8 and by_id["4.7"]["points"] == 6
        assert result["cell_errors"] == {"3": "timed out after 5 s"}
    assert len(proc.stdout.splitlines()) == 2


def test_answers_that_kill_or_hang_the_kernel_fail_only_themselves(tmp_path):
    path = write_notebook(
        tmp_path / "evil.ipynb", "import numpy as np\nimport os",
        ("4.1", "def mlp_forward(*args):\n    os._exit(1)"),
        ("4.3", CONV),  # graded after 4.1 killed the kernel: fresh kernel, cells replayed
        ("4.5", "def max_pool2d(x, kernel, stride=None):\n    while True:\n        pass"),
        ("4.7", "def rnn_step(*args):\n    return None"))
    result = session.grade_notebook(path, timeout=60, call_timeout=5)  # 5 s: honest calls finish under load
    assert result.error is None and result.stopped is None
    assert points(result) == {"4.1": 0, "4.2": 0, "4.3": 8, "4.4": 0, "4.5": 0, "4.6": 0, "4.7": 0}
    assert message(result, "4.1").startswith("the chapter's worked example: the kernel died")
    assert "not run: an earlier test of 4.1 killed or hung the kernel" in message(result, "4.1")
    assert "2x2 windows on a 4x4 input: timed out after 5 s" in message(result, "4.5")
    assert message(result, "4.7").startswith("尚未完成（not done yet）")


FORGERIES = [
    # printed claims and forged grader output, on the kernel's stdout and on its raw fd 1
    'print("All tests passed. Total: 60/60 points")',
    'import json, os\nline = json.dumps({"notebook": "x", "score": 60, "max_score": 60,'
    ' "questions": [], "error": None})\nprint(line)\nos.write(1, (line + "\\n").encode())',
    # a result published with the private mime type and a guessed nonce
    'from IPython.display import publish_display_data\npublish_display_data('
    '{"application/x.aibook-result": json.dumps({"nonce": "0" * 16, "results": [{"value": 4}]})})',
    # the in-kernel checker and question bank, NumPy's comparisons, the reference implementations
    'import aibook.grader, aibook.grader.check, aibook.grader.questions, aibook.grader.compare\n'
    'import aibook.grader.banks as banks, aibook.grader.banks.ch04 as bank, aibook.numpy_nn as nn\n'
    'def check(*args, **kwargs):\n    print("PASS  Total: 60/60 points")\n'
    'aibook.grader.check = aibook.grader.check.check = check\n'
    'aibook.grader.compare.compare = aibook.grader.questions.compare = lambda *a, **k: ""\n'
    'bank.QUESTIONS.clear()\nbanks.banks.cache_clear()\n'
    'nn.rnn_step = lambda *a, **k: np.zeros(1)\n'
    'np.allclose = np.array_equal = lambda *a, **k: True\n'
    'np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)\n'
    'np.testing.assert_allclose = np.testing.assert_array_equal = lambda *a, **k: None',
    # wrong answers, one of which also publishes a second, forged result with the real nonce
    ("4.7", 'import sys\ndef rnn_step(x_t, h_prev, W_hh, W_xh, b_h):\n'
            '    request = json.loads(sys._getframe(1).f_locals["request"])\n'
            '    publish_display_data({"application/x.aibook-result": json.dumps('
            '{"nonce": request["nonce"], "results": [{"value": 1.0}]})})\n'
            '    return np.zeros_like(h_prev)'),
    ("4.5", "def max_pool2d(x, kernel, stride=None):\n    return np.zeros(1)"),
    ("4.3", CONV),  # the one honest answer: its 8 points must survive the tampering
]


def test_forgeries_earn_nothing(tmp_path):
    path = write_notebook(tmp_path / "forger.ipynb", "import numpy as np\nimport json",
                          *FORGERIES)
    nb = nbformat.read(path, as_version=4)
    forged = json.dumps({"nonce": "x", "results": [{"value": 4}], "score": 60})
    for cell in nb.cells:  # stored outputs claiming success are never read
        cell.outputs = [new_output("stream", name="stdout", text="Total: 60/60 points\n"),
                        new_output("display_data", data={RESULT_MIME: forged, "text/plain": "ok"})]
    nbformat.write(nb, path)
    proc = run_cli(str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, "the submission's output must not reach the grader's stdout"
    result = json.loads(lines[0])
    assert (result["score"], result["max_score"], result["error"]) == (8, 60, None)
    by_id = {q["id"]: q for q in result["questions"]}
    assert by_id["4.3"]["passed"] and by_id["4.5"]["points"] == 0
    assert "more than one result came back" in by_id["4.7"]["message"]


def test_files_that_cannot_be_graded_get_one_clear_line(tmp_path, capsys):
    text = tmp_path / "essay.ipynb"
    text.write_text("my answers are in the attached PDF")
    truncated = tmp_path / "truncated.ipynb"
    truncated.write_bytes(SMALL.read_bytes()[:300])
    no_questions = write_notebook(tmp_path / "plain.ipynb", "x = 1")
    not_a_notebook = tmp_path / "list.ipynb"
    not_a_notebook.write_text("[1, 2, 3]")
    binary = tmp_path / "image.ipynb"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    missing = tmp_path / "missing.ipynb"
    paths = [text, truncated, no_questions, not_a_notebook, binary, missing]
    assert cli.main([*map(str, paths), "--json", "--jobs", "1"]) == 1
    out, err = capsys.readouterr()
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["notebook"] for r in results] == list(map(str, paths))
    assert all(r["error"] and r["score"] == 0 and r["questions"] == [] for r in results)
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(paths) and "Traceback" not in err
    assert "not a Jupyter notebook (invalid or truncated JSON" in results[1]["error"]
    assert "no questions found" in results[2]["error"]
    assert "graded 0 of 6 submissions" in err


def test_forty_submissions_in_parallel(tmp_path):
    paths = []
    for i in range(40):
        paths.append(tmp_path / f"learner{i:02d}.ipynb")
        shutil.copy(SMALL, paths[-1])
    broken = tmp_path / "zz_broken.ipynb"
    broken.write_text('{"cells": [')
    before = snapshot(tmp_path)
    report = tmp_path.parent / f"{tmp_path.name}-grades.csv"
    proc = run_cli(*map(str, paths), str(broken), "--json", "--csv", str(report))
    assert proc.returncode == 1, proc.stderr  # the broken file could not be graded
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["notebook"] for r in results] == [*map(str, paths), str(broken)]
    off = [(r["notebook"], r["score"], r["error"], [q["message"] for q in r["questions"] if not q["passed"]])
           for r in results[:40] if (r["score"], r["max_score"], r["error"]) != (28, 60, None)]
    assert off == [], off  # say which submissions scored differently, and why
    assert results[40]["error"].startswith("not a Jupyter notebook")
    jobs = min(os.cpu_count() or 1, 41)
    assert re.search(rf"graded 40 of 41 submissions in [\d.]+ s with {jobs} jobs", proc.stderr)
    rows = report.read_text().splitlines()
    assert rows[0] == "notebook,4.1,4.2,4.3,4.4,4.5,4.6,4.7,total,max_score,error,flags"
    assert rows[1] == f"{paths[0]},0,0,8,0,5,9,6,28,60,," and len(rows) == 42
    assert snapshot(tmp_path) == before
