"""aibook.seed_studies: reading the stored multi-seed runs that the pages of Chapters 2 and 6 show."""

from __future__ import annotations

import json

import pytest

from aibook import seed_studies


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def run(seed, acc, setting="rnn, curriculum", study="rnn-memory", **extra):
    return {"study": study, "setting": setting, "seed": seed, "acc": acc, "date": f"2026-12-0{seed + 1}",
            "machine": "test machine", **extra}


def test_per_seed_is_in_seed_order_and_the_latest_line_wins(tmp_path):
    path = tmp_path / "runs.jsonl"
    write(path, [run(s, 0.5 + s / 10) for s in (4, 3, 2, 1, 0)] + [run(2, 0.99)])
    found = seed_studies.per_seed("rnn-memory", "rnn, curriculum", "acc", path=path)
    assert found == [0.5, 0.6, 0.99, 0.8, 0.9]


def test_epochs_and_studies_are_kept_apart(tmp_path):
    path = tmp_path / "runs.jsonl"
    rows = [run(s, 0.1, setting="plain", study="augmentation", epochs=5) for s in range(5)]
    rows += [run(s, 0.2, setting="plain", study="augmentation", epochs=15) for s in range(5)]
    rows += [run(s, 0.3, setting="plain") for s in range(5)]
    write(path, rows)
    assert seed_studies.per_seed("augmentation", "plain", "acc", 15, path=path) == [0.2] * 5
    assert seed_studies.per_seed("augmentation", "plain", "acc", 5, path=path) == [0.1] * 5


def test_a_missing_seed_says_which_command_makes_it(tmp_path):
    path = tmp_path / "runs.jsonl"
    write(path, [run(s, 0.5) for s in range(4)])
    with pytest.raises(LookupError, match=r"seeds \[4\].*benchmarks/seed_studies.py rnn-memory"):
        seed_studies.per_seed("rnn-memory", "rnn, curriculum", "acc", path=path)


def test_row_describe_and_report(tmp_path):
    path = tmp_path / "runs.jsonl"
    write(path, [run(s, 0.5 + s / 10) for s in range(5)])
    cells = seed_studies.row([0.5, 0.6, 0.7, 0.8, 0.9]).split()
    assert cells == ["0.500", "0.600", "0.700", "0.800", "0.900", "0.700", "0.400"]
    assert seed_studies.header("x").split()[-2:] == ["mean", "range"]
    assert "2026-12-01–2026-12-05, test machine" in seed_studies.describe("rnn-memory", path)
    assert "rnn, curriculum / acc" in seed_studies.report(path=path)


def test_the_shipped_results_cover_every_seed_of_every_study_the_pages_read():
    for study, setting, metric, epochs in [("rnn-memory", "lstm, forget bias 0, curriculum", "acc", None),
                                           ("augmentation", "flip+shift", "shifted", 15),
                                           ("box-weight", "box weight 1", "val_class_acc", 8)]:
        assert len(seed_studies.per_seed(study, setting, metric, epochs)) == 5


def test_the_benchmark_runs_cells_that_exist_on_its_pages():
    """benchmarks/seed_studies.py runs page cells by id: renaming or deleting one must fail here."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    tree = ast.parse((root / "benchmarks" / "seed_studies.py").read_text(encoding="utf-8"))
    pages = next(ast.literal_eval(node.value) for node in tree.body
                 if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PAGES")
    assert set(pages) == {"rnn-memory", "augmentation", "box-weight"}
    for page, cell_ids in pages.values():
        cells = {c["id"]: c for c in json.loads((root / page).read_text(encoding="utf-8"))["cells"]}
        assert all(cells[i]["cell_type"] == "code" for i in cell_ids), page
