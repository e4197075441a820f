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


# matplotlib calls that put text into a figure, and keywords that do so in any call (README: figure text)
TEXT_CALLS = {"xlabel", "ylabel", "title", "suptitle", "set_xlabel", "set_ylabel", "set_title", "text",
              "annotate", "legend", "figtext", "set_xticklabels", "set_yticklabels", "bar_label"}
TEXT_KEYWORDS = {"label", "title", "xlabel", "ylabel", "labels"}


def chinese_figure_text(source: str) -> list[str]:
    """Chinese strings that a cell passes to matplotlib as figure text (they render as boxes where
    no CJK font is installed, e.g. on Colab); interact_frames' reader-facing labels and alt text are not."""
    import ast
    import re

    cjk = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")
    code = "\n".join(line[: len(line) - len(line.lstrip())] + "pass" if line.lstrip().startswith(("%", "!"))
                     else line for line in source.splitlines())  # IPython magics
    found = []
    for call in (n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Call)):
        name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        if name == "interact_frames":
            continue
        parts = list(call.args) + [k.value for k in call.keywords] if name in TEXT_CALLS else \
            [k.value for k in call.keywords if k.arg in TEXT_KEYWORDS]
        for part in parts:
            for node in ast.walk(part):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and cjk.search(node.value):
                    found.append(f"{name}(... {node.value!r})")
    return found


def test_chinese_figure_text_is_found_and_interact_frames_labels_are_not():
    assert chinese_figure_text('ax.set(xlabel="step")\nplt.title("损失")\nax.plot(x, label=f"第{i}次")') \
        == ["title(... '损失')", "plot(... '第')", "plot(... '次')"]
    assert chinese_figure_text('_ = interact_frames(f, lr=[1, 2], labels={"lr": "学习率"}, alt="图")') == []


@pytest.mark.parametrize("notebook", WITH_FIGURES, ids=str)
def test_figures_keep_english_text_so_they_render_without_a_cjk_font(notebook):
    cells = nbcheck.code_cells(nbformat.read(ROOT / notebook, as_version=4))
    found = [f"cell {i}: {text}" for i, cell in enumerate(cells)
             for text in chinese_figure_text(nbcheck.source(cell))]
    assert found == [], f"{notebook}: Chinese figure text (keep English labels; README): {found}"
