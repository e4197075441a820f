"""Chapter 5's project: the article's CNN corrected, a faster CNN, and the pipeline around them.

``SeedCNN`` is the article's two-convolution network with its flattened size computed from the
input shape; ``FastCNN`` is the book's three-block network with BatchNorm. The data helpers keep
images as tensors (``ProjectData``, ``TensorLoader``); ``PerSampleDataset`` reproduces the
article's per-sample pipeline for comparison; ``train_recipe`` trains one configuration and
measures it (used by the notebooks of Chapter 5 and by ``benchmarks/project_cnn.py``).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

from aibook import data as datasets
from aibook.device import seed_everything
from aibook.numpy_nn import conv_output_size
from aibook.train import History, evaluate, train_epoch

# --------------------------------------------------------------------------------------- models


def _pair(size: int | tuple[int, int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def _check_input(x: torch.Tensor, shape: tuple[int, int, int], name: str) -> None:
    if x.ndim != 4 or tuple(x.shape[1:]) != shape:
        want = "×".join(map(str, shape))
        got = "×".join(map(str, x.shape[1:])) if x.ndim == 4 else f"a {x.ndim}-D tensor"
        raise ValueError(
            f"{name} was built for N×{want} inputs, got {got}: "
            "pass in_channels and image_size to match the data"
        )


class SeedCNN(nn.Module):
    """The article's CNN (two 3×3 convolutions, each followed by ReLU and 2×2 max pooling, then
    two linear layers), with the flattened size computed from the input shape.

    Works for any ``in_channels``/``image_size`` (3×32×32 CIFAR-10, 1×28×28 Fashion-MNIST) and any
    batch size: ``torch.flatten(x, 1)`` keeps the batch axis where the article's ``view(-1, ...)``
    could merge or split samples.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10, image_size: int | tuple[int, int] = 32):
        super().__init__()
        h, w = _pair(image_size)
        self.input_shape = (in_channels, h, w)
        self.conv1 = nn.Conv2d(in_channels, 64, 3, padding=1)
        self.conv2 = nn.Conv2d(64, 128, 3, padding=1)
        for _ in range(2):  # each block: 3×3 convolution with padding 1, then 2×2 pooling
            h = conv_output_size(conv_output_size(h, 3, padding=1), 2, stride=2)
            w = conv_output_size(conv_output_size(w, 3, padding=1), 2, stride=2)
        self.feature_shape = (128, h, w)
        self.flat_features = 128 * h * w
        self.fc1 = nn.Linear(self.flat_features, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.input_shape, "SeedCNN")
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = torch.flatten(x, 1)  # (N, 128·h·w) for every N, including 1 and a last partial batch
        x = self.relu(self.fc1(x))
        return self.fc2(x)


