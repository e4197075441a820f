"""aibook.booktools.gpu_check, tried on the CPU: one notebook that runs, one that fails, the table."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from aibook.booktools import gpu_check

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = Path("book/03_algorithms/03_4_losses.ipynb")


def test_runs_a_notebook_on_a_device_without_rewriting_it(tmp_path, capsys):
    before = (ROOT / NOTEBOOK).read_bytes()
    broken = tmp_path / "broken.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("raise ValueError('on purpose')")]), broken)
    status = gpu_check.main(["--device", "cpu", "--no-benchmark", "--jobs", "2", "--root", str(ROOT),
                             "--notebooks", str(NOTEBOOK), str(broken)])
    out = capsys.readouterr().out
    assert status == 1  # one notebook failed
    lines = out.splitlines()
    assert lines[0].split() == ["notebook", "result", "cpu", "s", "CPU", "record", "s", "ratio"]
    ours = next(line for line in lines if line.startswith(str(NOTEBOOK)))
    recorded = json.loads((ROOT / "book/runtimes.json").read_text())["notebooks"][str(NOTEBOOK)]
    assert ours.split()[1] == "pass" and str(recorded) in ours.split()
    failed = next(line for line in lines if line.startswith(str(broken)))
    assert failed.split()[1] == "FAIL" and "ValueError: on purpose" in failed
    assert "1 passed, 1 failed" in lines
    assert (ROOT / NOTEBOOK).read_bytes() == before


def test_cuda_missing_is_one_clear_line(capsys):
    import pytest
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here, so the check would run instead of refusing")
    assert gpu_check.main(["--device", "cuda", "--root", str(ROOT)]) == 2
    assert "CUDA is not available here" in capsys.readouterr().err
