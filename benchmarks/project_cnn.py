"""Chapter 5 benchmark: the book's training recipe against the article's, on Fashion-MNIST or CIFAR-10.

    python benchmarks/project_cnn.py                 # both recipes, CPU, all available threads
    python benchmarks/project_cnn.py --threads 2     # as on the book's 2-core machines
    python benchmarks/project_cnn.py --device cuda   # on a GPU (one untimed warm-up run first)
    python benchmarks/project_cnn.py --dataset cifar10 --seed 1   # CIFAR-10 files must be present
    python benchmarks/project_cnn.py --threads 2 --only book --seeds 0 1 2   # one summary over seeds

Each recipe trains in a fresh process (so its peak memory is its own) on the full training split
(55,000 images; 5,000 are held out for validation) and is evaluated on the 10,000 test images
``--evals-per-epoch`` times an epoch, the same cadence for both recipes (an evaluation after the
same number of images). Only training is timed; evaluation is not. Printed for each recipe: training
seconds to reach 90 % (and 91 %) test accuracy, images/s, peak resident memory (and how much it grew
while training; peak CUDA memory on a GPU), final test accuracy, and the ratio article/book. A recipe
that never reaches 90 % makes the ratio a lower bound (its whole training time). The article's
recipe is its CNN with the shapes fixed (``SeedCNN``), its per-sample transforms (normalisation with
mean = std = 0.5) through a ``DataLoader``, batch 64 and Adam 1e-3; the book's is ``BOOK_RECIPE``
in ``aibook/recipes.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context


def machine_description(threads: int, device: str) -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    text = f"{cpu}; {os.cpu_count()} logical CPUs, torch threads {threads}; torch {torch.__version__}"
    if device == "cuda":
        text += f"; GPU {torch.cuda.get_device_name(0)}"
    return text


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def reset_peak_rss() -> bool:
    """Reset this process's peak resident memory (Linux >= 4.0: ``clear_refs`` 5); False if unsupported."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="utf-8") as f:
            f.write("5")
        return True
    except OSError:
        return False