class FastCNN(nn.Module):
    """The book's CNN: three blocks of 3×3 convolution, BatchNorm, ReLU and 2×2 max pooling, then
    one linear layer. Deeper than ``SeedCNN`` but narrower, so it costs about a third of the work.

    ``batch_norm=False`` gives the same network without BatchNorm (convolutions get a bias).
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 10,
        image_size: int | tuple[int, int] = 32,
        widths: tuple[int, ...] = (32, 64, 128),
        batch_norm: bool = True,
    ):
        super().__init__()
        h, w = _pair(image_size)
        self.input_shape = (in_channels, h, w)
        layers: list[nn.Module] = []
        c = in_channels
        for width in widths:
            layers.append(nn.Conv2d(c, width, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(width))
            layers += [nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            h, w = conv_output_size(h, 2, stride=2), conv_output_size(w, 2, stride=2)
            c = width
        self.features = nn.Sequential(*layers)
        self.flat_features = c * h * w
        self.classifier = nn.Linear(self.flat_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.input_shape, "FastCNN")
        return self.classifier(torch.flatten(self.features(x), 1))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ------------------------------------------------------------------------------- shape tracing


@dataclass
class ShapeTrace:
    """Output shape of every layer call of one forward pass, in call order, and the error if any."""

    rows: list[tuple[str, str, tuple[int, ...]]] = field(default_factory=list)
    error: str | None = None

    def __str__(self) -> str:
        lines = [f"{'step':>4}  {'layer':<10} {'type':<10} output shape"]
        for i, (name, kind, shape) in enumerate(self.rows):
            lines.append(f"{i:>4}  {name:<10} {kind:<10} {tuple(shape)}")
        if self.error is not None:
            lines.append(f"   !  {'(forward)':<10} {'error':<10} {self.error}")
        return "\n".join(lines)


def trace_shapes(model: nn.Module, x: torch.Tensor) -> ShapeTrace:
    """Run ``model(x)`` and record each leaf layer's output shape (a reused layer appears once
    per call). If the forward pass fails, the rows up to the failure and the error are kept."""
    trace = ShapeTrace(rows=[("input", "-", tuple(x.shape))])
    leaves = [(n, m) for n, m in model.named_modules() if n and not list(m.children())]

    def hook_for(name: str):
        def hook(module, inputs, output):
            trace.rows.append((name, type(module).__name__, tuple(output.shape)))

        return hook

    handles = [m.register_forward_hook(hook_for(n)) for n, m in leaves]
    try:
        with torch.no_grad():
            model(x)
    except (RuntimeError, ValueError) as e:
        trace.error = f"{type(e).__name__}: {str(e).splitlines()[0]}"
    finally:
        for h in handles:
            h.remove()
    return trace


# ----------------------------------------------------------------------------------------- data


@dataclass
class ProjectData:
    """A dataset split three ways, images kept as uint8 N×C×H×W tensors, with the per-channel
    mean and std of the training part (used to normalise every split)."""

    name: str
    classes: tuple[str, ...]
    train: datasets.Split
    val: datasets.Split
    test: datasets.Split
    mean: torch.Tensor
    std: torch.Tensor

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.train.images.shape[1:])  # type: ignore[return-value]

    def tensors(self, split: str, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised float32 images and int64 labels of ``split`` ('train', 'val', 'test')."""
        part = {"train": self.train, "val": self.val, "test": self.test}[split]
        x = normalize(part.images.to(device), self.mean.to(device), self.std.to(device))
        return x, part.labels.to(device)


def as_nchw(images: torch.Tensor) -> torch.Tensor:
    """Add the channel axis to N×H×W grey images; N×C×H×W images are returned as they are."""
    return images.unsqueeze(1) if images.ndim == 3 else images


def channel_stats(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and (population) std of uint8 images after scaling to [0, 1]."""
    images = as_nchw(images)
    means, stds = [], []
    for c in range(images.shape[1]):  # one channel at a time keeps the float copy small
        x = images[:, c].to(torch.float32) / 255
        m = x.mean(dtype=torch.float64)
        means.append(m)
        stds.append(((x.to(torch.float64) - m) ** 2).mean().sqrt())
    return torch.stack(means).float(), torch.stack(stds).float()


def normalize(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """uint8 images → float32 (x/255 − mean)/std per channel, N×C×H×W."""
    x = as_nchw(images).to(torch.float32) / 255
    return (x - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)


def split_train_val(
    split: datasets.Split, val_size: int, seed: int = 0
) -> tuple[datasets.Split, datasets.Split]:
    """Carve a random validation part of ``val_size`` images out of a training split."""
    n = len(split.labels)
    if not 0 < val_size < n:
        raise ValueError(f"val_size must be between 1 and {n - 1}, got {val_size}")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    val, train = perm[:val_size], perm[val_size:]
    return (
        datasets.Split(split.images[train], split.labels[train]),
        datasets.Split(split.images[val], split.labels[val]),
    )


DATASETS = {
    "fashion-mnist": (datasets.fashion_mnist, datasets.FASHION_MNIST_CLASSES),
    "cifar10": (datasets.cifar10, datasets.CIFAR10_CLASSES),
}


def load_project_data(
    name: str = "fashion-mnist", val_size: int = 5000, train_size: int | None = None, seed: int = 0
) -> ProjectData:
    """Load ``name`` ('fashion-mnist' or 'cifar10'), carve a validation split from the training
    data, optionally keep only ``train_size`` training images, and compute the normalisation
    statistics on the training part alone."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: use one of {sorted(DATASETS)}")
    loader, classes = DATASETS[name]
    train, test = loader()
    train = datasets.Split(as_nchw(train.images), train.labels)
    test = datasets.Split(as_nchw(test.images), test.labels)
    train, val = split_train_val(train, val_size, seed)
    if train_size is not None:
        train = datasets.Split(train.images[:train_size], train.labels[:train_size])
    mean, std = channel_stats(train.images)
    return ProjectData(name, tuple(classes), train, val, test, mean, std)


