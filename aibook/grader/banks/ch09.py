"""Chapter 9 (常见问题与解答) exercises: precision/recall/F1 with 0/0, ROC AUC by ranks, early
stopping, gradient accumulation, the k of a k-anonymous table and an HMAC pseudonym (50 points).

References: ``aibook.metrics`` (checked against scikit-learn in tests/test_metrics.py), the
standard library's ``hmac``, and short implementations written here from the definitions.
The exercise text in ``solutions/ch09.ipynb`` states each test and its points.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter

import numpy as np

from aibook import metrics
from aibook.grader.questions import Call, Question, Test, call

# --- 9.1 precision, recall and F1 ---------------------------------------------------------------


def precision_recall_f1_reference(y_true, y_pred, zero_division=0.0):
    """(precision, recall, F1) of binary 0/1 labels, ``zero_division`` for 0/0."""
    return metrics.precision_recall_f1(y_true, y_pred, pos_label=1, zero_division=zero_division)


def _labels(rng: np.random.Generator, n: int, p: float = 0.5) -> np.ndarray:
    return (rng.uniform(size=n) < p).astype(np.int64)


def _prf_random(rng: np.random.Generator) -> list[Call]:
    return [call(_labels(rng, 40), _labels(rng, 40)) for _ in range(3)]


def _prf_imbalanced(rng: np.random.Generator) -> list[Call]:
    t = np.zeros(200, dtype=np.int64)
    t[:8] = 1
    p = np.zeros(200, dtype=np.int64)
    p[4:20] = 1  # 4 true positives, 12 false positives, 4 false negatives
    return [call(t, p), call(t, np.roll(p, int(rng.integers(1, 5))))]


PRECISION_RECALL_F1 = Question(
    "9.1", "precision_recall_f1", "binary precision, recall and F1 with a rule for 0/0",
    params=("y_true", "y_pred", "zero_division"), outputs=("precision", "recall", "f1"),
    reference=precision_recall_f1_reference,
    tests=(
        Test("random labels and predictions", 2, _prf_random),
        Test("imbalanced labels: F1 uses precision, not accuracy", 2, _prf_imbalanced,
             hint="F1 = 2PR/(P+R) with P = TP/(TP+FP), not the accuracy"),
        Test("no predicted positives: precision is 0/0", 2,
             lambda rng: [call(np.array([1, 0, 1, 0]), np.zeros(4, dtype=np.int64)),
                          call(np.array([1, 0, 1, 0]), np.zeros(4, dtype=np.int64), zero_division=1.0)],
             hint="when TP + FP == 0 return zero_division for the precision instead of dividing"),
        Test("no positives at all: everything is 0/0", 2,
             lambda rng: [call(np.zeros(5, dtype=np.int64), np.zeros(5, dtype=np.int64)),
                          call(np.zeros(5, dtype=np.int64), np.zeros(5, dtype=np.int64), zero_division=1.0)],
             hint="F1 = 2TP/(2TP+FP+FN) is 0/0 only when TP, FP and FN are all 0"),
        Test("does not modify its inputs", 1, _prf_random, unmodified=True),
    ),
)


# --- 9.2 ROC AUC by the rank formula ----------------------------------------------------------------


def roc_auc_rank_reference(y_true, scores):
    """AUC = (sum of the positives' ranks - n+(n+ + 1)/2) / (n+ n-), tied scores share ranks."""
    return metrics.roc_auc_rank(y_true, scores)


def _auc_case(rng: np.random.Generator, n: int, decimals: int | None = None) -> Call:
    y = _labels(rng, n)
    y[:2] = [0, 1]
    s = rng.normal(size=n) + y
    return call(y, np.round(s, decimals) if decimals is not None else s)


ROC_AUC_RANK = Question(
    "9.2", "roc_auc_rank", "ROC AUC by the Mann-Whitney rank formula",
    params=("y_true", "scores"), outputs=("auc",),
    reference=roc_auc_rank_reference,
    tests=(
        Test("distinct scores", 2, lambda rng: [_auc_case(rng, 30), _auc_case(rng, 7)]),
        Test("tied scores count one half", 3,
             lambda rng: [_auc_case(rng, 40, decimals=0), call(np.array([0, 1, 0, 1]), np.full(4, 0.3))],
             hint="give tied scores the average of their ranks"),
        Test("perfect and reversed rankings give 1 and 0", 1,
             lambda rng: [call(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])),
                          call(np.array([1, 1, 0, 0]), np.array([0.1, 0.2, 0.8, 0.9]))]),
        Test("only one class raises ValueError", 2,
             lambda rng: [call(np.ones(4, dtype=np.int64), rng.normal(size=4)),
                          call(np.zeros(3, dtype=np.int64), rng.normal(size=3))],
             raises="ValueError", hint="AUC compares positives with negatives: both must be present"),
        Test("does not modify its inputs", 1, lambda rng: [_auc_case(rng, 12)], unmodified=True),
    ),
)


