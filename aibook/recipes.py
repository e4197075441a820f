"""Chapter 5's training recipes: one ``Recipe`` names a model, pipeline, batch size, optimiser
and schedule; ``train_recipe`` trains it and measures the time of each part (used by the
notebooks of Chapter 5 and by ``benchmarks/project_cnn.py``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from aibook.device import seed_everything
from aibook.image_data import ProjectData, TensorLoader, article_loader, flip_and_crop
from aibook.models import FastCNN, SeedCNN
from aibook.train import History, evaluate, train_epoch


@dataclass(frozen=True)
class Recipe:
    """One training configuration: model, data pipeline, batch size, optimiser and schedule.

    ``bf16`` (autocast) and ``compile`` (``torch.compile``) are applied on CUDA only.
    """

    name: str
    model: str = "seed"  # 'seed' (SeedCNN), 'fast' (FastCNN) or 'fast-nobn' (FastCNN without BN)
    widths: tuple[int, ...] = (32, 64, 128)  # FastCNN's channels per block
    pipeline: str = "tensors"  # 'tensors' (TensorLoader) or 'per-sample' (the article's DataLoader)
    batch_size: int = 64
    optimizer: str = "adam"  # 'adam' or 'sgd' (Nesterov momentum 0.9)
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "constant"  # 'constant' or 'onecycle' (triangular, stepped per batch)
    channels_last: bool = False
    augment: str = "none"  # 'none', 'flip', 'crop' or 'flip+crop' (crop: random shift by <= crop_pad)
    crop_pad: int = 2
    label_smoothing: float = 0.0
    bf16: bool = False
    compile: bool = False
    article_normalization: bool = False  # mean = std = 0.5 per channel, as the article's transform


ARTICLE_RECIPE = Recipe("article", model="seed", pipeline="per-sample", batch_size=64, lr=1e-3,
                        article_normalization=True)
BOOK_RECIPE = Recipe("book", model="fast", widths=(16, 32, 64), pipeline="tensors", batch_size=256,
                     optimizer="sgd", lr=0.2, weight_decay=5e-4, schedule="onecycle", channels_last=True,
                     label_smoothing=0.1)
BOOK_EPOCHS = 5  # the one-cycle schedule spans this many epochs of the full training split


@dataclass
class RecipeResult:
    """What ``train_recipe`` measured: accuracy after every evaluation, training time only."""

    recipe: Recipe
    history: History
    train_seconds: float
    images: int
    checkpoints: list[tuple[int, float, float]]  # (images seen, training seconds, accuracy)
    model: nn.Module

    @property
    def images_per_second(self) -> float:
        return self.images / self.train_seconds

    @property
    def final_accuracy(self) -> float:
        return self.checkpoints[-1][2]

    def seconds_to(self, accuracy: float) -> float | None:
        """Training seconds at the first evaluation that reached ``accuracy`` (None if never)."""
        return next((s for _, s, a in self.checkpoints if a >= accuracy), None)


def one_cycle(optimizer: torch.optim.Optimizer, total_steps: int, warmup: float = 0.25):
    """Triangular one-cycle schedule, stepped per batch: the learning rate rises linearly to the
    optimiser's lr over the first ``warmup`` share of the steps, then falls linearly towards 0."""
    warm = max(1, round(warmup * total_steps))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (total_steps - step) / max(1, total_steps - warm))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def build_model(recipe: Recipe, input_shape: tuple[int, int, int], num_classes: int = 10) -> nn.Module:
    """The model a recipe names ('seed', 'fast' or 'fast-nobn'), sized for ``input_shape``."""
    c, h, w = input_shape
    if recipe.model == "seed":
        return SeedCNN(c, num_classes, (h, w))
    if recipe.model in ("fast", "fast-nobn"):
        return FastCNN(c, num_classes, (h, w), recipe.widths, batch_norm=recipe.model == "fast")
    raise ValueError(f"unknown model {recipe.model!r}: use 'seed', 'fast' or 'fast-nobn'")


class _Segment:
    """The next ``size`` batches of an ongoing iterator (lets ``train_epoch`` run part of an epoch);
    counts the samples it hands out."""

    def __init__(self, it: Iterator, size: int):
        self.it, self.size, self.seen = it, size, 0

    def __len__(self) -> int:
        return self.size

    def __iter__(self):
        for _ in range(self.size):
            x, y = next(self.it)
            self.seen += len(y)
            yield x, y


