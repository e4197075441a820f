"""Chapter 6's question bank: typical mistakes, each caught by the test written for it.

The checks every chapter shares (sync, points, any seed, "not done") are in test_exercises.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from aibook import detection, retrieval, timeseries
from aibook.grader.banks.ch06 import perplexity_reference, threshold_for_recall_reference
from aibook.grader.check import failing_tests

# the typical wrong answers below divide by zero or overflow on purpose
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def iou_plus_one(a, b):  # inclusive pixel corners: touching boxes overlap
    w = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]) + 1, 0, None)
    h = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]) + 1, 0, None)
    inter = w * h
    union = detection.box_area(a) + detection.box_area(b) - inter
    return np.divide(inter, union, out=np.zeros_like(inter, dtype=float), where=union > 0)


def iou_unclipped(a, b):  # negative widths of disjoint boxes multiply to a positive "overlap"
    w = np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
    h = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    inter = w * h
    union = detection.box_area(a) + detection.box_area(b) - inter
    return np.divide(inter, union, out=np.zeros_like(inter, dtype=float), where=union > 0)


def iou_nan(a, b):
    with np.errstate(invalid="ignore"):
        lo, hi = np.maximum(a[:, :2], b[:, :2]), np.minimum(a[:, 2:], b[:, 2:])
        inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
        return inter / (detection.box_area(a) + detection.box_area(b) - inter)


def tfidf_binary(tokens, vocabulary, idf):
    return retrieval.tfidf_matrix([sorted(set(tokens))], vocabulary, np.asarray(idf))[0]


def tfidf_key_error(tokens, vocabulary, idf):
    v = np.zeros(len(vocabulary))
    for t in tokens:
        v[vocabulary[t]] += 1
    v *= idf
    return v / np.linalg.norm(v)


def tfidf_divides_by_zero(tokens, vocabulary, idf):
    v = retrieval.tfidf_matrix([tokens], vocabulary, np.asarray(idf))[0]
    return v if v.any() else v / 0.0


def top_k_ascending(scores, targets, k):
    return retrieval.top_k_accuracy(-scores, targets, k)


def top_k_unstable(scores, targets, k):
    if k < 1:
        raise ValueError("k")
    ranked = np.argsort(scores, axis=1)[:, ::-1][:, :k]  # ties go to the higher index
    return float((ranked == targets[:, None]).any(axis=1).mean())


def top_k_sorts_in_place(scores, targets, k):
    result = retrieval.top_k_accuracy(scores, targets, k)
    scores.sort(axis=1)
    return result


def recall_strictly_greater(y_true, scores, target_recall):
    t = threshold_for_recall_reference(y_true, scores, target_recall)
    below = np.asarray(scores)[np.asarray(scores) < t]
    return float(below.max()) if below.size else t - 1.0  # uses ">" so returns the next lower score


def recall_rounds_down(y_true, scores, target_recall):
    y_true, scores = np.asarray(y_true), np.asarray(scores, dtype=float)
    threshold_for_recall_reference(y_true, scores, target_recall)  # for the ValueErrors
    pos = np.sort(scores[y_true == 1])[::-1]
    return float(pos[max(int(target_recall * len(pos)) - 1, 0)])  # floor instead of ceil


def recall_no_checks(y_true, scores, target_recall):
    try:
        return threshold_for_recall_reference(y_true, scores, target_recall)
    except ValueError:
        return 0.0


def folds_keep_partial(n, train_size, test_size, step=None):
    folds = timeseries.walk_forward_splits(n, train_size, test_size, step)
    last = folds[-1] + (step or test_size)
    if last[2] < n:
        folds = np.vstack([folds, [last[0], last[1], last[2], n]])
    return folds


def folds_expanding(n, train_size, test_size, step=None):
    folds = timeseries.walk_forward_splits(n, train_size, test_size, step).copy()
    folds[:, 0] = 0  # an expanding window: not the sliding window the question asks for
    return folds


def folds_step_ignored(n, train_size, test_size, step=None):
    if step is not None and step < 1:
        raise ValueError("step")
    return timeseries.walk_forward_splits(n, train_size, test_size)


def ppl_naive(logits, targets):
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return float(np.exp(-np.log(p[np.arange(len(targets)), targets]).mean()))


def ppl_mean_of_exp(logits, targets):
    z = logits - logits.max(axis=1, keepdims=True)
    lp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(np.exp(-lp[np.arange(len(targets)), targets]).mean())


def ppl_in_place(logits, targets):
    logits -= logits.max(axis=1, keepdims=True)
    return perplexity_reference(logits, targets)


@pytest.mark.parametrize("qid, answer, failing", [
    ("6.1", iou_plus_one, "boxes that only touch along an edge have IoU 0"),
    ("6.1", iou_unclipped, "identical, nested and disjoint boxes"),
    ("6.1", iou_nan, "two empty boxes give 0, not nan"),
    ("6.2", tfidf_binary, "a repeated token counts twice"),
    ("6.2", tfidf_key_error, "unknown tokens are ignored"),
    ("6.2", tfidf_divides_by_zero, "only unknown tokens (or none) give the zero vector"),
    ("6.3", top_k_ascending, "top-1 and top-2 on a small example"),
    ("6.3", top_k_unstable, "ties go to the lower document index"),
    ("6.3", top_k_sorts_in_place, "does not modify its inputs"),
    ("6.4", recall_strictly_greater, "a small example: recall 0.5 and 1.0"),
    ("6.4", recall_rounds_down, "a target between two achievable recalls rounds up"),
    ("6.4", recall_no_checks, "no positives, or a target outside (0, 1], raise ValueError"),
    ("6.5", folds_keep_partial, "an incomplete last fold is dropped"),
    ("6.5", folds_expanding, "n = 20, train 8, test 4"),
    ("6.5", folds_step_ignored, "an explicit step (overlapping test windows)"),
    ("6.6", ppl_naive, "large logits (stable log-softmax)"),
    ("6.6", ppl_mean_of_exp, "random logits over 10 tokens"),
    ("6.6", ppl_in_place, "does not modify its inputs"),
], ids=lambda v: v.__name__ if callable(v) else None)
def test_typical_mistakes_fail_the_test_made_for_them(qid, answer, failing):
    assert failing in failing_tests(qid, answer, seed=7)
