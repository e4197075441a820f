"""aibook.ablations: the stored Chapter 5 grid and the tables 5.4 and 5.5 show from it."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from aibook import ablations

ROOT = Path(__file__).resolve().parents[1]


def test_ablation_report_gives_mean_and_range_over_seeds(tmp_path):
    rows = [{"variant": "book", "changes": [], "seed": s, "dataset": "fashion-mnist", "epochs": 5,
             "train_size": 55000, "val_acc": v, "test_acc": t, "date": "2026-12-01"}
            for s, v, t in [(0, 0.90, 0.91), (1, 0.92, 0.93), (2, 0.94, 0.92)]]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    table = ablations.report(path)
    row = "| fashion-mnist | 5 | book (none) | 0, 1, 2 | 92.00 % (90.00–94.00) | 92.00 % (91.00–93.00) |"
    assert row in table


def test_ablation_report_pairs_seeds_with_the_book_and_keeps_the_variants_order(tmp_path):
    def row(variant, seed, val):
        return {"variant": variant, "changes": ablations.VARIANTS[variant], "seed": seed,
                "dataset": "fashion-mnist", "epochs": 5, "train_size": 55000, "val_acc": val,
                "test_acc": 0.9, "date": "2026-12-01"}
    rows = [row("flip", 1, 0.915), row("book", 0, 0.90), row("flip", 0, 0.89), row("book", 1, 0.92),
            row("const-0.05", 0, 0.91)]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    lines = ablations.report(path).splitlines()[2:]
    assert [line.split(" | ")[2].split(" (")[0] for line in lines] == ["book", "const-0.05", "flip"]
    assert "| — |" in lines[0]
    assert "| 1.00 (1.00–1.00) |" in lines[1]  # 0.91 - 0.90 on seed 0
    assert "| -0.75 (-1.00–-0.50) |" in lines[2]  # seed 0: -1.0, seed 1: -0.5
    assert ablations.seed_accuracies("flip", "val", path) == {1: 0.915, 0: 0.89}
    only = ablations.report(path, ["book", "flip"]).splitlines()[2:]
    assert [line.split(" | ")[2].split(" (")[0] for line in only] == ["book", "flip"]




def test_ablation_runs_repeated_keep_the_latest_and_fill_the_two_by_two(tmp_path):
    def row(variant, seed, val, epochs=5, **extra):
        return {"variant": variant, "changes": ablations.VARIANTS[variant], "seed": seed,
                "dataset": "fashion-mnist", "epochs": epochs, "train_size": 55000, "val_acc": val,
                "test_acc": 0.9, "date": "2026-12-01", **extra}
    rows = [row("book", 0, 0.90), row("book", 0, 0.90, val_acc_flip_averaged=0.91, images_per_second=100),
            row("book", 1, 0.92, val_acc_flip_averaged=0.93, images_per_second=300),
            row("article", 0, 0.88, epochs=2, images_per_second=10), row("article", 0, 0.70, epochs=5)]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert len(ablations.stored_runs(path)) == 4  # the repeated book seed 0 counted once
    table = ablations.report(path, flip_averaged=True).splitlines()
    book = next(line for line in table if "| book (none) |" in line)
    assert "| 0, 1 | 91.00 % (90.00–92.00) |" in book and "| 92.00 % (91.00–93.00) |" in book
    table = ablations.two_by_two(path).splitlines()
    assert table[2].startswith("| SeedCNN")
    assert "val 88.00 % (88.00–88.00), test 90.00 %, 1 seeds; 10 images/s" in table[2]
    assert "not measured" in table[2]  # the book's recipe on SeedCNN
    assert table[3].endswith("val 91.00 % (90.00–92.00), test 90.00 %, 2 seeds; 200 images/s |")


def test_the_stored_results_ship_with_the_package_and_name_known_variants():
    # 5.4 and 5.5 read them on Colab, where only the installed package exists
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "results/*.jsonl" in package_data["aibook"]
    assert ablations.RESULTS.is_relative_to(Path(ablations.__file__).parent)
    runs = ablations.stored_runs()
    assert runs and {r["variant"] for r in runs} <= set(ablations.VARIANTS)
    for r in runs:
        assert 0 < r["val_acc"] <= 1 and 0 < r["test_acc"] <= 1 and r["seed"] in (0, 1, 2), r


def test_report_shows_other_budgets_only_when_asked(tmp_path):
    rows = [{"variant": "book", "changes": [], "seed": 0, "dataset": "fashion-mnist", "epochs": e,
             "train_size": n, "val_acc": 0.9, "test_acc": 0.9, "date": "2026-12-01"}
            for e, n in [(5, 55_000), (4, 55_000), (5, 2_000)]]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert len(ablations.report(path).splitlines()) == 3  # header, rule, the book's own budget
    assert len(ablations.report(path, every_budget=True).splitlines()) == 5


def test_the_article_variants_spell_the_articles_recipe():
    # the 2x2's "article" rows are written as changes to the book's recipe; they must not drift
    # from aibook.recipes.ARTICLE_RECIPE
    import dataclasses
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from project_cnn import parse_overrides

    from aibook.recipes import ARTICLE_RECIPE, BOOK_RECIPE

    article = parse_overrides(ablations.VARIANTS["article"], BOOK_RECIPE)
    fast = parse_overrides(ablations.VARIANTS["article-fast-model"], BOOK_RECIPE)
    same_but_name = dataclasses.replace(ARTICLE_RECIPE, name=BOOK_RECIPE.name, widths=BOOK_RECIPE.widths)
    assert article == same_but_name  # widths unused by SeedCNN
    assert fast == dataclasses.replace(same_but_name, model=BOOK_RECIPE.model)


def test_validation_curves_are_read_per_seed_for_one_budget(tmp_path):
    def row(seed, epochs, curve=None):
        r = {"variant": "article-fast-model", "changes": [], "seed": seed, "dataset": "fashion-mnist",
             "epochs": epochs, "train_size": 55000, "val_acc": 0.9, "test_acc": 0.9, "date": "2026-12-06"}
        return r | ({"val_acc_by_epoch": curve} if curve else {})
    rows = [row(0, 2), row(0, 3, [0.8, 0.85, 0.9]), row(1, 3, [0.7, 0.8, 0.88]), row(2, 3)]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    curves = ablations.validation_curves("article-fast-model", 3, path)
    assert curves == {0: [0.8, 0.85, 0.9], 1: [0.7, 0.8, 0.88]}
    assert ablations.validation_curves("article-fast-model", 2, path) == {}
    assert ablations.ARTICLE_EPOCHS == 20  # the article's num_epochs = 20