def flip_and_crop(
    x: torch.Tensor, generator: torch.Generator, pad: int = 2, flip: bool = True
) -> torch.Tensor:
    """Random horizontal flip (probability 1/2) and random crop after padding by ``pad`` pixels
    (reflecting the border, so no artificial frame appears), drawn independently for every image
    of the batch, all in a few tensor operations."""
    n, _, h, w = x.shape
    if flip:
        mask = (torch.rand(n, generator=generator) < 0.5).to(x.device)
        x = torch.where(mask.view(-1, 1, 1, 1), x.flip(3), x)
    if pad > 0:
        padded = nn.functional.pad(x, (pad, pad, pad, pad), mode="reflect")
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
        rows = (dy.view(n, 1) + torch.arange(h, device=x.device)).view(n, 1, h, 1)
        cols = (dx.view(n, 1) + torch.arange(w, device=x.device)).view(n, 1, 1, w)
        batch = torch.arange(n, device=x.device).view(n, 1, 1, 1)
        chan = torch.arange(x.shape[1], device=x.device).view(1, -1, 1, 1)
        x = padded[batch, chan, rows, cols]
    return x


class TensorLoader:
    """Mini-batches sliced from tensors already in memory (on the GPU when they are there).

    Shuffling draws ``torch.randperm(n, generator=...)``, the same permutation a ``DataLoader``
    with ``shuffle=True`` and an equally seeded generator uses, so both give the same batches.
    ``augment(x, generator)`` (e.g. ``flip_and_crop``) is applied to each batch.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
        channels_last: bool = False,
        drop_last: bool = False,
    ):
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.x, self.y, self.batch_size = x, y, batch_size
        self.shuffle, self.augment, self.drop_last = shuffle, augment, drop_last
        self.channels_last = channels_last
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        n = len(self.y)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.y)
        order = torch.randperm(n, generator=self.generator).to(self.x.device) if self.shuffle else None
        for b in range(len(self)):
            sl = slice(b * self.batch_size, min((b + 1) * self.batch_size, n))
            if order is None:
                xb, yb = self.x[sl], self.y[sl]
            else:
                idx = order[sl]
                xb, yb = self.x.index_select(0, idx), self.y.index_select(0, idx)
            if self.augment is not None:
                xb = self.augment(xb, self.generator)
            if self.channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            yield xb, yb


class PerSampleDataset(torch.utils.data.Dataset):
    """The article's pipeline without torchvision: each image is converted to float, scaled to
    [0, 1] and normalised on its own, in Python, every time a ``DataLoader`` asks for it.

    With ``flip`` and ``pad`` each image is also flipped and cropped on its own (as torchvision's
    ``RandomHorizontalFlip`` and ``RandomCrop(size, padding=pad)`` would), using the global RNG.
    """

    def __init__(self, split: datasets.Split, mean: torch.Tensor | tuple, std: torch.Tensor | tuple,
                 flip: bool = False, pad: int = 0):
        self.images, self.labels = as_nchw(split.images), split.labels
        self.mean = torch.as_tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.as_tensor(std, dtype=torch.float32).view(-1, 1, 1)
        self.flip, self.pad = flip, pad

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x = self.images[i].to(torch.float32) / 255  # like transforms.ToTensor()
        x = (x - self.mean) / self.std  # like transforms.Normalize(mean, std)
        if self.flip and torch.rand(()) < 0.5:
            x = x.flip(2)
        if self.pad > 0:
            _, h, w = x.shape
            p = self.pad
            dy, dx = torch.randint(0, 2 * p + 1, (2,)).tolist()
            x = nn.functional.pad(x, (p, p, p, p), mode="reflect")[:, dy : dy + h, dx : dx + w]
        return x, int(self.labels[i])


def article_loader(split: datasets.Split, mean, std, batch_size: int = 64, shuffle: bool = True,
                   seed: int = 0, flip: bool = False, pad: int = 0) -> torch.utils.data.DataLoader:
    """A ``DataLoader`` over ``PerSampleDataset`` (no worker processes). Its sampler draws the
    same permutation each epoch as ``TensorLoader`` with the same seed, so the batches agree."""
    dataset = PerSampleDataset(split, mean, std, flip, pad)
    sampler = _Shuffle(len(dataset), seed) if shuffle else None
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, sampler=sampler)


class _Shuffle(torch.utils.data.Sampler):
    """One ``torch.randperm`` per epoch from a seeded generator (as ``TensorLoader`` draws them)."""

    def __init__(self, n: int, seed: int):
        self.n, self.generator = n, torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        yield from torch.randperm(self.n, generator=self.generator).tolist()


# ---------------------------------------------------------------------------- evaluation tools


def predict(
    model: nn.Module, x: torch.Tensor, batch_size: int = 1000, mode: str = "inference"
) -> torch.Tensor:
    """Logits of ``model`` for all of ``x``, batch by batch, in eval mode.

    ``mode``: 'inference' (``torch.inference_mode``), 'no_grad' (``torch.no_grad``) or
    'grad' (autograd records everything, as if one forgot both).
    """
    contexts = {"inference": torch.inference_mode, "no_grad": torch.no_grad, "grad": torch.enable_grad}
    if mode not in contexts:
        raise ValueError(f"mode must be one of {sorted(contexts)}, got {mode!r}")
    was_training = model.training
    model.eval()
    try:
        with contexts[mode]():
            out = [model(x[i : i + batch_size]).detach() for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out)


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Counts C[i, j] of samples of true class i predicted as class j."""
    idx = y_true.to(torch.int64) * num_classes + y_pred.to(torch.int64)
    return torch.bincount(idx.cpu(), minlength=num_classes**2).view(num_classes, num_classes)