# --- 9.3 early stopping -----------------------------------------------------------------------------


def early_stopping_reference(val_losses, patience, min_delta=0.0):
    """(best epoch, last epoch trained): stop once ``patience`` epochs in a row failed to beat the
    best loss by more than ``min_delta``; epochs count from 0."""
    if patience < 1:
        raise ValueError("patience must be at least 1")
    best, best_epoch, waited = float("inf"), 0, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best - min_delta:
            best, best_epoch, waited = float(loss), epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


def _u_curve(rng: np.random.Generator, n: int = 30) -> np.ndarray:
    epochs = np.arange(n)
    return 1.0 / (1 + epochs) + 0.01 * epochs + rng.normal(scale=0.004, size=n)


EARLY_STOPPING = Question(
    "9.3", "early_stopping", "best epoch and stopping epoch of early stopping with patience",
    params=("val_losses", "patience", "min_delta"), outputs=("best_epoch", "stop_epoch"),
    reference=early_stopping_reference,
    tests=(
        Test("a noisy U-shaped validation curve", 2,
             lambda rng: [call(_u_curve(rng), 3), call(_u_curve(rng), 5),
                          call(np.array([1.0, 0.8, 0.85, 0.9, 0.7]), 2),
                          call(np.array([1.0, 1.1, 0.9, 1.0, 0.95, 0.8]), 2)],
             hint="reset the count of epochs without improvement whenever the loss improves"),
        Test("a loss equal to the best is not an improvement", 2,
             lambda rng: [call(np.array([1.0, 0.5, 0.5, 0.5, 0.4]), 2),
                          call(np.array([0.9, 0.7, 0.7, 0.6]), 1)],
             hint="improve means loss < best - min_delta (strictly smaller)"),
        Test("min_delta: tiny improvements do not count", 2,
             lambda rng: [call(np.array([1.0, 0.99, 0.985, 0.98, 0.5]), 3, 0.05),
                          call(np.array([1.0, 0.9, 0.89, 0.88, 0.87, 0.2]), 2, 0.02)],
             hint="compare with the best loss so far minus min_delta"),
        Test("never stops: trains to the last epoch", 1,
             lambda rng: [call(np.linspace(1, 0.1, 10), 2), call(np.array([0.3]), 1)]),
        Test("patience < 1 raises ValueError", 1,
             lambda rng: [call(np.array([1.0, 0.5]), 0), call(np.array([1.0, 0.5]), -2)],
             raises="ValueError"),
        Test("does not modify its inputs", 1, lambda rng: [call(_u_curve(rng), 4)], unmodified=True),
    ),
)


# --- 9.4 gradient accumulation ----------------------------------------------------------------------


def accumulated_gradient_reference(X, y, w, micro_batch):
    """Gradient of the full-batch MSE mean((X w - y)^2), by micro-batches weighted by size."""
    if micro_batch < 1:
        raise ValueError("micro_batch must be at least 1")
    n = len(X)
    grad = np.zeros_like(w, dtype=float)
    for start in range(0, n, micro_batch):
        xb, yb = X[start:start + micro_batch], y[start:start + micro_batch]
        grad += len(xb) / n * (2 / len(xb)) * xb.T @ (xb @ w - yb)
    return grad


def _regression(rng: np.random.Generator, n: int, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, d))
    return X, X @ rng.normal(size=d) + rng.normal(scale=0.1, size=n), rng.normal(size=d)


ACCUMULATED_GRADIENT = Question(
    "9.4", "accumulated_gradient", "full-batch MSE gradient by accumulating micro-batches",
    params=("X", "y", "w", "micro_batch"), outputs=("grad",),
    reference=accumulated_gradient_reference,
    tests=(
        Test("micro-batches of equal size", 2, lambda rng: [call(*_regression(rng, 32, 4), 8)]),
        Test("a smaller last micro-batch", 3,
             lambda rng: [call(*_regression(rng, 30, 3), 8), call(*_regression(rng, 10, 2), 4)],
             hint="weight each micro-batch's mean gradient by its size n_i / N, "
                  "not by 1 / (number of batches)"),
        Test("one micro-batch, and micro-batches of one sample", 1,
             lambda rng: [call(*_regression(rng, 12, 3), 50), call(*_regression(rng, 6, 2), 1)]),
        Test("micro_batch < 1 raises ValueError", 1,
             lambda rng: [call(*_regression(rng, 4, 2), 0)], raises="ValueError"),
        Test("does not modify its inputs", 1, lambda rng: [call(*_regression(rng, 9, 3), 4)],
             unmodified=True),
    ),
)


