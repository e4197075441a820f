"""Chapter 5's ablation grid, as stored: which variants of the book's recipe were trained, and the
tables that 5.4 and 5.5 show.

The runs are made by ``benchmarks/project_cnn_ablations.py`` (it needs a clone of the repository and
minutes per run); their results ship with the package in ``aibook/results/project_cnn_ablations.jsonl``,
one JSON line per (variant, seed), so the chapters show them on Colab too. Decisions are made on the
validation accuracy; the test accuracy is reported once, for the recipe chosen.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from aibook.recipes import BOOK_EPOCHS

RESULTS = Path(__file__).resolve().parent / "results" / "project_cnn_ablations.jsonl"

# one change to the book's recipe each (FIELD=VALUE as for project_cnn.py --set)
VARIANTS: dict[str, list[str]] = {
    "book": [],
    "const-0.2": ["schedule=constant"],
    "const-0.1": ["schedule=constant", "lr=0.1"],
    "const-0.05": ["schedule=constant", "lr=0.05"],
    "const-0.02": ["schedule=constant", "lr=0.02"],
    "no-bn": ["model=fast-nobn"],  # same peak learning rate 0.2 as the book's recipe
    "no-bn-0.05": ["model=fast-nobn", "lr=0.05"],
    "flip": ["augment=flip"],
    "no-label-smoothing": ["label_smoothing=0.0"],
    "no-weight-decay": ["weight_decay=0.0"],
    "adam-1e-3": ["optimizer=adam", "lr=0.001"],
    "batch-64": ["batch_size=64", "lr=0.05"],
    # the model x recipe 2x2: the book's recipe with the article's model, the article's recipe
    # (its 2 epochs) with either model
    "seed-model": ["model=seed"],
    "article": ["model=seed", "pipeline=per-sample", "batch_size=64", "optimizer=adam", "lr=0.001",
                "weight_decay=0.0", "schedule=constant", "channels_last=false", "label_smoothing=0.0",
                "article_normalization=true"],
    "article-fast-model": ["pipeline=per-sample", "batch_size=64", "optimizer=adam", "lr=0.001",
                           "weight_decay=0.0", "schedule=constant", "channels_last=false",
                           "label_smoothing=0.0", "article_normalization=true"],
}
ARTICLE_EPOCHS = 20  # the article's num_epochs
# The grid trains the article's recipe for 2 of its 20 epochs: 20 epochs of SeedCNN take about 40 min a
# seed on one CPU thread. ``--epochs 20`` runs of ``article-fast-model`` store the whole curve.
ARTICLE_RECIPE_EPOCHS_RUN = 2
EPOCHS_OF_VARIANT = {"article": ARTICLE_RECIPE_EPOCHS_RUN, "article-fast-model": ARTICLE_RECIPE_EPOCHS_RUN}


def seed_accuracies(variant: str, split: str = "val", path: Path = RESULTS, dataset: str = "fashion-mnist",
                    epochs: int | None = None, train_size: int = 55_000) -> dict[int, float]:
    """{seed: accuracy on ``split`` ("val", "test", "val_acc_flip_averaged"...)} of the stored runs of one
    variant (default: its own budget, ``BOOK_EPOCHS`` epochs for all but the article's recipe, on all
    55,000 Fashion-MNIST training images)."""
    epochs = epochs or EPOCHS_OF_VARIANT.get(variant, BOOK_EPOCHS)
    key = split if split.endswith("averaged") else f"{split}_acc"
    wanted = (variant, dataset, epochs, train_size)
    return {r["seed"]: r[key] for r in stored_runs(path)
            if (r["variant"], r["dataset"], r["epochs"], r["train_size"]) == wanted and key in r}


def validation_curves(variant: str, epochs: int, path: Path = RESULTS,
                      dataset: str = "fashion-mnist") -> dict[int, list[float]]:
    """{seed: validation accuracy after each epoch} of the stored ``epochs``-epoch runs of one variant
    on all 55,000 training images (runs that recorded their curve)."""
    wanted = (variant, dataset, epochs, 55_000)
    return {r["seed"]: r["val_acc_by_epoch"] for r in stored_runs(path) if "val_acc_by_epoch" in r
            and (r["variant"], r["dataset"], r["epochs"], r["train_size"]) == wanted}


def stored_runs(path: Path = RESULTS) -> list[dict]:
    """Every stored run; where a (dataset, epochs, train size, variant, seed) was run again, the
    latest line wins (accuracies are deterministic on one machine, the later line has more fields)."""
    latest: dict[tuple, dict] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        latest[(r["dataset"], r["epochs"], r["train_size"], r["variant"], r["seed"])] = r
    return list(latest.values())


def _mean_range(values: list[float], unit: str = "") -> str:
    return f"{statistics.mean(values):.2f}{unit} ({min(values):.2f}–{max(values):.2f})"


def own_budget(run: dict) -> bool:
    """Whether a run used its variant's own budget (all 55,000 images, its default epochs)."""
    return run["train_size"] == 55_000 and run["epochs"] == EPOCHS_OF_VARIANT.get(run["variant"], BOOK_EPOCHS)


