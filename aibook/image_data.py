"""Chapter 5's image pipeline: a dataset split three ways and kept as uint8 tensors
(``ProjectData``), per-channel normalisation from the training split, batched augmentation and a
``TensorLoader`` that slices tensors; ``PerSampleDataset``/``article_loader`` reproduce the
article's per-sample pipeline for comparison.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn

from aibook import data as datasets


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

    def tensors(
        self, split: str, device: torch.device | str = "cpu",
        mean: torch.Tensor | None = None, std: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised float32 images and int64 labels of ``split`` ('train', 'val', 'test'); by default
        with the training split's statistics, or with the given ``mean`` and ``std``."""
        part = {"train": self.train, "val": self.val, "test": self.test}[split]
        mean = self.mean if mean is None else torch.as_tensor(mean, dtype=torch.float32)
        std = self.std if std is None else torch.as_tensor(std, dtype=torch.float32)
        x = normalize(part.images.to(device), mean.to(device), std.to(device))
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
