"""Chapter 9's question bank: typical mistakes, each caught by the test written for it.

The checks every chapter shares (sync, points, any seed, "not done") are in test_exercises.py.
"""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pytest

from aibook.grader.banks import ch09
from aibook.grader.check import failing_tests


def f1_with_accuracy(y_true, y_pred, zero_division=0.0):
    t, p = np.asarray(y_true) == 1, np.asarray(y_pred) == 1
    tp, fp, fn = np.sum(t & p), np.sum(~t & p), np.sum(t & ~p)
    precision = tp / (tp + fp) if tp + fp else zero_division
    recall = tp / (tp + fn) if tp + fn else zero_division
    acc = np.mean(t == p)
    return float(precision), float(recall), float(2 * acc * recall / (acc + recall) if acc + recall else 0.0)


def prf_dividing_blindly(y_true, y_pred, zero_division=0.0):
    t, p = np.asarray(y_true) == 1, np.asarray(y_pred) == 1
    tp, fp, fn = int(np.sum(t & p)), int(np.sum(~t & p)), int(np.sum(t & ~p))
    precision, recall = tp / (tp + fp), tp / (tp + fn)  # ZeroDivisionError on 0/0
    return precision, recall, 2 * precision * recall / (precision + recall)


def auc_ranks_without_ties(y_true, scores):
    y, s = np.asarray(y_true) == 1, np.asarray(scores, dtype=float)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("both classes")
    ranks = np.empty(len(s))
    ranks[np.argsort(s, kind="stable")] = np.arange(1, len(s) + 1)  # ties get different ranks
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auc_without_check(y_true, scores):
    y, s = np.asarray(y_true) == 1, np.asarray(scores, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        wins = (s[y][:, None] > s[~y][None, :]) + 0.5 * (s[y][:, None] == s[~y][None, :])
        return float(wins.mean()) if wins.size else float("nan")


def early_stopping_equal_counts(val_losses, patience, min_delta=0.0):
    if patience < 1:
        raise ValueError("patience")
    best, best_epoch, waited = float("inf"), 0, 0
    for epoch, loss in enumerate(val_losses):
        if loss <= best - min_delta:  # an equal loss counts as an improvement
            best, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


def early_stopping_ignoring_min_delta(val_losses, patience, min_delta=0.0):
    return ch09.early_stopping_reference(val_losses, patience, 0.0)


def accumulated_equal_weights(X, y, w, micro_batch):
    if micro_batch < 1:
        raise ValueError("micro_batch")
    parts = [(X[s:s + micro_batch], y[s:s + micro_batch]) for s in range(0, len(X), micro_batch)]
    grads = [2 / len(xb) * xb.T @ (xb @ w - yb) for xb, yb in parts]
    return sum(grads) / len(grads)  # 1 / (number of micro-batches) instead of n_i / N


def k_as_number_of_groups(table, quasi_identifiers):
    table = np.asarray(table)
    if len(table) == 0:
        raise ValueError("empty")
    return len(Counter(tuple(row[list(quasi_identifiers)].tolist()) for row in table))


def sha256_of_key_and_value(value, key):
    if not key:
        raise ValueError("key")
    return hashlib.sha256((key + value).encode("utf-8")).hexdigest()


def pseudonym_without_key_check(value, key):
    import hmac

    return hmac.new(key.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("qid, answer, failing", [
    ("9.1", f1_with_accuracy, "imbalanced labels: F1 uses precision, not accuracy"),
    ("9.1", prf_dividing_blindly, "no predicted positives: precision is 0/0"),
    ("9.1", prf_dividing_blindly, "no positives at all: everything is 0/0"),
    ("9.2", auc_ranks_without_ties, "tied scores count one half"),
    ("9.2", auc_without_check, "only one class raises ValueError"),
    ("9.3", early_stopping_equal_counts, "a loss equal to the best is not an improvement"),
    ("9.3", early_stopping_ignoring_min_delta, "min_delta: tiny improvements do not count"),
    ("9.4", accumulated_equal_weights, "a smaller last micro-batch"),
    ("9.5", k_as_number_of_groups, "a small table"),
    ("9.6", sha256_of_key_and_value, "random identifiers and keys"),
    ("9.6", pseudonym_without_key_check, "an empty key raises ValueError"),
], ids=lambda v: v.__name__ if callable(v) else None)
def test_typical_mistakes_fail_the_test_made_for_them(qid, answer, failing):
    assert failing in failing_tests(qid, answer, seed=7)


@pytest.mark.parametrize("answer", [f1_with_accuracy, auc_ranks_without_ties, accumulated_equal_weights,
                                    k_as_number_of_groups])
def test_typical_mistakes_pass_the_easy_tests(answer):
    """The mistakes are subtle: each passes at least one test, so the failing test is what catches it."""
    qid = {f1_with_accuracy: "9.1", auc_ranks_without_ties: "9.2", accumulated_equal_weights: "9.4",
           k_as_number_of_groups: "9.5"}[answer]
    question = next(q for q in ch09.QUESTIONS if q.id == qid)
    assert len(failing_tests(qid, answer, seed=7)) < len(question.tests)


def test_early_stopping_worked_example_from_the_text():
    assert ch09.early_stopping_reference([1.0, 0.8, 0.85, 0.9, 0.7], 2) == (1, 3)