def rss_mib(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process in MiB, from /proc/self/status."""
    try:
        with open("/proc/self/status", encoding="utf-8") as f:
            line = next(line for line in f if line.startswith(field + ":"))
        return int(line.split()[1]) / 1024  # the value is in kB
    except (OSError, StopIteration, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_one(recipe_fields: dict, epochs: int, evals_per_epoch: int, device: str, threads: int | None,
            train_size: int | None = None, dataset: str = "fashion-mnist", seed: int = 0,
            val_size: int = 5000) -> dict:
    """Train one recipe in this (fresh) process and return its measurements."""
    import torch

    from aibook import data as datasets
    from aibook.image_data import load_project_data
    from aibook.recipes import Recipe, train_recipe

    if threads:
        torch.set_num_threads(threads)
    recipe = Recipe(**recipe_fields)
    data = load_project_data(dataset, val_size=val_size, train_size=train_size)
    if device == "cuda":  # untimed warm-up: CUDA context, cuDNN autotuning, compilation
        def head(split: datasets.Split, n: int) -> datasets.Split:
            return datasets.Split(split.images[:n], split.labels[:n])

        warm = dataclasses.replace(data, train=head(data.train, 4 * recipe.batch_size),
                                   val=head(data.val, 10))
        train_recipe(recipe, warm, 1, device=device, seed=seed)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    before = rss_mib("VmRSS")
    peak_is_training_only = reset_peak_rss()  # else the peak may be that of loading the data
    start = time.perf_counter()
    result = train_recipe(recipe, data, epochs, device=device, evals_per_epoch=evals_per_epoch,
                          eval_split="test", seed=seed)
    wall = time.perf_counter() - start
    peak = rss_mib("VmHWM")
    return {
        "name": recipe.name,
        "dataset": dataset,
        "seed": seed,
        "epochs": epochs,
        "train_seconds": result.train_seconds,
        "wall_seconds": wall,
        "images_per_second": result.images_per_second,
        "seconds_to_90": result.seconds_to(0.90),
        "seconds_to_91": result.seconds_to(0.91),
        "seconds_to_92": result.seconds_to(0.92),
        "final_accuracy": result.final_accuracy,
        "best_accuracy": max(a for _, _, a in result.checkpoints),
        "peak_rss_mib": peak,
        "rss_growth_mib": peak - before if peak_is_training_only else None,
        "peak_cuda_mib": torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None,
    }


def parse_overrides(pairs: list[str], base):
    """``key=value`` strings applied to a Recipe, converted to the field's type."""
    changes = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        field = {f.name: f for f in dataclasses.fields(base)}.get(key)
        if field is None:
            raise SystemExit(f"error: Recipe has no field {key!r}")
        current = getattr(base, key)
        if isinstance(current, bool):
            changes[key] = value.lower() in ("1", "true", "yes")
        elif isinstance(current, tuple):
            changes[key] = tuple(int(v) for v in value.split(","))
        else:
            changes[key] = type(current)(value)
    return dataclasses.replace(base, **changes)


def fmt_seconds(s: float | None) -> str:
    return "not reached" if s is None else f"{s:.1f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--book-epochs", type=int, default=None, help="default: the recipe's BOOK_EPOCHS")
    parser.add_argument("--article-epochs", type=int, default=2)
    parser.add_argument("--evals-per-epoch", type=int, default=4,
                        help="test evaluations per epoch, the same for both recipes")
    parser.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "cifar10"],
                        help="cifar10 only when its files are present (in $AIBOOK_DATA/cifar10)")
    parser.add_argument("--seed", "--seeds", type=int, nargs="+", default=[0],
                        help="initialisation and data order; several seeds: one run each, then a summary")
    parser.add_argument("--train-size", type=int, default=None, help="fewer training images (quick checks)")
    parser.add_argument("--val-size", type=int, default=5000, help="training images held out for validation")
    parser.add_argument("--only", choices=["book", "article"], default=None)
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="change fields of the book's recipe, e.g. --set batch_size=512 lr=0.4")
    parser.add_argument("--gpu-extras", action="store_true",
                        help="book recipe with bf16 autocast and torch.compile")
    args = parser.parse_args(argv)

    import torch

    from aibook.recipes import ARTICLE_RECIPE, BOOK_EPOCHS, BOOK_RECIPE

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda but CUDA is not available: run without it")
    if args.dataset == "cifar10":  # never download inside a benchmark: the files must be there
        from aibook import data as datasets

        try:
            datasets.cifar10(download=False)
        except datasets.DataError as e:
            raise SystemExit(f"error: --dataset cifar10 needs the CIFAR-10 files: {e}") from None
    book = parse_overrides(args.set, BOOK_RECIPE)
    if args.gpu_extras:
        book = dataclasses.replace(book, bf16=True, compile=True)
    runs = [("book", book, args.book_epochs or BOOK_EPOCHS, args.evals_per_epoch),
            ("article", ARTICLE_RECIPE, args.article_epochs, args.evals_per_epoch)]
    runs = [r for r in runs if args.only in (None, r[0])]
    threads = args.threads or torch.get_num_threads()
    print(f"machine: {machine_description(threads, args.device)}")
    print(f"device: {args.device}; dataset: {args.dataset}; seed: {', '.join(map(str, args.seed))}; "
          f"load average at start: {load_average()}")
    results, every_run = {}, []
    for seed in args.seed:
        for label, recipe, epochs, evals in runs:
            print(f"\n{label}, seed {seed}: {recipe}", flush=True)
            with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
                r = pool.submit(run_one, dataclasses.asdict(recipe), epochs, evals, args.device, args.threads,
                                args.train_size, args.dataset, seed, args.val_size).result()
            results.setdefault(label, r)  # the ratios below compare the first seed's runs
            every_run.append((label, r))
            print_run(r)
    print(f"\nload average at end: {load_average()}")
    if len(args.seed) > 1:
        print(seed_summary(every_run))
    if len(results) == 2:
        print_ratios(results["book"], results["article"])
    return 0