def report(path: Path = RESULTS, variants: list[str] | None = None, every_budget: bool = False,
           flip_averaged: bool = False) -> str:
    """Markdown table: per variant (in ``VARIANTS`` order), mean and range over seeds, and the
    paired difference from the book's recipe on validation (same seed, so same initial weights).
    Only runs of each variant's own budget, unless ``every_budget`` (other epochs, fewer images);
    with ``flip_averaged`` also the validation accuracy with test-time flip averaging."""
    runs_all = stored_runs(path)
    rows: dict[tuple, list[dict]] = {}
    for r in runs_all:
        if (variants is None or r["variant"] in variants) and (every_budget or own_budget(r)):
            rows.setdefault((r["dataset"], r["epochs"], r["train_size"], r["variant"]), []).append(r)
    book_val = {(r["dataset"], r["epochs"], r["train_size"], r["seed"]): r["val_acc"]
                for r in runs_all if r["variant"] == "book"}
    order = list(VARIANTS)
    out = ["| dataset | epochs | variant (change to the book's recipe) | seeds "
           "| validation acc. mean (min–max) "
           "| test acc. mean (min–max) | validation − book's, same seed, points: mean (min–max) "
           + ("| validation, flip-averaged " if flip_averaged else "") + "| dates |",
           "|" + "---|" * (9 if flip_averaged else 8)]

    def position(key: tuple) -> tuple:
        return key[0], key[2], order.index(key[3]) if key[3] in order else len(order), key[1]

    for key in sorted(rows, key=position):
        dataset, epochs, train_size, variant = key
        runs = sorted(rows[key], key=lambda r: r["seed"])
        val = _mean_range([100 * r["val_acc"] for r in runs], " %")
        test = _mean_range([100 * r["test_acc"] for r in runs], " %")
        paired = [100 * (r["val_acc"] - book_val[(dataset, epochs, train_size, r["seed"])]) for r in runs
                  if (dataset, epochs, train_size, r["seed"]) in book_val]
        delta = "—" if variant == "book" or not paired else _mean_range(paired)
        flip = "—"
        if all("val_acc_flip_averaged" in r for r in runs):
            flip = _mean_range([100 * r["val_acc_flip_averaged"] for r in runs], " %")
        change = ", ".join(runs[0]["changes"]) or "none"
        dates = ", ".join(sorted({r["date"] for r in runs}))
        seeds = ", ".join(str(r["seed"]) for r in runs)
        flip_cell = f"| {flip} " if flip_averaged else ""
        out.append(f"| {dataset} | {epochs} | {variant} ({change}) | {seeds} "
                   f"| {val} | {test} | {delta} {flip_cell}| {dates} |")
    return "\n".join(out)


TWO_BY_TWO = {("SeedCNN (the article's)", "article's recipe"): "article",
              ("SeedCNN (the article's)", "book's recipe"): "seed-model",
              ("FastCNN 16-32-64 (the book's)", "article's recipe"): "article-fast-model",
              ("FastCNN 16-32-64 (the book's)", "book's recipe"): "book"}


def two_by_two(path: Path = RESULTS, dataset: str = "fashion-mnist") -> str:
    """Markdown table, model × recipe: validation accuracy mean (min–max) over seeds, test mean, and
    the median training images/s; each recipe with its own epochs (2 of the article's 20, the book's 5)."""
    runs = stored_runs(path)
    recipes_ = ["article's recipe", "book's recipe"]
    # the pages say that these are the first 2 of the article's 20 epochs
    header = [f"{r} ({ARTICLE_RECIPE_EPOCHS_RUN if r.startswith('article') else BOOK_EPOCHS} epochs)"
              for r in recipes_]
    out = ["| model | " + " | ".join(header) + " |", "|---|---|---|"]
    for model in dict.fromkeys(m for m, _ in TWO_BY_TWO):
        cells = []
        for recipe in recipes_:
            variant = TWO_BY_TWO[(model, recipe)]
            mine = [r for r in runs if r["variant"] == variant and r["dataset"] == dataset and own_budget(r)]
            if not mine:
                cells.append("not measured")
                continue
            speed = [r["images_per_second"] for r in mine if "images_per_second" in r]
            cells.append(f"val {_mean_range([100 * r['val_acc'] for r in mine], ' %')}, "
                         f"test {statistics.mean(100 * r['test_acc'] for r in mine):.2f} %, "
                         f"{len(mine)} seeds"
                         + (f"; {statistics.median(speed):,.0f} images/s" if speed else ""))
        out.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(out)
