"""Each answer graded on its own (issue 27, item 3): every cell runs with its own time limit, an
error is recorded rather than fatal, the learner's own ``check`` calls are skipped, and what an
answer prints is dropped. The notebooks are built by ``case_*`` functions, graded here and by
``benchmarks/grade_attacks.py`` (before/after table)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from test_grading import CONV, RNN, write_notebook

ROOT = Path(__file__).resolve().parents[1]

LOOPING_POOL = "def max_pool2d(x, kernel, stride=None):\n    while True:\n        pass"


def case_syntax_error(folder: Path) -> Path:
    """A syntax error in 4.4's answer; 4.3 before it and 4.7 after it are right."""
    return write_notebook(folder / "syntax.ipynb", "import numpy as np", ("4.3", CONV),
                          ("4.4", "def conv2d(x, w, b, stride=1, padding=0):\n    return x +* w"),
                          ("4.7", RNN))


def case_endless_loop(folder: Path) -> Path:
    """An endless loop in a cell of its own, and one in 4.5 that the learner's check cell runs."""
    return write_notebook(folder / "loop.ipynb", "import numpy as np\nfrom aibook.grader import check",
                          ("4.3", CONV), "while True:\n    pass", ("4.5", LOOPING_POOL),
                          'check("4.5", max_pool2d)', ("4.7", RNN))


def case_print_bomb(folder: Path) -> Path:
    """A right 4.3 that prints 50 MB per call."""
    noisy = CONV.replace("    return size", "    print('x' * 50_000_000)\n    return size")
    return write_notebook(folder / "bomb.ipynb", "import numpy as np", ("4.3", noisy), ("4.7", RNN))


def case_printing_cell(folder: Path) -> Path:
    """A right 4.3 and 4.7 and, between them, a cell that prints 20 messages of 2 MB each."""
    return write_notebook(folder / "printing_cell.ipynb", "import numpy as np", ("4.3", CONV),
                          "for _ in range(20):\n    print('x' * 2_000_000, flush=True)", ("4.7", RNN))


def case_endless_printing(folder: Path) -> Path:
    """A right 4.3 and 4.7 and, between them, a cell that prints 100,000 characters in an endless loop:
    it must cost its own cell's time limit and nothing else."""
    return write_notebook(folder / "endless_printing.ipynb", "import numpy as np", ("4.3", CONV),
                          "while True:\n    print('x' * 100_000)", ("4.7", RNN))


def case_memory_hog(folder: Path) -> Path:
    """A right 4.3 and 4.7 and, between them, a cell that keeps allocating until MemoryError."""
    return write_notebook(folder / "memory_hog.ipynb", "import numpy as np", ("4.3", CONV),
                          "hog = []\nwhile True:\n    hog.append(bytearray(10**7))", ("4.7", RNN))


def grade(path: Path, *options: str, env: dict | None = None) -> dict:
    """The grader's JSON line for one notebook; the subprocess timeout only stops a hung grader."""
    proc = subprocess.run([sys.executable, "-m", "aibook.grader", str(path), "--json", *options],
                          capture_output=True, text=True, timeout=900, cwd=ROOT, env=env)
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def points(result: dict) -> dict[str, int]:
    return {q["id"]: q["points"] for q in result["questions"]}


def messages(result: dict) -> dict[str, str]:
    return {q["id"]: q["message"] for q in result["questions"]}


def test_a_syntax_error_costs_only_its_own_answer(tmp_path):
    result = grade(case_syntax_error(tmp_path))
    assert points(result)["4.3"] == 8 and points(result)["4.7"] == 6 and points(result)["4.4"] == 0
    assert messages(result)["4.4"].startswith("its answer cell 3 failed (SyntaxError")


def test_endless_loops_cost_only_their_own_cell_and_answer(tmp_path):
    result = grade(case_endless_loop(tmp_path), "--cell-timeout", "5", "--call-timeout", "3")
    assert points(result)["4.3"] == 8 and points(result)["4.7"] == 6 and points(result)["4.5"] == 0
    assert "timed out after 3 s" in messages(result)["4.5"]
    assert "not run: an earlier test of 4.5 killed or hung the kernel" in messages(result)["4.5"]
    assert result["cell_errors"] == {"3": "timed out after 5 s"}  # the check cell was skipped


def slow_reader_env() -> dict:
    """The grader's environment with ``tests/slow_output`` loaded: each printed message over 1 MB
    takes it 10 s to read, as on a slow machine, so the verdict does not hang on this one's speed."""
    return {**os.environ, "PYTHONPATH": str(ROOT / "tests" / "slow_output"),
            "AIBOOK_SLOW_OUTPUT_SECONDS": "10"}


def test_printing_costs_nothing_else(tmp_path):
    result = grade(case_print_bomb(tmp_path))
    assert points(result) == {"4.1": 0, "4.2": 0, "4.3": 8, "4.4": 0, "4.5": 0, "4.6": 0, "4.7": 6}


def test_printing_costs_nothing_however_slowly_the_grader_reads_output(tmp_path):
    """Before: nbclient gave up on the output 4 s after the kernel's reply, and the grader's result
    came after the megabytes printed: 4.3 lost 8 of 8 (printing per call) and the evaluations after
    a printing cell lost theirs. Now a cell's output over 100,000 characters never leaves the kernel."""
    for case in (case_print_bomb, case_printing_cell):
        result = grade(case(tmp_path), env=slow_reader_env())
        assert points(result) == {"4.1": 0, "4.2": 0, "4.3": 8, "4.4": 0, "4.5": 0, "4.6": 0, "4.7": 6}, \
            (case.__name__, messages(result))
        assert result["cell_errors"] == {}, case.__name__


def test_endless_printing_costs_only_its_own_cell(tmp_path):
    """Before: the text was capped only when the kernel's I/O thread sent it (every 0.2 s), and a loop
    printing faster than that filled the kernel's memory first: MemoryError in the loop, then in the
    answers graded after it (4.3 and 4.7 lost points in a hostile submission). Now the cap is counted
    where the text is written, and the loop only uses up its cell's time."""
    result = grade(case_endless_printing(tmp_path), "--cell-timeout", "8")
    assert points(result) == {"4.1": 0, "4.2": 0, "4.3": 8, "4.4": 0, "4.5": 0, "4.6": 0, "4.7": 6}, \
        messages(result)
    assert result["cell_errors"] == {"3": "timed out after 8 s"}


def test_a_cell_that_runs_out_of_memory_costs_only_itself(tmp_path):
    """Before: the memory stayed referenced by the cell's global, and 4.7's tests could not run
    (MemoryError; 1 of 6 points). Now the kernel is replaced and the cells that worked are replayed."""
    result = grade(case_memory_hog(tmp_path))
    assert points(result) == {"4.1": 0, "4.2": 0, "4.3": 8, "4.4": 0, "4.5": 0, "4.6": 0, "4.7": 6}, \
        messages(result)
    assert result["cell_errors"] == {"3": "MemoryError (graded on in a fresh kernel)"}
