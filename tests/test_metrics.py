"""aibook.metrics equals sklearn.metrics on random inputs and on edge cases."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.neighbors import KNeighborsClassifier

from aibook import metrics as m


def _cases(n_cases: int = 40):
    """Random binary labels and scores: sizes 2..60, ties in the scores (rounded) half the time."""
    rng = np.random.default_rng(0)
    for i in range(n_cases):
        n = int(rng.integers(2, 61))
        y = rng.integers(0, 2, size=n)
        y[0], y[1] = 0, 1  # both classes present
        s = rng.normal(size=n) + y * rng.uniform(0, 2)
        if i % 2:
            s = np.round(s, 1)
        yield y, s


EDGE = [  # (y_true, y_pred): all correct, all wrong, no predicted positives, no positives at all
    ([1, 1, 0, 0], [1, 1, 0, 0]), ([1, 1, 0, 0], [0, 0, 1, 1]), ([1, 0, 1, 0], [0, 0, 0, 0]),
    ([0, 0, 0], [0, 0, 0]), ([0, 0, 0], [1, 0, 1]), ([1], [1]), ([1, 1, 1], [1, 1, 1]),
]


@pytest.mark.parametrize("zero_division", [0.0, 1.0])
def test_precision_recall_f1_match_sklearn(zero_division):
    rng = np.random.default_rng(1)
    pairs = EDGE + [(rng.integers(0, 2, 30), rng.integers(0, 2, 30)) for _ in range(30)]
    for t, p in pairs:
        got = m.precision_recall_f1(t, p, zero_division=zero_division)
        want = (skm.precision_score(t, p, zero_division=zero_division),
                skm.recall_score(t, p, zero_division=zero_division),
                skm.f1_score(t, p, zero_division=zero_division))
        np.testing.assert_allclose(got, want, err_msg=f"{t} {p}")
        assert m.accuracy(t, p) == pytest.approx(skm.accuracy_score(t, p))


def test_pos_label_and_counts():
    t, p = [2, 2, 7, 7, 7], [2, 7, 7, 7, 2]
    assert m.binary_counts(t, p, pos_label=7) == (2, 1, 1, 1)
    np.testing.assert_allclose(m.precision_recall_f1(t, p, pos_label=7),
                               (skm.precision_score(t, p, pos_label=7), skm.recall_score(t, p, pos_label=7),
                                skm.f1_score(t, p, pos_label=7)))
    with pytest.raises(ValueError, match="one prediction per label"):
        m.precision_recall_f1([1, 0], [1])


def test_confusion_matrix_matches_sklearn():
    rng = np.random.default_rng(2)
    for _ in range(20):
        t, p = rng.integers(0, 4, 50), rng.integers(0, 4, 50)
        np.testing.assert_array_equal(m.confusion_matrix(t, p), skm.confusion_matrix(t, p))
    labels = [3, 1, 0, 2, 9]  # an explicit order, and a label that never occurs
    np.testing.assert_array_equal(m.confusion_matrix(t, p, labels), skm.confusion_matrix(t, p, labels=labels))


def test_roc_curve_and_auc_match_sklearn():
    for y, s in _cases():
        fpr, tpr, thr = m.roc_curve(y, s)
        sfpr, stpr, sthr = skm.roc_curve(y, s, drop_intermediate=False)
        np.testing.assert_allclose(fpr, sfpr)
        np.testing.assert_allclose(tpr, stpr)
        np.testing.assert_array_equal(thr, sthr)
        want = skm.roc_auc_score(y, s)
        assert m.auc_trapezoid(fpr, tpr) == pytest.approx(want)
        assert m.roc_auc_rank(y, s) == pytest.approx(want)


def test_auc_edge_cases():
    assert m.roc_auc_rank([0, 0, 1, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5  # all tied: chance
    assert m.roc_auc_rank([0, 1], [0.2, 0.9]) == 1.0
    assert m.roc_auc_rank([0, 1], [0.9, 0.2]) == 0.0
    with pytest.raises(ValueError, match="both positive and negative"):
        m.roc_auc_rank([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="both positive and negative"):
        m.roc_curve([0, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="sorted"):
        m.auc_trapezoid([0, 1, 0.5], [0, 1, 1])
    assert m.auc_trapezoid([1, 0], [1, 1]) == skm.auc([1, 0], [1, 1])


def test_pr_curve_and_average_precision_match_sklearn():
    for y, s in list(_cases()) + [(np.array([1, 1, 1]), np.array([0.2, 0.5, 0.5]))]:
        p, r, thr = m.precision_recall_curve(y, s)
        sp, sr, sthr = skm.precision_recall_curve(y, s)
        np.testing.assert_allclose(p, sp)
        np.testing.assert_allclose(r, sr)
        np.testing.assert_array_equal(thr, sthr)
        assert m.average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s))


def test_pr_curve_without_positives_follows_sklearn():
    y, s = np.array([0, 0, 0]), np.array([0.1, 0.4, 0.3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sp, sr, sthr = skm.precision_recall_curve(y, s)
        sap = skm.average_precision_score(y, s)
    p, r, thr = m.precision_recall_curve(y, s)
    np.testing.assert_allclose(p, sp)
    np.testing.assert_allclose(r, sr)
    np.testing.assert_array_equal(thr, sthr)
    assert m.average_precision(y, s) == pytest.approx(sap)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("k", [1, 3, 4, 7])
def test_knn_matches_sklearn(metric, k):
    rng = np.random.default_rng(3)
    train, test = rng.normal(size=(80, 6)), rng.normal(size=(30, 6))
    labels = rng.integers(0, 3, 80)
    knn = KNeighborsClassifier(n_neighbors=k, metric=metric, algorithm="brute").fit(train, labels)
    np.testing.assert_array_equal(m.knn_predict(train, labels, test, k, metric), knn.predict(test))
    test_labels = rng.integers(0, 3, 30)
    assert m.knn_accuracy(train, labels, test, test_labels, k, metric) == knn.score(test, test_labels)


def test_knn_errors():
    with pytest.raises(ValueError, match="k must be between"):
        m.knn_predict(np.zeros((3, 2)), [0, 1, 0], np.zeros((1, 2)), k=4)
    with pytest.raises(ValueError, match="metric"):
        m.knn_predict(np.ones((3, 2)), [0, 1, 0], np.ones((1, 2)), k=1, metric="manhattan")
