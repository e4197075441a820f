"""Alt text of figures: the apply script (unit tests) and the convention that every figure has one."""

from __future__ import annotations

import copy

import nbformat
import pytest

from aibook.booktools import figure_alt, nbcheck

ROOT = figure_alt.ROOT
ALT = figure_alt.load_alt_texts()
WITH_FIGURES = [p for p in nbcheck.list_notebooks(ROOT, ("book", "solutions"))
                if figure_alt.figure_cells(nbformat.read(ROOT / p, as_version=4))]


def _figure_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    plot = nbformat.v4.new_code_cell("plt.plot([1, 2])")
    data = {"image/png": "iVBOR", "text/plain": "<Figure>"}
    plot.outputs = [nbformat.v4.new_output("display_data", data=data)]
    text = nbformat.v4.new_code_cell("print(1)")
    text.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nb.cells = [plot, text]
    return nb


def test_apply_sets_metadata_only_and_is_idempotent():
    nb = _figure_notebook()
    plot_id = nb.cells[0].id
    before = copy.deepcopy(nb)
    assert figure_alt.missing(nb, {}) == [plot_id]
    assert figure_alt.apply(nb, {plot_id: "一条上升的直线"}) == [plot_id]
    assert nb.cells[0].metadata["mystnb"]["image"]["alt"] == "一条上升的直线"
    assert nb.cells[0].outputs == before.cells[0].outputs and nb.cells[0].source == before.cells[0].source
    assert nb.cells[1] == before.cells[1]
    assert figure_alt.apply(nb, {plot_id: "一条上升的直线"}) == []
    assert figure_alt.missing(nb, {plot_id: "一条上升的直线"}) == []


def test_a_text_only_in_the_cell_but_not_in_the_data_file_counts_as_missing():
    nb = _figure_notebook()
    figure_alt.apply(nb, {nb.cells[0].id: "旧文本"})
    assert figure_alt.missing(nb, {}) == [nb.cells[0].id]


def test_every_entry_of_the_data_file_names_an_existing_figure_cell():
    for path, texts in ALT.items():
        nb = nbformat.read(ROOT / path, as_version=4)
        figures = {c.id for c in figure_alt.figure_cells(nb)}
        stale = sorted(set(texts) - figures)
        assert not stale, f"{path}: {stale} are not figure cells (stale ids?)"
        for cell_id, text in texts.items():
            assert len(text) >= 10 and not text.startswith("_images"), f"{path} {cell_id}: say what it shows"


@pytest.mark.parametrize("path", WITH_FIGURES, ids=str)
def test_every_figure_has_alt_text(path):
    nb = nbformat.read(ROOT / path, as_version=4)
    key = path.as_posix()
    absent = figure_alt.missing(nb, ALT.get(key, {}))
    assert not absent, (f"figure cells {absent} have no alt text: add them to book/figure_alt.yml and run "
                        f"'python -m aibook.booktools.figure_alt apply {key}'")
