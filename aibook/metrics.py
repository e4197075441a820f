"""Classification metrics written out from their definitions (Chapter 9), checked against
``sklearn.metrics`` in ``tests/test_metrics.py``: precision, recall and F1 with an explicit rule
for 0/0, the confusion matrix, ROC and precision-recall curves, AUC two ways, average precision,
and the k-nearest-neighbour evaluation of learned embeddings.
"""

from __future__ import annotations

import numpy as np

from aibook.retrieval import cosine_similarity


def _binary(y_true, y_pred, pos_label: int = 1) -> tuple[np.ndarray, np.ndarray]:
    t, p = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} labels and y_pred {p.size}: pass one prediction per label")
    return t == pos_label, p == pos_label


def binary_counts(y_true, y_pred, pos_label: int = 1) -> tuple[int, int, int, int]:
    """(TP, FP, FN, TN) of binary predictions; ``pos_label`` marks the positive class."""
    t, p = _binary(y_true, y_pred, pos_label)
    return int(np.sum(t & p)), int(np.sum(~t & p)), int(np.sum(t & ~p)), int(np.sum(~t & ~p))


def _ratio(num: int, den: int, zero_division: float) -> float:
    return float(num / den) if den > 0 else float(zero_division)


def accuracy(y_true, y_pred) -> float:
    """Fraction of predictions equal to the label (any number of classes)."""
    t, p = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if t.size == 0 or t.shape != p.shape:
        raise ValueError("accuracy needs the same, non-zero number of labels and predictions")
    return float(np.mean(t == p))


def precision_recall_f1(y_true, y_pred, pos_label: int = 1, zero_division: float = 0.0
                        ) -> tuple[float, float, float]:
    """Binary precision TP/(TP+FP), recall TP/(TP+FN) and F1 = 2TP/(2TP+FP+FN).

    A 0/0 (no predicted positives, no actual positives) gives ``zero_division``, as in scikit-learn.
    """
    tp, fp, fn, _ = binary_counts(y_true, y_pred, pos_label)
    return (_ratio(tp, tp + fp, zero_division), _ratio(tp, tp + fn, zero_division),
            _ratio(2 * tp, 2 * tp + fp + fn, zero_division))


def confusion_matrix(y_true, y_pred, labels=None) -> np.ndarray:
    """Counts C[i, j] of samples with true label ``labels[i]`` predicted as ``labels[j]``."""
    t, p = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    labels = np.unique(np.concatenate([t, p])) if labels is None else np.asarray(labels)
    index = {v: i for i, v in enumerate(labels.tolist())}
    cm = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for a, b in zip(t.tolist(), p.tolist(), strict=True):
        if a in index and b in index:
            cm[index[a], index[b]] += 1
    return cm


def _sorted_counts(y_true, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative TP and FP counts at each distinct score, scores in decreasing order."""
    y, s = np.asarray(y_true).ravel().astype(bool), np.asarray(scores, dtype=float).ravel()
    if y.shape != s.shape or y.size == 0:
        raise ValueError("y_true and scores need the same, non-zero length")
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    last_of_run = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]  # tied scores form one step
    tps = np.cumsum(y)[last_of_run]
    return tps, 1 + last_of_run - tps, s[last_of_run]


def roc_curve(y_true, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds), one point per distinct score plus the start (0, 0) at +inf.

    Equals ``sklearn.metrics.roc_curve(..., drop_intermediate=False)``; needs both classes.
    """
    tps, fps, thresholds = _sorted_counts(y_true, scores)
    if tps[-1] == 0 or fps[-1] == 0:
        raise ValueError("ROC needs both positive and negative samples in y_true")
    tps, fps = np.r_[0, tps], np.r_[0, fps]
    return fps / fps[-1], tps / tps[-1], np.r_[np.inf, thresholds]


def auc_trapezoid(x, y) -> float:
    """Area under a curve given by points sorted along x (the trapezoid rule)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    dx = np.diff(x)
    if np.any(dx < 0) and np.any(dx > 0):
        raise ValueError("x must be sorted (increasing or decreasing) for the trapezoid rule")
    return float(abs(np.sum(dx * (y[1:] + y[:-1]) / 2)))


def roc_auc_rank(y_true, scores) -> float:
    """ROC AUC by the Mann–Whitney rank formula: P(score of a positive > score of a negative),
    ties counting one half. Equals the trapezoid area under the ROC curve.
    """
    y, s = np.asarray(y_true).ravel().astype(bool), np.asarray(scores, dtype=float).ravel()
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs both positive and negative samples in y_true")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size)
    ranks[order] = np.arange(1, s.size + 1)
    for value in np.unique(s):  # tied scores share the average of their ranks
        tied = s == value
        ranks[tied] = ranks[tied].mean()
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def precision_recall_curve(y_true, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, thresholds) as ``sklearn.metrics.precision_recall_curve``.

    One point per distinct score, thresholds increasing, plus the end point (P=1, R=0).
    """
    tps, fps, thresholds = _sorted_counts(y_true, scores)
    precision = tps / (tps + fps)
    recall = tps / tps[-1] if tps[-1] > 0 else np.ones_like(precision)  # no positives: sklearn's rule
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]


def average_precision(y_true, scores) -> float:
    """AP = sum_n (R_n - R_{n-1}) P_n over the thresholds: a step-wise area, not a trapezoid."""
    precision, recall, _ = precision_recall_curve(y_true, scores)
    return float(-np.sum(np.diff(recall) * precision[:-1]))


def knn_predict(train_emb, train_labels, query_emb, k: int = 5, metric: str = "cosine") -> np.ndarray:
    """Majority label of the k nearest training embeddings for each query (ties: smallest label).

    ``metric`` is ``"cosine"`` (the usual choice for learned embeddings) or ``"euclidean"``.
    """
    a, b = np.asarray(train_emb, dtype=float), np.asarray(query_emb, dtype=float)
    labels = np.asarray(train_labels).ravel()
    if not 1 <= k <= len(a):
        raise ValueError(f"k must be between 1 and the number of training embeddings ({len(a)}), got {k}")
    if metric == "cosine":
        dist = 1.0 - cosine_similarity(b, a)
    elif metric == "euclidean":
        dist = (b**2).sum(1)[:, None] - 2 * b @ a.T + (a**2).sum(1)[None, :]
    else:
        raise ValueError(f"metric must be 'cosine' or 'euclidean', got {metric!r}")
    nearest = np.argsort(dist, axis=1, kind="stable")[:, :k]
    classes, codes = np.unique(labels, return_inverse=True)
    votes = np.zeros((len(b), len(classes)), dtype=np.int64)
    np.add.at(votes, (np.repeat(np.arange(len(b)), k), codes[nearest].ravel()), 1)
    return classes[np.argmax(votes, axis=1)]


def knn_accuracy(train_emb, train_labels, test_emb, test_labels, k: int = 5,
                 metric: str = "cosine") -> float:
    """k-NN evaluation of embeddings: accuracy of ``knn_predict`` on held-out labelled samples."""
    return accuracy(test_labels, knn_predict(train_emb, train_labels, test_emb, k, metric))