# --- 9.5 k-anonymity --------------------------------------------------------------------------------


def k_anonymity_reference(table, quasi_identifiers):
    """Size of the smallest group of rows equal on the columns ``quasi_identifiers``."""
    table = np.asarray(table)
    if len(table) == 0:
        raise ValueError("k-anonymity of an empty table is undefined")
    return min(Counter(tuple(row[list(quasi_identifiers)].tolist()) for row in table).values())


def _table(rng: np.random.Generator, n: int, levels: tuple[int, ...]) -> np.ndarray:
    return np.stack([rng.integers(0, m, size=n) for m in levels], axis=1)


K_ANONYMITY = Question(
    "9.5", "k_anonymity", "the k of a table: its smallest group of equal quasi-identifiers",
    params=("table", "quasi_identifiers"), outputs=("k",),
    reference=k_anonymity_reference,
    tests=(
        Test("a small table", 2,
             lambda rng: [call(np.array([[30, 101, 0], [30, 101, 1], [30, 101, 0], [40, 102, 1]]), [0, 1]),
                          call(np.array([[30, 101, 0], [30, 101, 1], [30, 101, 0], [40, 102, 1]]), [2])],
             hint="k is the size of the SMALLEST group, not the number of groups"),
        Test("random tables, several quasi-identifiers", 2,
             lambda rng: [call(_table(rng, 200, (3, 4, 2)), [0, 1, 2]),
                          call(_table(rng, 200, (3, 4, 2)), [0, 2])]),
        Test("every row unique, or all rows equal", 1,
             lambda rng: [call(np.arange(12).reshape(6, 2), [0, 1]),
                          call(np.ones((5, 3), dtype=np.int64), [0, 2])]),
        Test("no quasi-identifiers: one group of all rows", 1,
             lambda rng: [call(_table(rng, 7, (2, 2)), [])]),
        Test("an empty table raises ValueError", 1,
             lambda rng: [call(np.zeros((0, 3), dtype=np.int64), [0])], raises="ValueError"),
        Test("does not modify its inputs", 1, lambda rng: [call(_table(rng, 20, (2, 3)), [0, 1])],
             unmodified=True),
    ),
)


# --- 9.6 HMAC pseudonym -----------------------------------------------------------------------------


def hmac_pseudonym_reference(value, key):
    """Hex HMAC-SHA256 of the UTF-8 bytes of ``value`` under the UTF-8 bytes of ``key``."""
    if not key:
        raise ValueError("the key must not be empty")
    return hmac.new(key.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).hexdigest()


def _word(rng: np.random.Generator, n: int) -> str:
    return "".join(chr(c) for c in rng.integers(97, 123, size=n))


HMAC_PSEUDONYM = Question(
    "9.6", "hmac_pseudonym", "a keyed pseudonym: HMAC-SHA256 as a hex string",
    params=("value", "key"), outputs=("pseudonym",),
    reference=hmac_pseudonym_reference,
    tests=(
        Test("RFC 4231 test case 2", 2, lambda rng: [call("what do ya want for nothing?", "Jefe")]),
        Test("random identifiers and keys", 2,
             lambda rng: [call(f"C{int(rng.integers(0, 100_000)):05d}", _word(rng, 16)) for _ in range(3)],
             hint="use hmac.new(key, value, hashlib.sha256), not sha256(key + value)"),
        Test("non-ASCII text is encoded as UTF-8", 1, lambda rng: [call("张三", "密钥"), call("Zoë", "k")],
             hint="encode both strings with .encode('utf-8')"),
        Test("an empty value is allowed", 1, lambda rng: [call("", _word(rng, 8))]),
        Test("an empty key raises ValueError", 1, lambda rng: [call("C00001", "")], raises="ValueError",
             hint="a pseudonym without a secret key can be reversed by trying every identifier"),
    ),
)


QUESTIONS = [PRECISION_RECALL_F1, ROC_AUC_RANK, EARLY_STOPPING, ACCUMULATED_GRADIENT, K_ANONYMITY,
             HMAC_PSEUDONYM]
