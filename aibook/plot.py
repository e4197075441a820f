"""Plotting helpers with English labels (they render everywhere without CJK fonts)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt

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