def print_run(r: dict) -> None:
    """One run's block: training time, times to 90/91/92 %, images/s, memory, final accuracy."""
    memory = f"peak RSS {r['peak_rss_mib']:.0f} MiB"
    if r["rss_growth_mib"] is not None:
        memory += f" ({r['rss_growth_mib']:+.0f} MiB above the loaded data while training and evaluating)"
    if r["peak_cuda_mib"] is not None:
        memory += f", {r['peak_cuda_mib']:.0f} MiB peak CUDA"
    print(f"  epochs {r['epochs']}: {r['train_seconds']:.1f} s training "
          f"({r['wall_seconds']:.1f} s with evaluation)")
    print(f"  training time to 90% test accuracy: {fmt_seconds(r['seconds_to_90'])} "
          f"| to 91%: {fmt_seconds(r['seconds_to_91'])} | to 92%: {fmt_seconds(r['seconds_to_92'])}")
    print(f"  {r['images_per_second']:,.0f} images/s | {memory}")
    print(f"  final test accuracy {r['final_accuracy']:.4f} (best {r['best_accuracy']:.4f})", flush=True)


def print_ratios(b: dict, a: dict) -> None:
    """The book's recipe against the article's: time to 90 %, images/s, and the two goals."""
    speed, bound = None, ""
    if b["seconds_to_90"] and a["seconds_to_90"]:
        speed = a["seconds_to_90"] / b["seconds_to_90"]
    elif b["seconds_to_90"]:  # the article never got there: its whole training time is a lower bound
        speed, bound = a["train_seconds"] / b["seconds_to_90"], "> "
    text = f"{bound}{speed:.1f}x" if speed else "n/a (the book's recipe did not reach 90%)"
    if bound:
        text += f" (the article's recipe did not reach 90% in {a['epochs']} epochs)"
    print(f"ratio article/book: time to 90% {text} "
          f"| images/s {b['images_per_second'] / a['images_per_second']:.1f}x (book faster)")
    to_91 = b["seconds_to_91"]
    goals = [
        ("book reaches >= 91% within 60 s of training", to_91 is not None and to_91 <= 60),
        ("book is >= 3x faster to 90% than the article", speed is not None and speed >= 3),
    ]
    for text, ok in goals:
        print(f"goal: {text}: {'yes' if ok else 'NO'}")




def seed_summary(every_run: list[tuple[str, dict]]) -> str:
    """Markdown table of every run, then mean (min–max) over seeds per recipe, and the book's goal."""
    import statistics

    def span(values: list[float], fmt: str) -> str:
        return f"{statistics.mean(values):{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"

    lines = ["", "| recipe | seed | training s | to 90 % | to 91 % | to 92 % | images/s | final test acc. |",
             "|---|---|---|---|---|---|---|---|"]
    for label, r in every_run:
        times = " | ".join(fmt_seconds(r[f"seconds_to_{a}"]) for a in (90, 91, 92))
        lines.append(f"| {label} | {r['seed']} | {r['train_seconds']:.1f} | {times} "
                     f"| {r['images_per_second']:,.0f} | {100 * r['final_accuracy']:.2f} % |")
    for label in dict.fromkeys(label for label, _ in every_run):
        mine = [r for lab, r in every_run if lab == label]
        lines.append(f"| {label}: mean (min–max) over {len(mine)} seeds | | "
                     f"{span([r['train_seconds'] for r in mine], '.1f')} | | | | "
                     f"{span([r['images_per_second'] for r in mine], ',.0f')} "
                     f"| {span([100 * r['final_accuracy'] for r in mine], '.2f')} % |")
    book = [r for label, r in every_run if label == "book"]
    if book:
        ok = [r["final_accuracy"] >= 0.92 and r["train_seconds"] <= 30 for r in book]
        lines.append(f"\ngoal: book reaches >= 92% final test accuracy within 30 s of training: "
                     f"{sum(ok)} of {len(ok)} seeds")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
