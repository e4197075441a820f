"""A small, readable training loop shared by every chapter.

The progress bar goes to stderr through plain ``tqdm`` for readers running a notebook; stored
outputs are made without it (``AIBOOK_PROGRESS=0``, set by ``aibook.booktools.nbrun`` and the tests), and
the test suite would replace any bar with a fixed token (``tests/nbval_sanitize.cfg``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.std import tqdm


@dataclass
class History:
    """Per-epoch metrics of one training run."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.train_loss)


def _batches(loader: Iterable, progress: bool, desc: str):
    # AIBOOK_PROGRESS=0 (set by nbrun and the tests) keeps bars out of stored outputs: a static
    # page would show every intermediate state of the bar as its own block
    if not progress or os.environ.get("AIBOOK_PROGRESS") == "0":
        return loader
    total = len(loader) if hasattr(loader, "__len__") else None
    return tqdm(loader, total=total, desc=desc, file=sys.stderr, leave=False, mininterval=1.0)


class _Tally:
    """Running sample-weighted mean loss and accuracy (accuracy only for class-index targets).

    The sums stay on the device as tensors and are read once per epoch in ``result``: a
    ``.item()`` per batch would make the host wait for the GPU twice a step. The loss sum is
    float64, which gives exactly the numbers of summing the Python floats ``loss.item() * n``.
    """

    def __init__(self) -> None:
        self.loss: torch.Tensor | float = 0.0
        self.correct: torch.Tensor | int = 0
        self.seen, self.classify = 0, True

    def add(self, loss: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> None:
        n = y.shape[0]
        self.loss = self.loss + loss.detach().double() * n
        self.seen += n
        if self.classify and y.dtype == torch.long and out.ndim == 2:
            self.correct = self.correct + (out.argmax(dim=1) == y).sum()
        else:
            self.classify = False

    def result(self, caller: str) -> tuple[float, float]:
        if self.seen == 0:
            raise ValueError(f"{caller} got an empty loader: check the dataset and batch size")
        loss, correct = float(self.loss), int(self.correct)  # the one host sync of the epoch
        return loss / self.seen, (correct / self.seen if self.classify else float("nan"))


def train_epoch(
    model: nn.Module,
    loader: Iterable,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    device: torch.device | str = "cpu",
    scheduler=None,
    progress: bool = False,
) -> tuple[float, float]:
    """Train for one pass over ``loader``; return (mean loss, accuracy) over the samples seen.

    ``scheduler`` (optional) is stepped after every batch, as one-cycle schedules expect.
    Accuracy is computed for class-index targets and reported as NaN for other targets.
    """
    model.train()
    tally = _Tally()
    for x, y in _batches(loader, progress, "train"):
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad(set_to_none=True)
        out = model(x)
        loss = loss_fn(out, y)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        tally.add(loss, out, y)
    return tally.result("train_epoch")


@torch.inference_mode()
def evaluate(
    model: nn.Module, loader: Iterable, loss_fn: Callable, device: torch.device | str = "cpu"
) -> tuple[float, float]:
    """Return (mean loss, accuracy) of ``model`` on ``loader`` without tracking gradients."""
    model.eval()
    tally = _Tally()
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        out = model(x)
        tally.add(loss_fn(out, y), out, y)
    return tally.result("evaluate")


def fit(
    model: nn.Module,
    train_loader: Iterable,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    val_loader: Iterable | None = None,
    device: torch.device | str = "cpu",
    scheduler=None,
    progress: bool = True,
    verbose: bool = True,
) -> History:
    """Train ``model`` for ``epochs`` epochs and return its :class:`History`.

    With ``verbose`` one line per epoch is printed (deterministic numbers only, no timings).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    history = History()
    for epoch in range(1, epochs + 1):
        loss, acc = train_epoch(
            model, train_loader, loss_fn, optimizer, device, scheduler, progress
        )
        history.train_loss.append(loss)
        history.train_acc.append(acc)
        line = f"epoch {epoch:>2}: train loss {loss:.4f} acc {acc:.4f}"
        if val_loader is not None:
            vloss, vacc = evaluate(model, val_loader, loss_fn, device)
            history.val_loss.append(vloss)
            history.val_acc.append(vacc)
            line += f" | val loss {vloss:.4f} acc {vacc:.4f}"
        if verbose:
            print(line)
    return history


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
