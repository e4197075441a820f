import nbformat

from aibook.booktools.nbrun import run_notebook


def write_nb(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)


def test_run_notebook_executes_in_order_in_its_folder(tmp_path):
    (tmp_path / "data.txt").write_text("42")
    path = tmp_path / "nb.ipynb"
    write_nb(path, "x = open('data.txt').read()", "print(x)")
    seconds = run_notebook(path, timeout=600)
    nb = nbformat.read(path, as_version=4)
    assert seconds > 0
    assert [c.execution_count for c in nb.cells] == [1, 2]
    assert nb.cells[1].outputs[0]["text"] == "42\n"


def test_run_notebook_without_saving_leaves_file_untouched(tmp_path):
    path = tmp_path / "nb.ipynb"
    write_nb(path, "print(1)")
    before = path.read_bytes()
    run_notebook(path, timeout=600, save=False)
    assert path.read_bytes() == before
