"""Group-fairness measures for a binary classifier (Chapters 6 and 8).

Each takes 0/1 labels or predictions and a group attribute per sample, and compares the groups'
rates; a gap of 0 means the groups are treated alike by that measure.
"""

from __future__ import annotations

import numpy as np


def _as_binary(values, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}: one value per sample")
    if not np.isin(array, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1: threshold scores before measuring fairness")
    return array.astype(int)


def _groups(group, n: int) -> np.ndarray:
    group = np.asarray(group)
    if group.shape != (n,):
        raise ValueError(f"group has shape {group.shape}, expected ({n},): one group label per sample")
    return group


def selection_rates(y_pred, group) -> dict:
    """P(prediction = 1 | group) for each group, keyed by group label (sorted)."""
    y_pred = _as_binary(y_pred, "y_pred")
    group = _groups(group, len(y_pred))
    return {g.item(): float(y_pred[group == g].mean()) for g in np.unique(group)}


def true_positive_rates(y_true, y_pred, group) -> dict:
    """P(prediction = 1 | label = 1, group) for each group; NaN for a group with no positives."""
    y_true = _as_binary(y_true, "y_true")
    y_pred = _as_binary(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ: one of each per sample")
    group = _groups(group, len(y_pred))
    rates = {}
    for g in np.unique(group):
        positives = (group == g) & (y_true == 1)
        rates[g.item()] = float(y_pred[positives].mean()) if positives.any() else float("nan")
    return rates


def demographic_parity_gap(y_pred, group) -> float:
    """Largest difference in selection rate between any two groups (0 = demographic parity)."""
    rates = list(selection_rates(y_pred, group).values())
    return max(rates) - min(rates)


def equal_opportunity_gap(y_true, y_pred, group) -> float:
    """Largest difference in true-positive rate between any two groups (0 = equal opportunity)."""
    rates = [r for r in true_positive_rates(y_true, y_pred, group).values() if not np.isnan(r)]
    return max(rates) - min(rates) if rates else float("nan")
