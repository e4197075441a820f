"""Hostile submissions (issue 27): each attack below raised a grade or harmed the machine with the
grader before the sandbox (aibook.grader.sandbox); here each one earns nothing and harms nothing.

The notebooks are built by ``attack_*`` functions so ``benchmarks/grade_attacks.py`` can grade the
same files with another version of the grader (the before/after table of the report). They need
root (the learner's code runs as another user); without it they are skipped with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from test_grading import CONV, RNN, snapshot, write_notebook

from aibook.grader import sandbox
from aibook.grader.gradescope import build_zip

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

pytestmark = pytest.mark.skipif(
    not sandbox.isolation().users,
    reason=f"needs the grader's isolation: {sandbox.isolation().why_not}")


def run_grader(*args: str, env: dict | None = None, cwd: Path = ROOT,
               timeout: float = 900) -> subprocess.CompletedProcess:
    """``python -m aibook.grader`` in a child process (``-m`` imports from ``cwd`` first);
    ``timeout`` only stops a hung grader."""
    return subprocess.run([PYTHON, "-m", "aibook.grader", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=env)


def by_id(result: dict) -> dict[str, dict]:
    return {q["id"]: q for q in result["questions"]}


# --- the notebooks ---------------------------------------------------------------------------


def attack_references(folder: Path) -> Path:
    """Answers that are the grader's reference or the library's function, plainly or disguised."""
    bank = sandbox.GRADER / "banks" / "ch04.py"
    return write_notebook(
        folder / "references.ipynb", "import numpy as np\nimport importlib",
        ("4.1", "from aibook.grader.banks import find_question\n"
                "mlp_forward = find_question('4.1').reference"),
        ("4.2", f"namespace = {{}}\nexec(open({str(bank)!r}).read(), namespace)  # the bank, by path\n"
                "mlp_backward = namespace['MLP_BACKWARD'].reference"),
        ("4.3", CONV),  # the one honest answer
        ("4.4", "from aibook.numpy_nn import conv2d"),
        ("4.5", "import aibook.numpy_nn as nn\ndef max_pool2d(x, kernel, stride=None):\n"
                "    return nn.max_pool2d(x, kernel, stride)"),
        ("4.6", "from aibook import numpy_nn\nadam_step = numpy_nn.adam_step"),
        ("4.7", "def rnn_step(*args):  # the library's answer, reached without naming it\n"
                "    module = importlib.import_module('aibook.' + 'numpy' + '_nn')\n"
                "    return getattr(module, 'rnn' + '_step')(*args)"))


def attack_stdout(folder: Path) -> Path:
    """Forged JSON lines written into the grader's own stdout through /proc."""
    forged = json.dumps({"notebook": "forged", "score": 60, "max_score": 60, "questions": [],
                         "error": None})
    return write_notebook(
        folder / "stdout.ipynb", "import numpy as np\nimport os", ("4.3", CONV),
        f"for pid in (os.getppid(), os.getpgid(0)):\n"
        f"    try:\n"
        f"        with open(f'/proc/{{pid}}/fd/1', 'w') as out:\n"
        f"            out.write({forged!r} + '\\n')\n"
        f"    except OSError as exc:\n"
        f"        print(exc)")


def attack_detached(folder: Path, target: Path, marker: str) -> Path:
    """A process in its own session that keeps rewriting the grades after the grader is done."""
    script = (f"import time\nfor _ in range(600):  # {marker}\n    time.sleep(0.1)\n"
              f"    try:\n        open({str(target)!r}, 'w').write('forged,60\\n')\n"
              f"    except OSError:\n        pass\n")
    return write_notebook(
        folder / "detached.ipynb", "import numpy as np\nimport subprocess, sys", ("4.3", CONV),
        f"subprocess.Popen([sys.executable, '-c', {script!r}], start_new_session=True,\n"
        f"                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)")


