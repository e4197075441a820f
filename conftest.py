"""Test-session hooks: a per-notebook report of run time and checked outputs, and the measured
times behind the home page's run-time table (``_build/notebook-times.json``).

Time is reported, never judged: a busy machine makes every notebook slower, so no verdict of this
suite depends on wall-clock time. Each notebook's row shows its wall time and its kernel's CPU time
(``getrusage`` of the reaped kernel process, which load inflates far less); the notebooks over the
45-second budget and the ones that moved away from ``book/runtimes.json`` are listed as notes.

pytest-xdist sends every test report to the controller, where these hooks run, so the sums are
complete whatever the number of workers; the CPU time travels in the reports' user_properties.
"""

from __future__ import annotations

import os
import resource
from collections import defaultdict
from pathlib import Path

import pytest

from aibook.booktools import nbcheck, runtimes
from aibook.device import limit_threads_of_child_processes

# Kernels inherit this: one thread (PyTorch, BLAS, OpenMP) per notebook, two notebooks at a time on
# two cores, the same setting aibook.booktools.nbrun uses when the stored outputs are made.
limit_threads_of_child_processes(1)
os.environ.setdefault("AIBOOK_PROGRESS", "0")  # as aibook.booktools.nbrun: no progress bars in outputs

NOTEBOOK_BUDGET_S = 45.0  # on 2 quiet cores; reported, not enforced (load would make it flaky)
ROOT = Path(__file__).resolve().parent
_seconds: dict[str, float] = defaultdict(float)
_cpu_seconds: dict[str, float] = defaultdict(float)
_failed_cells: dict[str, int] = defaultdict(int)
_children_cpu_seen = [0.0]


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the CPU time of child processes reaped since the last report (with --dist loadfile a
    worker runs one notebook at a time, so a notebook's kernel is counted in that notebook's items)."""
    outcome = yield
    now = _children_cpu_s()
    outcome.get_result().user_properties.append(("children_cpu_s", now - _children_cpu_seen[0]))
    _children_cpu_seen[0] = now


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _seconds[path] += report.duration  # setup (kernel start) + call + teardown
        _cpu_seconds[path] += dict(report.user_properties).get("children_cpu_s", 0.0)
        if report.failed:
            _failed_cells[path] += 1


def _over_budget() -> list[str]:
    return [p for p, s in sorted(_seconds.items()) if s > NOTEBOOK_BUDGET_S]


def _off_record() -> list[tuple[str, float, float]]:
    """(notebook, recorded, measured) where the home page's run-time table differs from this run."""
    recorded = runtimes.load_json(ROOT / runtimes.RECORD).get("notebooks", {})
    return [(p, recorded[p], s) for p, s in sorted(_seconds.items())
            if p in recorded and not _failed_cells[p] and not runtimes.is_current(recorded[p], s)]


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    if not hasattr(session.config, "workerinput") and _seconds:  # the controller, after notebooks ran
        runtimes.save_measured(ROOT, {p: s for p, s in _seconds.items() if not _failed_cells[p]})


def pytest_terminal_summary(terminalreporter):
    if not _seconds:
        return
    tr = terminalreporter
    tr.section("notebooks: run time (reported, never a verdict) and share of checked outputs")
    tr.write_line(f"{'notebook':<52} {'wall s':>7} {'kernel CPU s':>13} {'checked':>9} {'failed cells':>13}")
    for path in sorted(_seconds):
        checked, total = nbcheck.checked_share(nbcheck.load(ROOT / path))
        flag = f"  over {NOTEBOOK_BUDGET_S:.0f} s" if _seconds[path] > NOTEBOOK_BUDGET_S else ""
        tr.write_line(f"{path:<52} {_seconds[path]:7.1f} {_cpu_seconds[path]:13.1f} "
                      f"{f'{checked}/{total}':>9} {_failed_cells[path]:>13}{flag}")
    total_wall, total_cpu = sum(_seconds.values()), sum(_cpu_seconds.values())
    tr.write_line(f"{'all notebooks':<52} {total_wall:7.1f} {total_cpu:13.1f}")
    if total_cpu and total_wall / total_cpu > 1.5:
        tr.write_line(f"note: wall time is {total_wall / total_cpu:.1f}x the kernels' CPU time: the machine "
                      "was busy, so the wall times above overstate what a quiet machine takes")
    for path in _over_budget():
        tr.write_line(f"note: {path} took {_seconds[path]:.0f} s wall, {_cpu_seconds[path]:.0f} s kernel "
                      f"CPU; the budget is {NOTEBOOK_BUDGET_S:.0f} s on 2 quiet cores")
    off = _off_record()
    if off:
        tr.write_line(f"note: {len(off)} notebook(s) moved away from {runtimes.RECORD} (the home page's "
                      "table); after a full 'make test' on a quiet machine, run "
                      "'.venv/bin/python -m aibook.booktools.runtimes update' and commit it:")
        for path, recorded, measured in off:
            tr.write_line(f"      {path}: {measured:.0f} s now, {recorded:.0f} s recorded")
