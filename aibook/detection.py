"""Object localisation on generated images (Chapter 6.3): shapes with boxes, IoU, precision at IoU.

Boxes are ``(x0, y0, x1, y1)`` in pixels, corners included on the left/top and excluded on the
right/bottom, so a box's area is ``(x1 - x0) * (y1 - y0)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

SHAPES = ("rectangle", "ellipse", "triangle")


class ShapeImages(NamedTuple):
    """Grey images (N, 1, H, W) float32 in [0, 1], their boxes (N, 4) and shape labels (N,)."""

    images: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray


def make_shapes(n: int, size: int = 32, noise: float = 0.2, min_side: int = 6, max_side: int = 18,
                seed: int = 0) -> ShapeImages:
    """``n`` images, each one bright shape on a noisy dark background, with its exact bounding box.

    Each image: background N(0.2, noise) clipped to [0, 1]; a rectangle, ellipse or triangle of
    random width and height in [min_side, max_side] at a random position, drawn with intensity
    0.8 plus the same noise. The box is the tightest box around the shape's pixels.
    """
    if not 1 <= min_side <= max_side <= size:
        raise ValueError(f"need 1 <= min_side <= max_side <= size, got {min_side}, {max_side}, {size}")
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    images = np.empty((n, 1, size, size), dtype=np.float32)
    boxes = np.empty((n, 4), dtype=np.float32)
    labels = rng.integers(0, len(SHAPES), size=n)
    for i in range(n):
        w, h = rng.integers(min_side, max_side + 1, size=2)
        x0, y0 = rng.integers(0, size - w + 1), rng.integers(0, size - h + 1)
        u, v = (xx - x0) / w, (yy - y0) / h  # in [0, 1] inside the box
        inside = (u >= 0) & (u < 1) & (v >= 0) & (v < 1)
        if labels[i] == 1:
            inside &= (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25
        elif labels[i] == 2:
            inside &= np.abs(u - 0.5) <= 0.5 * v
        rows, cols = np.nonzero(inside)
        boxes[i] = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
        picture = np.where(inside, 0.8, 0.2) + rng.normal(0, noise, size=(size, size))
        images[i, 0] = np.clip(picture, 0, 1)
    return ShapeImages(images, boxes, labels)


def box_area(boxes: np.ndarray) -> np.ndarray:
    """Area of each box (N, 4); a box with x1 < x0 or y1 < y0 has area 0."""
    boxes = np.asarray(boxes, dtype=float)
    return np.clip(boxes[..., 2] - boxes[..., 0], 0, None) * np.clip(boxes[..., 3] - boxes[..., 1], 0, None)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of matching rows of ``a`` and ``b`` (both (N, 4)); 0 if both are empty."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.shape[-1] != 4:
        raise ValueError(f"boxes must have the same shape (N, 4), got {a.shape} and {b.shape}")
    lo = np.maximum(a[..., :2], b[..., :2])
    hi = np.minimum(a[..., 2:], b[..., 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=-1)
    union = box_area(a) + box_area(b) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def precision_at_iou(predicted: np.ndarray, true: np.ndarray, threshold: float = 0.5) -> float:
    """Share of predicted boxes (one per image) whose IoU with the true box is at least ``threshold``."""
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    return float((box_iou(predicted, true) >= threshold).mean())