def attack_package(folder: Path, package: Path) -> Path:
    """A cell that rewrites the grader's question code in the installed package."""
    questions = package / "aibook" / "grader" / "questions.py"
    return write_notebook(
        folder / "package.ipynb", "import numpy as np", ("4.3", CONV),
        f"with open({str(questions)!r}, 'a') as f:\n"
        f"    f.write('\\ndef run_question(*a, **k):\\n    raise SystemExit(\"corrupted\")\\n')")


def attack_deletion(folder: Path, victims: list[Path]) -> Path:
    """A cell that deletes another student's submission and a file of the instructor's."""
    return write_notebook(
        folder / "deleter.ipynb", "import numpy as np\nimport os", ("4.3", CONV),
        f"for victim in {[str(v) for v in victims]!r}:\n"
        f"    try:\n        os.remove(victim)\n    except OSError as exc:\n        print(exc)")


def attack_gradescope(folder: Path, results: Path) -> Path:
    """On Gradescope: write results.json with full marks, then kill the grader."""
    forged = json.dumps({"score": 60, "tests": [], "output": "forged"})
    return write_notebook(
        folder / "gradescope.ipynb", "import numpy as np\nimport os, signal",
        f"try:\n    open({str(results)!r}, 'w').write({forged!r})\nexcept OSError as exc:\n    print(exc)\n"
        f"for pid in (os.getppid(), os.getpgid(0)):\n"
        f"    try:\n        os.kill(pid, signal.SIGKILL)\n    except OSError as exc:\n        print(exc)",
        ("4.3", CONV))


# --- the tests -------------------------------------------------------------------------------


def test_references_and_library_answers_score_zero_and_are_flagged(tmp_path):
    path = attack_references(tmp_path / "in")
    proc = run_grader(str(path), "--json", "--csv", str(tmp_path / "grades.csv"))
    result = json.loads(proc.stdout.splitlines()[-1])
    questions = by_id(result)
    assert result["score"] == 8 and questions["4.3"]["points"] == 8, proc.stdout
    for qid in ("4.1", "4.2", "4.4", "4.5", "4.6", "4.7"):
        assert questions[qid]["points"] == 0, (qid, questions[qid])
    for qid in ("4.1", "4.4", "4.5", "4.6", "4.7"):
        assert questions[qid]["flags"], (qid, questions[qid])
    assert "question bank" in " ".join(questions["4.1"]["flags"])
    assert "aibook.numpy_nn.conv2d" in " ".join(questions["4.4"]["flags"])
    assert "numpy_nn.rnn_step while it runs" in " ".join(questions["4.7"]["flags"])  # seen at run time
    assert "4.5: " in " ".join(result["flags"])
    header, row = (tmp_path / "grades.csv").read_text().splitlines()[:2]
    assert header.endswith(",error,flags") and "aibook.numpy_nn.max_pool2d" in row


def test_the_kernel_cannot_read_the_banks_or_the_answer_keys(tmp_path):
    private = [str(sandbox.GRADER / "banks" / "ch04.py"), str(ROOT / "solutions" / "ch04.ipynb")]
    probe = write_notebook(
        tmp_path / "in" / "probe.ipynb", "import numpy as np",
        ("4.3", "def conv_output_size(*args, **kwargs):  # 8 points if any file can be read\n"
                "    import os\n"
                f"    for path in {private!r}:\n"
                "        try:\n            open(path).read(1)\n            os.environ['READ'] = '1'\n"
                "        except OSError:\n            pass\n"
                "    if os.environ.get('READ'):\n"
                f"        {CONV.replace(chr(10), chr(10) + '        ')}\n"
                "        return conv_output_size(*args, **kwargs)\n"
                "    return -1"))
    if not sandbox.isolation().namespaces and any(
            sandbox.readable_by_others(p) for p in (sandbox.GRADER / "banks", ROOT / "solutions")):
        pytest.skip("no mount namespace here and the banks are world-readable: the grader warns instead")
    proc = run_grader(str(probe), "--json")
    assert by_id(json.loads(proc.stdout.splitlines()[-1]))["4.3"]["points"] == 0, proc.stdout


