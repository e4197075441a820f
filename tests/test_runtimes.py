"""aibook.booktools.runtimes: the measured-times file, the record behind the home page, its tolerance."""

import json

import pytest

from aibook.booktools import runtimes


def test_tolerance_is_20_s_for_short_notebooks_and_75_percent_for_long_ones():
    assert runtimes.tolerance_s(5.0) == 20.0
    assert runtimes.tolerance_s(80.0) == 60.0
    assert runtimes.is_current(10.0, 29.0) and not runtimes.is_current(10.0, 31.0)
    assert runtimes.is_current(80.0, 25.0) and not runtimes.is_current(80.0, 19.0)


def test_measured_times_merge_across_runs_and_skip_exercises(tmp_path):
    runtimes.save_measured(tmp_path, {"book/a.ipynb": 3.14159, "exercises/ch04.ipynb": 1.0})
    runtimes.save_measured(tmp_path, {"solutions/ch04.ipynb": 9.0, "book/a.ipynb": 4.0})
    measured = json.loads((tmp_path / runtimes.MEASURED).read_text())
    assert measured == {"book/a.ipynb": 4.0, "solutions/ch04.ipynb": 9.0}


def test_update_writes_the_record_of_the_given_notebooks_only(tmp_path):
    (tmp_path / "book").mkdir()
    runtimes.save_measured(tmp_path, {"book/a.ipynb": 3.0, "book/gone.ipynb": 7.0})
    record = runtimes.update(tmp_path, ["book/a.ipynb"])
    assert record["notebooks"] == {"book/a.ipynb": 3.0}
    assert json.loads((tmp_path / runtimes.RECORD).read_text())["notebooks"] == {"book/a.ipynb": 3.0}
    assert "CPU cores" in record["machine"] and "pytest -n 2" in record["setting"]


def test_update_refuses_a_notebook_that_was_not_measured(tmp_path):
    runtimes.save_measured(tmp_path, {"book/a.ipynb": 3.0})
    with pytest.raises(ValueError, match="no measured time for book/b.ipynb: run 'make test' first"):
        runtimes.update(tmp_path, ["book/a.ipynb", "book/b.ipynb"])


def test_stale_entries_finds_missing_and_extra_notebooks():
    record = {"notebooks": {"book/a.ipynb": 1.0, "book/old.ipynb": 2.0}}
    assert runtimes.stale_entries(record, ["book/a.ipynb", "book/new.ipynb"]) == (
        ["book/new.ipynb"], ["book/old.ipynb"])


def test_command_line_reports_a_missing_measurement_in_one_line(tmp_path, capsys):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "x.ipynb").write_text("{}")
    assert runtimes.main(["update", "--root", str(tmp_path)]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: no measured time for book/x.ipynb: run 'make test' first")
