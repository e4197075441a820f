import nbformat

from aibook.booktools import nbcheck


def make_nb():
    nb = nbformat.v4.new_notebook()
    out = nbformat.v4.new_output("stream", text="x\n")
    cells = [nbformat.v4.new_code_cell("print(1)", execution_count=1, outputs=[out]),
             nbformat.v4.new_code_cell("# wall time varies\nprint(2)", execution_count=2, outputs=[out]),
             nbformat.v4.new_code_cell("   ", execution_count=None),
             nbformat.v4.new_markdown_cell("text"),
             nbformat.v4.new_code_cell("x = 1", execution_count=3)]
    cells[1].metadata["tags"] = ["nbval-ignore-output"]
    nb.cells = cells
    return nbformat.from_dict(nb)


def test_checked_share_counts_only_cells_with_output():
    assert nbcheck.checked_share(make_nb()) == (1, 2)


def test_execution_counts_skip_empty_cells():
    assert nbcheck.execution_counts(make_nb()) == [1, 2, 3]


def test_machine_paths_found():
    nb = make_nb()
    nb.cells[0].outputs[0]["text"] = "File /tmp/ipykernel_123/456.py, line 1"
    assert nbcheck.machine_paths(nb) == [1]


def test_list_notebooks_ignores_checkpoints(tmp_path):
    (tmp_path / "book" / ".ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "book" / "a.ipynb").write_text("{}")
    (tmp_path / "book" / ".ipynb_checkpoints" / "a-checkpoint.ipynb").write_text("{}")
    assert [str(p) for p in nbcheck.list_notebooks(tmp_path)] == ["book/a.ipynb"]