def test_forged_lines_through_proc_never_reach_the_grader_output(tmp_path):
    path = attack_stdout(tmp_path / "in")
    proc = run_grader(str(path), "--json")
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(line["notebook"], line["score"]) for line in lines] == [(str(path), 8)]


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        try:
            if entry.name.isdigit() and marker.encode() in Path(f"/proc/{entry.name}/cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_nothing_the_kernel_started_outlives_its_notebook(tmp_path):
    marker = f"aibook-detached-{os.getpid()}-{tmp_path.name}"
    csv_path = tmp_path / "out" / "grades.csv"
    csv_path.parent.mkdir()
    path = attack_detached(tmp_path / "in", csv_path, marker)
    proc = run_grader(str(path), "--csv", str(csv_path), "--jobs", "1")
    assert proc.returncode == 0, proc.stderr
    survivors = _processes_with(marker)
    for pid in survivors:  # leave nothing behind even when the test fails
        os.kill(pid, 9)
    assert survivors == []
    assert "forged" not in csv_path.read_text() and ",8," in csv_path.read_text()


def test_the_grader_package_cannot_be_changed(tmp_path):
    package = tmp_path / "package"
    shutil.copytree(ROOT / "aibook", package / "aibook",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    before = snapshot(package)
    env = {**os.environ, "PYTHONPATH": str(package)}
    path = attack_package(tmp_path / "in", package)
    first = run_grader(str(path), "--json", env=env, cwd=tmp_path)  # the copy is the grader's package
    second = run_grader(str(path), "--json", env=env, cwd=tmp_path)  # a later run is not corrupted either
    assert snapshot(package) == before
    for proc in (first, second):
        assert json.loads(proc.stdout.splitlines()[-1])["score"] == 8, proc.stderr


def test_a_submission_cannot_delete_other_files(tmp_path):
    folder = tmp_path / "class"
    other = write_notebook(folder / "other" / "ch04.ipynb", "import numpy as np", ("4.7", RNN))
    instructor = tmp_path / "instructor" / "roster.csv"
    instructor.parent.mkdir()
    instructor.write_text("student_id,name\n1,A\n")
    deleter = attack_deletion(folder / "deleter", [other, instructor])
    before = snapshot(tmp_path)
    proc = run_grader(str(deleter), str(other), "--json", "--jobs", "1")
    assert snapshot(tmp_path) == before
    scores = [json.loads(line)["score"] for line in proc.stdout.splitlines()]
    assert scores == [8, 6], proc.stdout


def _autograder(tmp_path: Path, notebook_of) -> tuple[Path, dict]:
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "results").mkdir()
    zipfile.ZipFile(build_zip(4, tmp_path / "ag.zip")).extractall(root / "source")
    notebook_of(root)
    (root / "source" / "run_autograder").chmod(0o755)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": PYTHON,
           "PYTHONPATH": str(root / "source" / "package")}
    return root, env


def test_gradescope_results_are_the_graders_own(tmp_path):
    root, env = _autograder(tmp_path, lambda r: attack_gradescope(
        r / "submission", r / "results" / "results.json"))
    done = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert results["score"] == 8 and "forged" not in json.dumps(results), results
    assert sum(t["max_score"] for t in results["tests"]) == 60


def test_gradescope_never_keeps_a_file_the_grader_did_not_write(tmp_path):
    forged = {"score": 60, "tests": [], "output": "forged"}

    def layout(root: Path) -> None:
        (root / "results" / "results.json").write_text(json.dumps(forged))
        shutil.copy(ROOT / "solutions" / "ch04.ipynb", root / "submission" / "ch04.ipynb")

    root, env = _autograder(tmp_path, layout)
    stub = tmp_path / "dying-python"
    stub.write_text("#!/bin/sh\necho 'error: killed' >&2\nkill -9 $$\n")  # a grader killed mid-run
    stub.chmod(0o755)
    done = subprocess.run([str(root / "source" / "run_autograder")],
                          env={**env, "AUTOGRADER_PYTHON": str(stub)}, capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert results["score"] == 0 and "forged" not in results["output"]
    assert results["output"].startswith("autograder error (exit 137): error: killed")
