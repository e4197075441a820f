"""Issue 27's before/after table: grade each hostile or clumsy notebook of
``tests/test_grader_attacks.py`` and ``tests/test_grader_cells.py`` with one version of the grader
and print one line per case: the score it got and what happened.

    python benchmarks/grade_attacks.py                      # this checkout's grader
    git archive OLD aibook | tar -x -C /tmp/old && python benchmarks/grade_attacks.py --grader /tmp/old

A report, not a test (it waits for detached processes and prints what it saw). Run as root, like
the tests, so the grader can isolate the learner's code.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import test_grader_attacks as attacks  # noqa: E402
import test_grader_cells as cells  # noqa: E402
from test_grading import snapshot  # noqa: E402


class Grader:
    """One version of the grader: its package folder on PYTHONPATH, run in a child process."""

    def __init__(self, package: Path) -> None:
        self.package = package
        self.env = {**os.environ, "PYTHONPATH": str(package)}
        self.help = self.run("--help").stdout

    def run(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        # cwd: `python -m` puts the working folder first on sys.path; it must not be this checkout
        return subprocess.run([sys.executable, "-m", "aibook.grader", *args], capture_output=True,
                              text=True, env=env or self.env, timeout=1800, cwd=self.package)

    def score(self, *args: str) -> tuple[int | None, subprocess.CompletedProcess]:
        proc = self.run(*args, "--json")
        lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        return (lines[0]["score"] if lines else None), proc


def case_references(g: Grader, tmp: Path) -> str:
    score, proc = g.score(str(attacks.attack_references(tmp)))
    flags = json.loads(proc.stdout.splitlines()[-1]).get("flags", []) if proc.stdout else []
    return f"{score}/60 ({len(flags)} flags; honest part 8)"


def case_gradescope(g: Grader, tmp: Path) -> str:
    root = tmp / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "results").mkdir()
    subprocess.run([sys.executable, "-m", "aibook.grader.gradescope", "4", "--out", str(tmp / "ag.zip")],
                   env=g.env, check=True, capture_output=True, cwd=g.package)
    zipfile.ZipFile(tmp / "ag.zip").extractall(root / "source")
    (root / "source" / "run_autograder").chmod(0o755)
    attacks.attack_gradescope(root / "submission", root / "results" / "results.json")
    env = {**g.env, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable,
           "PYTHONPATH": str(root / "source" / "package")}
    subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True, timeout=1800,
                   cwd=tmp)
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    whose = "forged" if results.get("output") == "forged" else "the grader's own"
    return f"{results['score']}/60 in results.json ({whose})"


def case_stdout(g: Grader, tmp: Path) -> str:
    proc = g.run(str(attacks.attack_stdout(tmp)), "--json")
    lines = proc.stdout.splitlines()
    first = json.loads(lines[0])["score"] if lines else None
    return f"first line says {first}/60 ({len(lines)} lines; honest 8)"


def case_detached(g: Grader, tmp: Path) -> str:
    target = tmp / "out" / "grades.csv"
    target.parent.mkdir()
    marker = f"aibook-detached-{os.getpid()}-bench"
    g.run(str(attacks.attack_detached(tmp / "in", target, marker)), "--csv", str(target))
    time.sleep(3)  # give a surviving process the time to rewrite the file
    survivors = attacks._processes_with(marker)
    for pid in survivors:
        os.kill(pid, 9)
    text = target.read_text() if target.exists() else ""
    return f"CSV {'forged (60)' if 'forged' in text else 'kept'}; {len(survivors)} processes survived"


def case_package(g: Grader, tmp: Path) -> str:
    package = tmp / "package"
    shutil.copytree(g.package / "aibook", package / "aibook",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    before = snapshot(package)
    copy = Grader.__new__(Grader)
    copy.package, copy.env = package, {**os.environ, "PYTHONPATH": str(package)}
    path = attacks.attack_package(tmp / "in", package)
    first, _ = copy.score(str(path))
    second, _ = copy.score(str(path))
    return f"{first}/60 then {second}/60; package {'changed' if snapshot(package) != before else 'intact'}"


def case_deletion(g: Grader, tmp: Path) -> str:
    other = attacks.write_notebook(tmp / "class" / "other" / "ch04.ipynb", "import numpy as np",
                                   ("4.7", attacks.RNN))
    instructor = tmp / "instructor" / "roster.csv"
    instructor.parent.mkdir()
    instructor.write_text("student_id,name\n")
    deleter = attacks.attack_deletion(tmp / "class" / "deleter", [other, instructor])
    g.run(str(deleter), str(other), "--jobs", "1")
    gone = [p.name for p in (other, instructor) if not p.exists()]
    return f"deleted: {', '.join(gone) or 'nothing'}"


def _cell_case(builder, *options):
    def run(g: Grader, tmp: Path) -> str:
        usable = [o for o in options if o.split("=")[0] in g.help]
        args = [a for o in usable for a in o.split("=")]
        start = time.monotonic()
        score, _ = g.score(str(builder(tmp)), "--timeout", "60", *args)
        return f"{score}/60 in {time.monotonic() - start:.0f} s"
    return run


def _slow_reader_case(builder):
    """A printing case graded with tests/slow_output loaded: every large printed message is slow to
    read, as on a slower machine (the verdict then does not depend on this machine's speed)."""
    def run(g: Grader, tmp: Path) -> str:
        env = {**g.env, "PYTHONPATH": f"{ROOT / 'tests' / 'slow_output'}{os.pathsep}{g.package}"}
        proc = g.run(str(builder(tmp)), "--json", env=env)
        lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        return f"{lines[0]['score']}/60" if lines else "no result"
    return run


CASES = {
    "1 reference / library answers": case_references,
    "2 Gradescope forged results.json + kill": case_gradescope,
    "3 forged lines via /proc/PID/fd/1": case_stdout,
    "4 detached process rewrites the CSV": case_detached,
    "5 edits the grader package": case_package,
    "6 deletes another submission + instructor file": case_deletion,
    "7 syntax error in 4.4 (right: 14)": _cell_case(cells.case_syntax_error),
    "8 endless loops in a cell and in check (right: 14)": _cell_case(
        cells.case_endless_loop, "--cell-timeout=5", "--call-timeout=3"),
    "9 prints 50 MB per call (right: 14)": _cell_case(cells.case_print_bomb),
    "9a prints 50 MB per call, slow reader (right: 14)": _slow_reader_case(cells.case_print_bomb),
    "9b a cell prints 40 MB, slow reader (right: 14)": _slow_reader_case(cells.case_printing_cell),
    "9c a cell prints without end (right: 14)": _cell_case(cells.case_endless_printing, "--cell-timeout=8"),
    "10 a cell runs out of memory (right: 14)": _cell_case(cells.case_memory_hog),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grader", type=Path, default=ROOT, help="folder holding the aibook package")
    parser.add_argument("--only", help="run the cases whose name contains this text")
    args = parser.parse_args()
    grader = Grader(args.grader.resolve())
    for name, case in CASES.items():
        if args.only and args.only not in name:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            try:
                outcome = case(grader, Path(tmp))
            except Exception as exc:  # a report: say what broke and go on
                outcome = f"could not run ({type(exc).__name__}: {exc})"
        print(f"{name:<52} {outcome}", flush=True)


if __name__ == "__main__":
    main()
