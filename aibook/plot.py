"""Plotting helpers with English labels (they render everywhere without CJK fonts)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch

from aibook.train import History


def plot_history(history: History, title: str = "Training curves"):
    """Plot loss (left) and accuracy (right) per epoch for train and, if present, validation."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.2))
    epochs = range(1, history.epochs + 1)
    ax_loss.plot(epochs, history.train_loss, "o-", label="train")
    ax_acc.plot(epochs, history.train_acc, "o-", label="train")
    if history.val_loss:
        ax_loss.plot(epochs, history.val_loss, "s--", label="validation")
        ax_acc.plot(epochs, history.val_acc, "s--", label="validation")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="Loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    if any(math.isnan(a) for a in history.train_acc):
        ax_acc.set_visible(False)
    for ax in (ax_loss, ax_acc):
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


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
