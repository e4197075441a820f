"""Chapter 5 throughput of training configurations: median of interleaved rounds, with the range.

    python benchmarks/project_cnn_timing.py --threads 1 --rounds 3

One timing of a short run on a shared machine can be off by tens of percent, so each
configuration is timed ``--rounds`` times, the rounds interleaved (1, 2, 3, …, 1, 2, 3, …) so that
a burst of load hits all of them alike; the speed-up of each round is taken against the baseline
of the same round. Printed: images/s (median and min–max) and the speed-up (median and min–max)
for each configuration of Section 5.4 (SeedCNN) and for the book's recipe (FastCNN), training
only, on ``--images`` Fashion-MNIST training images after one unrecorded warm-up round.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from project_cnn import load_average, machine_description  # noqa: E402

CONFIGS = {
    "1 article pipeline (batch 64)": dict(model="seed", pipeline="per-sample", batch_size=64, lr=1e-3),
    "2 tensors": dict(model="seed", pipeline="tensors", batch_size=64, lr=1e-3),
    "3 batch 256": dict(model="seed", batch_size=256, lr=2e-3),
    "4 + channels_last": dict(model="seed", batch_size=256, lr=2e-3, channels_last=True),
    "book recipe (FastCNN)": None,  # BOOK_RECIPE as it is
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--images", type=int, default=1024, help="training images per timing")
    args = parser.parse_args(argv)

    import torch

    from aibook import data as datasets
    from aibook.image_data import load_project_data
    from aibook.recipes import BOOK_RECIPE, Recipe, train_recipe

    torch.set_num_threads(args.threads)
    data = load_project_data("fashion-mnist", val_size=5000, train_size=args.images)
    tiny = datasets.Split(data.val.images[:10], data.val.labels[:10])  # evaluation is not what we time
    data = dataclasses.replace(data, val=tiny)
    recipes = {name: BOOK_RECIPE if fields is None else Recipe(name, **fields)
               for name, fields in CONFIGS.items()}
    print(f"{datetime.date.today()}; machine: {machine_description(args.threads, 'cpu')}; "
          f"load average at start: {load_average()}")
    for recipe in recipes.values():  # warm-up: oneDNN picks and caches its kernels on first use
        train_recipe(dataclasses.replace(recipe), data, 1)
    speed: dict[str, list[float]] = {name: [] for name in recipes}
    for _ in range(args.rounds):
        for name, recipe in recipes.items():
            speed[name].append(train_recipe(recipe, data, 1).images_per_second)
    base = speed[next(iter(recipes))]
    print(f"load average at end: {load_average()}\n")
    print(f"| configuration | images/s, median (min–max) of {args.rounds} "
          "| speed-up vs 1, median (min–max) |")
    print("|---|---|---|")
    for name, values in speed.items():
        ratios = [v / b for v, b in zip(values, base, strict=True)]
        print(f"| {name} | {statistics.median(values):,.0f} ({min(values):,.0f}–{max(values):,.0f}) "
              f"| {statistics.median(ratios):.2f}× ({min(ratios):.2f}–{max(ratios):.2f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