def show_images(images: torch.Tensor, titles: list[str], mean: torch.Tensor | None = None,
                std: torch.Tensor | None = None, ncols: int = 6, title: str = ""):
    """A grid of images (uint8 or normalised float, N×C×H×W) with a short title above each."""
    import matplotlib.pyplot as plt

    x = images.detach().cpu().float()
    if mean is not None and std is not None:  # undo the normalisation for display
        x = x * std.view(1, -1, 1, 1).cpu() + mean.view(1, -1, 1, 1).cpu()
    elif images.dtype == torch.uint8:
        x = x / 255
    x = x.clamp(0, 1)
    nrows = math.ceil(len(x) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.5 * ncols, 2.0 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, t in zip(axes.flat, x, titles, strict=False):
        if img.shape[0] == 1:
            ax.imshow(img[0], cmap="gray_r" if mean is None else "gray", vmin=0, vmax=1)
        else:
            ax.imshow(img.permute(1, 2, 0))
        ax.set_title(t, fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------ training recipes


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
    x_eval, y_eval = data.tensors(eval_split, device)
    if recipe.channels_last:
        x_eval = x_eval.contiguous(memory_format=torch.channels_last)
    eval_loader = TensorLoader(x_eval, y_eval, batch_size=1000)
    if recipe.augment not in ("none", "flip", "crop", "flip+crop"):
        raise ValueError(f"unknown augment {recipe.augment!r}: use 'none', 'flip', 'crop' or 'flip+crop'")
    flip, pad = "flip" in recipe.augment, recipe.crop_pad if "crop" in recipe.augment else 0
    if recipe.pipeline == "per-sample":
        mean, std = (0.5,) * data.input_shape[0], (0.5,) * data.input_shape[0]
        if not recipe.article_normalization:
            mean, std = data.mean, data.std
        loader = article_loader(data.train, mean, std, recipe.batch_size, seed=seed, flip=flip, pad=pad)
    elif recipe.pipeline == "tensors":
        x, y = data.tensors("train", device)
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
