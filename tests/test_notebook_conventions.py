"""The conventions of CONTRIBUTING.md, checked on every notebook of the book."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from aibook.booktools import nbcheck, notebook_fixes

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = nbcheck.list_notebooks(ROOT)
EXECUTED = [p for p in NOTEBOOKS if p.parts[0] in ("book", "solutions")]
REPO_URL = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"]


def toc_files() -> set[str]:
    text = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    return set(re.findall(r"file:\s*(\S+)", text)) | set(re.findall(r"root:\s*(\S+)", text))


def test_there_are_notebooks_to_check():
    assert EXECUTED, "no executed notebooks found under book/ or solutions/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=str)
def test_first_cell_is_the_colab_guarded_setup(path):
    first = nbcheck.source(nbcheck.code_cells(nbcheck.load(ROOT / path))[0])
    assert 'if "google.colab" in sys.modules:' in first, "first cell must guard the install"
    assert f'%pip install -q "aibook @ git+{REPO_URL}"' in first, (
        f"install URL must equal repository.url in _config.yml ({REPO_URL})"
    )
    assert "aibook.setup_notebook(" in first


@pytest.mark.parametrize("path", NOTEBOOKS, ids=str)
def test_notebook_is_listed_in_the_table_of_contents(path):
    assert str(path.with_suffix("")) in toc_files(), f"{path} is missing from _toc.yml"


@pytest.mark.parametrize("path", EXECUTED, ids=str)
def test_stored_as_executed_top_to_bottom(path):
    nb = nbcheck.load(ROOT / path)
    counts = nbcheck.execution_counts(nb)
    assert counts == list(range(1, len(counts) + 1)), (
        f"run '.venv/bin/python -m aibook.booktools.nbrun {path}' (execution counts {counts[:8]}...)"
    )


@pytest.mark.parametrize("path", EXECUTED, ids=str)
def test_outputs_are_clean(path):
    nb = nbcheck.load(ROOT / path)
    for i, cell in enumerate(nbcheck.code_cells(nb), 1):
        has_error = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        if has_error:
            assert "raises-exception" in nbcheck.tags(cell), f"cell {i} stores an error untagged"
    assert nbcheck.machine_paths(nb) == [], "outputs mention a machine path"
    assert (ROOT / path).stat().st_size < 3_000_000, "notebook over 3 MB: shrink its figures"


@pytest.mark.parametrize("path", EXECUTED, ids=str)
def test_at_least_90_percent_of_outputs_are_checked(path):
    nb = nbcheck.load(ROOT / path)
    checked, total = nbcheck.checked_share(nb)
    assert total == 0 or checked / total >= 0.9, f"only {checked}/{total} outputs checked"


@pytest.mark.parametrize("path", EXECUTED, ids=str)
def test_test_tool_reasons_live_in_cell_metadata(path):
    """Why a cell's output is not compared is a note for the test tool: it belongs in the cell's
    metadata, not in a comment every learner reads on the website and on Colab."""
    fix = f"run '.venv/bin/python -m aibook.booktools.notebook_fixes {path}'"
    for i, cell in enumerate(nbcheck.code_cells(nbcheck.load(ROOT / path)), 1):
        assert notebook_fixes.split_ignore_reason(nbcheck.source(cell))[1] is None, \
            f"code cell {i}: a test-tool comment is visible to learners: {fix}"
        if nbcheck.tags(cell) & nbcheck.IGNORE_TAGS:
            reason = cell["metadata"].get("aibook", {}).get(notebook_fixes.REASON_KEY, "")
            assert reason.strip(), (f"code cell {i} is not compared by the tests but does not say why: set "
                                    f'its metadata {{"aibook": {{"{notebook_fixes.REASON_KEY}": "..."}}}}')


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.parts[0] in ("exercises", "solutions")], ids=str)
def test_exercise_and_answer_pages_open_with_their_title(path):
    first = nbcheck.load(ROOT / path)["cells"][0]
    assert first["cell_type"] == "markdown" and nbcheck.source(first).startswith("# "), (
        f"the title cell must come before the setup cell: run '.venv/bin/python -m "
        f"aibook.booktools.notebook_fixes {path}' (solutions/), then 'make exercises'")


def test_every_toc_entry_exists():
    for entry in toc_files():
        assert any((ROOT / f"{entry}{ext}").is_file() for ext in (".md", ".ipynb")), entry


CHAPTER_NOTEBOOKS = [p for p in NOTEBOOKS if p.parts[0] == "book"]


def markdown_sources(path: Path) -> list[str]:
    return [nbcheck.source(c) for c in nbcheck.load(ROOT / path)["cells"] if c["cell_type"] == "markdown"]


@pytest.mark.parametrize("path", CHAPTER_NOTEBOOKS, ids=str)
def test_page_has_a_numbered_title_learning_goals_and_a_summary(path):
    assert nbcheck.load(ROOT / path)["cells"][0]["cell_type"] == "markdown", "the title cell comes first"
    cells = markdown_sources(path)
    title = cells[0].lstrip().splitlines()[0]
    chapter = int(path.name[:2])
    assert re.fullmatch(rf"# {chapter}\.\d+ \S.*", title), f"first line {title!r} is not '# {chapter}.k 标题'"
    assert "学习目标" in cells[0], "the title cell must list the page's 学习目标 (learning goals)"
    assert any("小结" in cell for cell in cells[-2:]), "the page must end with a 小结 (summary)"


@pytest.mark.parametrize("path", CHAPTER_NOTEBOOKS, ids=str)
def test_notebook_says_whether_a_gpu_helps(path):
    gpu = nbcheck.load(ROOT / path)["metadata"].get("aibook", {}).get("gpu")
    assert isinstance(gpu, bool), 'set the notebook metadata {"aibook": {"gpu": true|false}} (run-time table)'


def test_run_time_table_lists_every_executed_notebook():
    from aibook.booktools import runtimes

    record = runtimes.load_json(ROOT / runtimes.RECORD)
    missing, extra = runtimes.stale_entries(record, [str(p) for p in EXECUTED])
    assert not missing and not extra, (
        f"book/runtimes.json: missing {missing}, stale {extra}: after 'make test', run "
        "'.venv/bin/python -m aibook.booktools.runtimes update'")