def input_statistics(recipe: Recipe, data: ProjectData) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, std) a recipe normalises with, for training and evaluation alike: the training
    split's statistics, or 0.5 per channel with ``article_normalization``."""
    if recipe.article_normalization:
        half = torch.full((data.input_shape[0],), 0.5)
        return half, half
    return data.mean, data.std


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_recipe(
    recipe: Recipe,
    data: ProjectData,
    epochs: int,
    device: torch.device | str = "cpu",
    evals_per_epoch: int = 1,
    eval_split: str = "val",
    seed: int = 0,
    progress: bool = False,
) -> RecipeResult:
    """Train one ``recipe`` on ``data`` for ``epochs`` epochs, evaluating on ``eval_split``
    ``evals_per_epoch`` times an epoch. Only training is timed (evaluation is not)."""
    device = torch.device(device)
    cuda = device.type == "cuda"
    seed_everything(seed)
    model = build_model(recipe, data.input_shape, len(data.classes)).to(device)
    if recipe.channels_last:
        model = model.to(memory_format=torch.channels_last)
    mean, std = input_statistics(recipe, data)
    # evaluation sees the inputs normalised exactly as training does
    x_eval, y_eval = data.tensors(eval_split, device, mean, std)
    if recipe.channels_last:
        x_eval = x_eval.contiguous(memory_format=torch.channels_last)
    eval_loader = TensorLoader(x_eval, y_eval, batch_size=1000)
    if recipe.augment not in ("none", "flip", "crop", "flip+crop"):
        raise ValueError(f"unknown augment {recipe.augment!r}: use 'none', 'flip', 'crop' or 'flip+crop'")
    flip, pad = "flip" in recipe.augment, recipe.crop_pad if "crop" in recipe.augment else 0
    if recipe.pipeline == "per-sample":
        loader = article_loader(data.train, mean, std, recipe.batch_size, seed=seed, flip=flip, pad=pad)
    elif recipe.pipeline == "tensors":
        x, y = data.tensors("train", device, mean, std)
        augment = None
        if flip or pad:
            augment = functools.partial(flip_and_crop, flip=flip, pad=pad)
        loader = TensorLoader(x, y, recipe.batch_size, shuffle=True, seed=seed, augment=augment,
                              channels_last=recipe.channels_last)
    else:
        raise ValueError(f"unknown pipeline {recipe.pipeline!r}: use 'tensors' or 'per-sample'")
    if recipe.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    elif recipe.optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=0.9, nesterov=True,
                                    weight_decay=recipe.weight_decay)
    else:
        raise ValueError(f"unknown optimizer {recipe.optimizer!r}: use 'adam' or 'sgd'")
    steps = len(loader)
    scheduler = None
    if recipe.schedule == "onecycle":
        scheduler = one_cycle(optimizer, total_steps=epochs * steps)
    elif recipe.schedule != "constant":
        raise ValueError(f"unknown schedule {recipe.schedule!r}: use 'constant' or 'onecycle'")
    step_model = torch.compile(model) if recipe.compile and cuda else model
    loss_fn = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    eval_loss = nn.CrossEntropyLoss()

    def autocast():
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=recipe.bf16 and cuda)

    bounds = [round(steps * k / evals_per_epoch) for k in range(evals_per_epoch + 1)]
    history, checkpoints = History(), []
    seconds, images = 0.0, 0
    for _ in range(epochs):
        it = iter(loader)
        epoch_loss, epoch_correct, epoch_seen = 0.0, 0.0, 0
        for a, b in zip(bounds, bounds[1:], strict=False):
            segment = _Segment(it, b - a)
            _sync(device)
            start = time.perf_counter()
            with autocast():
                loss, acc = train_epoch(step_model, segment, loss_fn, optimizer, device, scheduler, progress)
            _sync(device)
            seconds += time.perf_counter() - start
            images += segment.seen
            epoch_loss += loss * segment.seen
            epoch_correct += acc * segment.seen
            epoch_seen += segment.seen
            with autocast():
                vloss, vacc = evaluate(step_model, eval_loader, eval_loss, device)
            checkpoints.append((images, seconds, vacc))
        history.train_loss.append(epoch_loss / epoch_seen)
        history.train_acc.append(epoch_correct / epoch_seen)
        history.val_loss.append(vloss)
        history.val_acc.append(vacc)
    return RecipeResult(recipe, history, seconds, images, checkpoints, model)
