"""Chapter 5 ablations of the book's recipe over seeds, chosen on validation, test reported once.

    python benchmarks/project_cnn_ablations.py --variants book const-0.05 --seeds 0 1 2 --threads 2
    python benchmarks/project_cnn_ablations.py --report      # the table of everything measured so far
    python benchmarks/project_cnn_ablations.py --report --variants book const-0.05   # only these rows

The variants ``seed-model``, ``article`` and ``article-fast-model`` fill the model × recipe 2×2
(``--report`` prints it after the table); ``article*`` train for the article's 2 epochs.

Each (variant, seed) trains the book's recipe (``BOOK_RECIPE``, ``BOOK_EPOCHS`` epochs on the
55,000 training images) with one change, evaluates on the 5,000 validation images after every
epoch and on the 10,000 test images once, at the end. Results are appended as JSON lines to
``benchmarks/results/project_cnn_ablations.jsonl`` (one line per run, with the date, machine and
load average), so a grid can be run in short pieces; ``--report`` prints the mean and the range
(min to max) over seeds of every variant as a Markdown table. Decisions are made on the
validation column; the test column is there to report the chosen recipe once.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from project_cnn import load_average, machine_description, parse_overrides  # noqa: E402

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
ARTICLE_EPOCHS = 2  # the article trains for 2 epochs
EPOCHS_OF_VARIANT = {"article": ARTICLE_EPOCHS, "article-fast-model": ARTICLE_EPOCHS}


def flip_averaged_accuracy(model, x, y, batch_size: int = 1000) -> float:
    """Accuracy when the logits of each image and of its mirror image are averaged (test-time
    flip augmentation; it costs a second forward pass, no training)."""
    import torch

    model.eval()
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(y), batch_size):
            xb = x[i:i + batch_size]
            logits = model(xb) + model(xb.flip(-1))
            correct += (logits.argmax(1) == y[i:i + batch_size]).sum().item()
    return correct / len(y)


def run(variant: str, seed: int, dataset: str, threads: int | None, epochs: int | None,
        train_size: int | None) -> dict:
    import torch

    from aibook.image_data import TensorLoader, load_project_data
    from aibook.recipes import BOOK_EPOCHS, BOOK_RECIPE, input_statistics, train_recipe
    from aibook.train import evaluate

    if threads:
        torch.set_num_threads(threads)
    recipe = dataclasses.replace(parse_overrides(VARIANTS[variant], BOOK_RECIPE), name=variant)
    epochs = epochs or EPOCHS_OF_VARIANT.get(variant, BOOK_EPOCHS)
    data = load_project_data(dataset, val_size=5000, train_size=train_size)
    result = train_recipe(recipe, data, epochs, eval_split="val", seed=seed)
    split = {}
    for name in ("val", "test"):
        x, y = data.tensors(name, "cpu", *input_statistics(recipe, data))
        split[name] = (x.contiguous(memory_format=torch.channels_last) if recipe.channels_last else x, y)
    _, test_acc = evaluate(result.model, TensorLoader(*split["test"], batch_size=1000),
                           torch.nn.CrossEntropyLoss())
    return {"variant": variant, "changes": VARIANTS[variant], "seed": seed, "dataset": dataset,
            "epochs": epochs, "train_size": len(data.train.labels),
            "val_acc": result.history.val_acc[-1], "test_acc": test_acc,
            "val_acc_flip_averaged": flip_averaged_accuracy(result.model, *split["val"]),
            "test_acc_flip_averaged": flip_averaged_accuracy(result.model, *split["test"]),
            "images_per_second": round(result.images_per_second),
            "train_seconds": round(result.train_seconds, 1),
            "date": datetime.date.today().isoformat(),
            "machine": machine_description(threads or torch.get_num_threads(), "cpu"),
            "load_average": load_average()}


def seed_accuracies(variant: str, split: str = "val", path: Path = RESULTS, dataset: str = "fashion-mnist",
                    epochs: int | None = None, train_size: int = 55_000) -> dict[int, float]:
    """{seed: accuracy on ``split`` ("val", "test", "val_acc_flip_averaged"...)} of the stored runs of one
    variant (default: its own budget, ``BOOK_EPOCHS`` epochs for all but the article's recipe, on all
    55,000 Fashion-MNIST training images)."""
    from aibook.recipes import BOOK_EPOCHS

    epochs = epochs or EPOCHS_OF_VARIANT.get(variant, BOOK_EPOCHS)
    key = split if split.endswith("averaged") else f"{split}_acc"
    wanted = (variant, dataset, epochs, train_size)
    return {r["seed"]: r[key] for r in stored_runs(path)
            if (r["variant"], r["dataset"], r["epochs"], r["train_size"]) == wanted and key in r}


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


def report(path: Path = RESULTS, variants: list[str] | None = None) -> str:
    """Markdown table: per variant (in ``VARIANTS`` order), mean and range over seeds, and the
    paired difference from the book's recipe on validation (same seed, so same initial weights)."""
    runs_all = stored_runs(path)
    rows: dict[tuple, list[dict]] = {}
    for r in runs_all:
        if variants is None or r["variant"] in variants:
            rows.setdefault((r["dataset"], r["epochs"], r["train_size"], r["variant"]), []).append(r)
    book_val = {(r["dataset"], r["epochs"], r["train_size"], r["seed"]): r["val_acc"]
                for r in runs_all if r["variant"] == "book"}
    order = list(VARIANTS)
    out = ["| dataset | epochs | variant (change to the book's recipe) | seeds "
           "| validation acc. mean (min–max) "
           "| test acc. mean (min–max) | validation − book's, same seed, points: mean (min–max) "
           "| validation, flip-averaged | dates |",
           "|---|---|---|---|---|---|---|---|---|"]
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
        out.append(f"| {dataset} | {epochs} | {variant} ({change}) | {seeds} "
                   f"| {val} | {test} | {delta} | {flip} | {dates} |")
    return "\n".join(out)


