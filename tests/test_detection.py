"""aibook.detection: generated shapes, IoU, precision at an IoU threshold."""

import numpy as np
import pytest

from aibook import detection as d


def test_make_shapes_is_reproducible_and_boxes_are_tight():
    a, b = d.make_shapes(20, seed=3), d.make_shapes(20, seed=3)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.images.shape == (20, 1, 32, 32) and a.images.dtype == np.float32
    assert 0 <= a.images.min() and a.images.max() <= 1
    assert set(a.labels) <= {0, 1, 2}
    clean = d.make_shapes(20, seed=3, noise=0.0)
    for img, box in zip(clean.images[:, 0], clean.boxes.astype(int), strict=True):
        rows, cols = np.nonzero(img > 0.5)
        assert (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1) == tuple(box)
        w, h = box[2] - box[0], box[3] - box[1]
        assert 1 <= w <= 18 and 1 <= h <= 18
    with pytest.raises(ValueError, match="min_side"):
        d.make_shapes(2, min_side=20, max_side=10)


def test_iou_by_hand_and_its_edge_cases():
    a = np.array([[0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 1, 1], [0, 0, 0, 0], [0, 0, 4, 4]], float)
    b = np.array([[1, 1, 3, 3], [0, 0, 2, 2], [1, 1, 2, 2], [0, 0, 0, 0], [1, 1, 2, 2]], float)
    np.testing.assert_allclose(d.box_iou(a, b), [1 / 7, 1.0, 0.0, 0.0, 1 / 16])
    np.testing.assert_allclose(d.box_iou(b, a), d.box_iou(a, b))  # symmetric
    with pytest.raises(ValueError, match="same shape"):
        d.box_iou(a, b[:2])


def test_iou_against_pixel_counting():
    rng = np.random.default_rng(0)
    a = np.sort(rng.integers(0, 12, size=(50, 2, 2)), axis=1).transpose(0, 2, 1).reshape(50, 4)
    b = np.sort(rng.integers(0, 12, size=(50, 2, 2)), axis=1).transpose(0, 2, 1).reshape(50, 4)
    a, b = a[:, [0, 2, 1, 3]], b[:, [0, 2, 1, 3]]  # (x0, y0, x1, y1) with x0 <= x1, y0 <= y1

    def mask(box):
        m = np.zeros((12, 12), bool)
        m[box[1]:box[3], box[0]:box[2]] = True
        return m

    for x, y, iou in zip(a, b, d.box_iou(a, b), strict=True):
        inter, union = (mask(x) & mask(y)).sum(), (mask(x) | mask(y)).sum()
        assert iou == pytest.approx(inter / union if union else 0.0)


def test_precision_at_iou_counts_the_threshold_as_a_hit():
    true = np.array([[0, 0, 2, 2], [0, 0, 2, 2]], float)
    pred = np.array([[0, 0, 2, 1], [5, 5, 6, 6]], float)  # IoU 0.5 and 0
    assert d.precision_at_iou(pred, true, 0.5) == 0.5
    assert d.precision_at_iou(pred, true, 0.51) == 0.0
    with pytest.raises(ValueError, match="threshold"):
        d.precision_at_iou(pred, true, 0)
