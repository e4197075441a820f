"""Chapter 5 benchmark scripts: options and output on tiny synthetic data (no timing is judged)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import project_cnn  # noqa: E402
from test_data import write_cifar  # noqa: E402

from aibook.recipes import BOOK_RECIPE  # noqa: E402


def test_cifar10_runs_on_synthetic_files_with_a_seed(tmp_path, monkeypatch, capsys):
    write_cifar(tmp_path / "cifar10" / "cifar-10-batches-py", per_batch=64)  # 2 batches of 256 a epoch
    monkeypatch.setenv("AIBOOK_DATA", str(tmp_path))
    argv = ["--dataset", "cifar10", "--seed", "3", "--only", "book", "--book-epochs", "1",
            "--evals-per-epoch", "2", "--val-size", "16", "--threads", "1"]
    assert project_cnn.main(argv) == 0
    out = capsys.readouterr().out
    assert "dataset: cifar10; seed: 3" in out and "final test accuracy" in out


def test_cifar10_missing_files_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("AIBOOK_DATA", str(tmp_path))
    with pytest.raises(SystemExit, match="--dataset cifar10 needs the CIFAR-10 files"):
        project_cnn.main(["--dataset", "cifar10", "--only", "book"])


def test_seed_changes_the_run_and_same_seed_repeats_it(tmp_path, monkeypatch):
    write_cifar(tmp_path / "cifar10" / "cifar-10-batches-py", per_batch=16)
    monkeypatch.setenv("AIBOOK_DATA", str(tmp_path))
    fields = project_cnn.dataclasses.asdict(BOOK_RECIPE)
    runs = [project_cnn.run_one(fields, 1, 1, "cpu", 1, None, "cifar10", seed, val_size=16)
            for seed in (0, 0, 1)]
    assert [r["seed"] for r in runs] == [0, 0, 1] and [r["dataset"] for r in runs] == ["cifar10"] * 3
    assert runs[0]["final_accuracy"] == runs[1]["final_accuracy"]


def test_timing_table_has_every_configuration_and_a_baseline_of_one(capsys):
    import project_cnn_timing

    assert project_cnn_timing.main(["--images", "64", "--rounds", "1"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")][1:]
    assert [r.split(" | ")[0][2:] for r in rows] == list(project_cnn_timing.CONFIGS)
    assert rows[0].endswith("| 1.00× (1.00–1.00) |")




def test_several_seeds_print_one_summary_with_the_goal(tmp_path, monkeypatch, capsys):
    write_cifar(tmp_path / "cifar10" / "cifar-10-batches-py", per_batch=64)
    monkeypatch.setenv("AIBOOK_DATA", str(tmp_path))
    argv = ["--dataset", "cifar10", "--seeds", "0", "1", "--only", "book", "--book-epochs", "1",
            "--evals-per-epoch", "1", "--val-size", "16", "--threads", "1"]
    assert project_cnn.main(argv) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| book |")]
    assert [row.split(" | ")[1] for row in rows] == ["0", "1"]
    assert "| book: mean (min–max) over 2 seeds |" in out
    assert "goal: book reaches >= 92% final test accuracy within 30 s of training: 0 of 2 seeds" in out
