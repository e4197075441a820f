"""Chapter 5 benchmark scripts: options and output on tiny synthetic data (no timing is judged)."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import project_cnn  # noqa: E402
import project_cnn_ablations  # noqa: E402
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


def test_ablation_report_gives_mean_and_range_over_seeds(tmp_path):
    rows = [{"variant": "book", "changes": [], "seed": s, "dataset": "fashion-mnist", "epochs": 5,
             "train_size": 55000, "val_acc": v, "test_acc": t, "date": "2026-12-01"}
            for s, v, t in [(0, 0.90, 0.91), (1, 0.92, 0.93), (2, 0.94, 0.92)]]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    table = project_cnn_ablations.report(path)
    row = "| fashion-mnist | 5 | book (none) | 0, 1, 2 | 92.00 % (90.00–94.00) | 92.00 % (91.00–93.00) |"
    assert row in table


def test_ablation_report_pairs_seeds_with_the_book_and_keeps_the_variants_order(tmp_path):
    def row(variant, seed, val):
        return {"variant": variant, "changes": project_cnn_ablations.VARIANTS[variant], "seed": seed,
                "dataset": "fashion-mnist", "epochs": 5, "train_size": 55000, "val_acc": val,
                "test_acc": 0.9, "date": "2026-12-01"}
    rows = [row("flip", 1, 0.915), row("book", 0, 0.90), row("flip", 0, 0.89), row("book", 1, 0.92),
            row("const-0.05", 0, 0.91)]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    lines = project_cnn_ablations.report(path).splitlines()[2:]
    assert [line.split(" | ")[2].split(" (")[0] for line in lines] == ["book", "const-0.05", "flip"]
    assert "| — |" in lines[0]
    assert "| 1.00 (1.00–1.00) |" in lines[1]  # 0.91 - 0.90 on seed 0
    assert "| -0.75 (-1.00–-0.50) |" in lines[2]  # seed 0: -1.0, seed 1: -0.5
    assert project_cnn_ablations.seed_accuracies("flip", "val", path) == {1: 0.915, 0: 0.89}
    only = project_cnn_ablations.report(path, ["book", "flip"]).splitlines()[2:]
    assert [line.split(" | ")[2].split(" (")[0] for line in only] == ["book", "flip"]


def test_timing_table_has_every_configuration_and_a_baseline_of_one(capsys):
    import project_cnn_timing

    assert project_cnn_timing.main(["--images", "64", "--rounds", "1"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")][1:]
    assert [r.split(" | ")[0][2:] for r in rows] == list(project_cnn_timing.CONFIGS)
    assert rows[0].endswith("| 1.00× (1.00–1.00) |")


def test_ablation_runs_repeated_keep_the_latest_and_fill_the_two_by_two(tmp_path):
    def row(variant, seed, val, epochs=5, **extra):
        return {"variant": variant, "changes": project_cnn_ablations.VARIANTS[variant], "seed": seed,
                "dataset": "fashion-mnist", "epochs": epochs, "train_size": 55000, "val_acc": val,
                "test_acc": 0.9, "date": "2026-12-01", **extra}
    rows = [row("book", 0, 0.90), row("book", 0, 0.90, val_acc_flip_averaged=0.91, images_per_second=100),
            row("book", 1, 0.92, val_acc_flip_averaged=0.93, images_per_second=300),
            row("article", 0, 0.88, epochs=2, images_per_second=10), row("article", 0, 0.70, epochs=5)]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert len(project_cnn_ablations.stored_runs(path)) == 4  # the repeated book seed 0 counted once
    book = next(line for line in project_cnn_ablations.report(path).splitlines() if "| book (none) |" in line)
    assert "| 0, 1 | 91.00 % (90.00–92.00) |" in book and "| 92.00 % (91.00–93.00) |" in book
    table = project_cnn_ablations.two_by_two(path).splitlines()
    assert table[2].startswith("| SeedCNN")
    assert "val 88.00 % (88.00–88.00), test 90.00 %, 1 seeds; 10 images/s" in table[2]
    assert "not measured" in table[2]  # the book's recipe on SeedCNN
    assert table[3].endswith("val 91.00 % (90.00–92.00), test 90.00 %, 2 seeds; 200 images/s |")


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
