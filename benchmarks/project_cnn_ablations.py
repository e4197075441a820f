"""Chapter 5 ablations of the book's recipe over seeds, chosen on validation, test reported once.

    python benchmarks/project_cnn_ablations.py --variants book const-0.05 --seeds 0 1 2 --threads 2
    python benchmarks/project_cnn_ablations.py --report      # the table of everything measured so far
    python benchmarks/project_cnn_ablations.py --report --variants book const-0.05   # only these rows

The variants ``seed-model``, ``article`` and ``article-fast-model`` fill the model × recipe 2×2
(``--report`` prints it after the table); ``article*`` train for 2 of the article's 20 epochs by
default (20 epochs of ``article`` take about 40 minutes a seed on one CPU thread); ``--epochs 20``
runs the article's full budget.

Each (variant, seed) trains the book's recipe (``BOOK_RECIPE``, ``BOOK_EPOCHS`` epochs on the
55,000 training images) with one change, evaluates on the 5,000 validation images after every
epoch and on the 10,000 test images once, at the end. Results are appended as JSON lines to
``aibook/results/project_cnn_ablations.jsonl`` (one line per run, with the date, machine and load
average), so a grid can be run in short pieces; ``aibook.ablations`` reads them for 5.4 and 5.5, and
``--report`` prints the mean and the range (min to max) over seeds of every variant as Markdown.
Decisions are made on the validation column; the test column reports the chosen recipe once.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from project_cnn import load_average, machine_description, parse_overrides  # noqa: E402

from aibook.ablations import (  # noqa: E402  (stored results and tables ship with the package)
    EPOCHS_OF_VARIANT,
    RESULTS,
    VARIANTS,
    report,
    two_by_two,
)


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
            # the whole curve: with a constant learning rate (the article's recipe) epoch k of a long
            # run is the state a k-epoch run ends in, so one 20-epoch run answers every shorter budget
            "val_acc_by_epoch": result.history.val_acc, "train_acc_by_epoch": result.history.train_acc,
            "train_loss_by_epoch": [round(v, 5) for v in result.history.train_loss],
            "val_acc_flip_averaged": flip_averaged_accuracy(result.model, *split["val"]),
            "test_acc_flip_averaged": flip_averaged_accuracy(result.model, *split["test"]),
            "images_per_second": round(result.images_per_second),
            "train_seconds": round(result.train_seconds, 1),
            "date": datetime.date.today().isoformat(),
            "machine": machine_description(threads or torch.get_num_threads(), "cpu"),
            "load_average": load_average()}


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
        print(report(args.results, args.variants, every_budget=True, flip_averaged=True))
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
