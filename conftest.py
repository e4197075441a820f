"""Test-session hooks: a per-notebook timing and coverage report, the 120-second budget, and the
check that the home page's run-time table (book/runtimes.json) is current.

pytest-xdist sends every test report to the controller, where these hooks run, so the sums
are complete whatever the number of workers.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pytest

from aibook import nbcheck, runtimes

# Kernels inherit this: one PyTorch thread per notebook, two notebooks at a time on two cores,
# the same setting aibook.nbrun uses when the stored outputs are made.
os.environ.setdefault("AIBOOK_NUM_THREADS", "1")
os.environ.setdefault("AIBOOK_PROGRESS", "0")  # as aibook.nbrun: no progress bars in outputs

NOTEBOOK_BUDGET_S = 120.0
ROOT = Path(__file__).resolve().parent
_seconds: dict[str, float] = defaultdict(float)
_failed_cells: dict[str, int] = defaultdict(int)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _seconds[path] += report.duration  # setup (kernel start) + call + teardown
        if report.failed:
            _failed_cells[path] += 1


def _over_budget() -> list[str]:
    return [p for p, s in _seconds.items() if s > NOTEBOOK_BUDGET_S]


def _off_record() -> list[tuple[str, float, float]]:
    """(notebook, recorded, measured) where the home page's run-time table is out of date."""
    recorded = runtimes.load_json(ROOT / runtimes.RECORD).get("notebooks", {})
    return [(p, recorded[p], s) for p, s in sorted(_seconds.items())
            if p in recorded and not _failed_cells[p] and not runtimes.is_current(recorded[p], s)]


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    if not hasattr(session.config, "workerinput") and _seconds:  # the controller, after notebooks ran
        runtimes.save_measured(ROOT, {p: s for p, s in _seconds.items() if not _failed_cells[p]})
    if (_over_budget() or _off_record()) and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if not _seconds:
        return
    tr = terminalreporter
    tr.section("notebooks: run time and share of checked outputs")
    tr.write_line(f"{'notebook':<52} {'seconds':>8} {'checked':>9} {'failed cells':>13}")
    for path in sorted(_seconds):
        checked, total = nbcheck.checked_share(nbcheck.load(ROOT / path))
        share = f"{checked}/{total}"
        flag = "  OVER BUDGET" if _seconds[path] > NOTEBOOK_BUDGET_S else ""
        tr.write_line(f"{path:<52} {_seconds[path]:8.1f} {share:>9} {_failed_cells[path]:>13}{flag}")
    for path in _over_budget():
        tr.write_line(f"FAILED budget: {path} took {_seconds[path]:.0f} s > {NOTEBOOK_BUDGET_S:.0f} s",
                      red=True)
    for path, recorded, measured in _off_record():
        tr.write_line(f"FAILED run-time table: {path} took {measured:.0f} s, {runtimes.RECORD} says "
                      f"{recorded:.0f} s: after a full 'make test', run "
                      "'.venv/bin/python -m aibook.runtimes update' and commit it", red=True)