TWO_BY_TWO = {("SeedCNN (the article's)", "article's recipe"): "article",
              ("SeedCNN (the article's)", "book's recipe"): "seed-model",
              ("FastCNN 16-32-64 (the book's)", "article's recipe"): "article-fast-model",
              ("FastCNN 16-32-64 (the book's)", "book's recipe"): "book"}


def two_by_two(path: Path = RESULTS, dataset: str = "fashion-mnist") -> str:
    """Markdown table, model × recipe: validation accuracy mean (min–max) over seeds, test mean, and
    the median training images/s; each recipe with its own epochs (article's 2, book's 5)."""
    from aibook.recipes import BOOK_EPOCHS

    runs = stored_runs(path)
    recipes_ = ["article's recipe", "book's recipe"]
    header = [f"{r} ({ARTICLE_EPOCHS if r.startswith('article') else BOOK_EPOCHS} epochs)" for r in recipes_]
    out = ["| model | " + " | ".join(header) + " |", "|---|---|---|"]
    for model in dict.fromkeys(m for m, _ in TWO_BY_TWO):
        cells = []
        for recipe in recipes_:
            variant = TWO_BY_TWO[(model, recipe)]
            epochs = EPOCHS_OF_VARIANT.get(variant, BOOK_EPOCHS)
            mine = [r for r in runs if r["variant"] == variant and r["dataset"] == dataset
                    and r["train_size"] == 55_000 and r["epochs"] == epochs]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="*", default=None, choices=sorted(VARIANTS),
                        help="default: book (with --report: every variant measured)")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "cifar10"])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None, help="default: BOOK_EPOCHS")
    parser.add_argument("--train-size", type=int, default=None, help="fewer training images (quick checks)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="JSON lines file to append to")
    parser.add_argument("--report", action="store_true", help="print the table of stored results and exit")
    args = parser.parse_args(argv)
    if args.report:
        print(report(args.results, args.variants))
        print()
        print(two_by_two(args.results, args.dataset))
        return 0
    args.results.parent.mkdir(parents=True, exist_ok=True)
    for variant in args.variants or ["book"]:
        for seed in args.seeds:
            start = time.perf_counter()
            r = run(variant, seed, args.dataset, args.threads, args.epochs, args.train_size)
            with args.results.open("a", encoding="utf-8") as f:
                f.write(json.dumps(r) + "\n")
            print(f"{variant:<20} seed {seed}: val {r['val_acc']:.4f} test {r['test_acc']:.4f} "
                  f"({r['train_seconds']:.1f} s training, {time.perf_counter() - start:.0f} s in all)",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
