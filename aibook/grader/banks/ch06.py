"""Chapter 6 (实际应用场景) exercises: IoU, a TF-IDF query vector, top-k retrieval accuracy, a
threshold for a target recall, walk-forward folds that never leak the future, perplexity (60 points).

References: ``aibook.detection.box_iou``, ``aibook.retrieval`` (itself checked against
scikit-learn's TfidfVectorizer), ``aibook.timeseries.walk_forward_splits`` (checked against
scikit-learn's TimeSeriesSplit), ``sklearn.metrics.roc_curve`` for the recall threshold and
``torch.nn.functional.cross_entropy`` for the perplexity: each independent of the learner's code.
"""

from __future__ import annotations

import numpy as np

from aibook import detection, retrieval, timeseries
from aibook.grader.questions import Call, Question, Test, call

# --- 6.1 IoU -----------------------------------------------------------------------------------


def _random_boxes(rng: np.random.Generator, n: int, size: int = 20) -> np.ndarray:
    corners = rng.integers(0, size, size=(n, 2, 2)).astype(float)
    lo, hi = corners.min(axis=1), corners.max(axis=1) + 1
    return np.column_stack([lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1]])


def _iou_random(rng: np.random.Generator) -> list[Call]:
    return [call(_random_boxes(rng, 30), _random_boxes(rng, 30))]


BOX_IOU = Question(
    "6.1", "box_iou", "intersection over union of matching boxes (x0, y0, x1, y1)",
    params=("a", "b"), outputs=("iou",),
    reference=detection.box_iou,
    tests=(
        Test("two 2x2 boxes overlapping in one pixel (1/7)", 2,
             lambda rng: [call(np.array([[0.0, 0, 2, 2]]), np.array([[1.0, 1, 3, 3]]))],
             hint="IoU = intersection / (area_a + area_b - intersection)"),
        Test("identical, nested and disjoint boxes", 2,
             lambda rng: [call(np.array([[1.0, 2, 5, 6], [0, 0, 4, 4], [0, 0, 1, 1], [0, 0, 2, 2],
                                         [0, 0, 4, 4]]),
                               np.array([[1.0, 2, 5, 6], [1, 1, 2, 2], [3, 3, 4, 4], [3, 0, 5, 2],
                                         [5, 5, 9, 9]]))],
             hint="clip the intersection's width and height at 0: disjoint boxes do not overlap"),
        Test("boxes that only touch along an edge have IoU 0", 2,
             lambda rng: [call(np.array([[0.0, 0, 2, 2], [0, 0, 2, 2]]),
                               np.array([[2.0, 0, 4, 2], [0, 2, 2, 4]]))],
             hint="x1 is excluded: the width of the overlap is min(x1) - max(x0), without + 1"),
        Test("two empty boxes give 0, not nan", 1,
             lambda rng: [call(np.array([[1.0, 1, 1, 1]]), np.array([[2.0, 2, 2, 5]]))],
             hint="when the union is 0, return 0"),
        Test("30 random pairs", 2, _iou_random),
        Test("does not modify its inputs", 1, _iou_random, unmodified=True),
    ),
)


# --- 6.2 TF-IDF vector of a query ----------------------------------------------------------------

_DOCS = [["大", "模", "型"], ["模", "型", "训", "练"], ["训", "练", "数", "据"], ["大", "数", "据"]]


def tfidf_vector_reference(tokens, vocabulary, idf):
    """l2-normalised counts x idf of one token list (aibook.retrieval.tfidf_matrix)."""
    return retrieval.tfidf_matrix([tokens], vocabulary, np.asarray(idf))[0]


def _tfidf_setup(docs: list[list[str]]) -> tuple[dict, np.ndarray]:
    vocab = retrieval.build_vocabulary(docs)
    return vocab, retrieval.smoothed_idf(docs, vocab)


def _tfidf_case(tokens: list[str], docs: list[list[str]] = _DOCS) -> Call:
    vocab, idf = _tfidf_setup(docs)
    return call(tokens, vocab, idf)


def _tfidf_random(rng: np.random.Generator) -> list[Call]:
    letters = list("abcdefghij")
    docs = [list(rng.choice(letters, size=int(rng.integers(3, 9)))) for _ in range(8)]
    return [_tfidf_case([str(t) for t in rng.choice(letters + ["zz"], size=6)], docs)]


TFIDF_VECTOR = Question(
    "6.2", "tfidf_vector", "the l2-normalised TF-IDF vector of a query",
    params=("tokens", "vocabulary", "idf"), outputs=("vector",),
    reference=tfidf_vector_reference,
    tests=(
        Test("a query of distinct known tokens", 2, lambda rng: [_tfidf_case(["大", "模", "型"])],
             hint="weight = count * idf[vocabulary[token]], then divide by the l2 norm"),
        Test("a repeated token counts twice", 2, lambda rng: [_tfidf_case(["训", "练", "练"])],
             hint="use the raw count of each token, not 1"),
        Test("unknown tokens are ignored", 2, lambda rng: [_tfidf_case(["大", "猫", "猫"])],
             hint="skip tokens that are not in the vocabulary"),
        Test("only unknown tokens (or none) give the zero vector", 2,
             lambda rng: [_tfidf_case(["猫"]), _tfidf_case([])],
             hint="do not divide by a zero norm: return zeros"),
        Test("a random vocabulary and query", 1, _tfidf_random),
        Test("does not modify its inputs", 1, _tfidf_random, unmodified=True,
             hint="build a new vector; do not scale idf in place"),
    ),
)


# --- 6.3 top-k accuracy ------------------------------------------------------------------------


def _scores(rng: np.random.Generator, n_q: int, n_d: int) -> Call:
    return call(rng.normal(size=(n_q, n_d)), rng.integers(0, n_d, size=n_q), int(rng.integers(1, 4)))


TOP_K_ACCURACY = Question(
    "6.3", "top_k_accuracy", "share of queries whose right document is among the k best",
    params=("scores", "targets", "k"), outputs=("accuracy",),
    reference=retrieval.top_k_accuracy,
    tests=(
        Test("top-1 and top-2 on a small example", 2,
             lambda rng: [call(np.array([[0.9, 0.1, 0.3], [0.2, 0.8, 0.7]]), np.array([0, 2]), 1),
                          call(np.array([[0.9, 0.1, 0.3], [0.2, 0.8, 0.7]]), np.array([0, 2]), 2)],
             hint="higher score = better: sort in descending order"),
        Test("ties go to the lower document index", 2,
             lambda rng: [call(np.array([[0.5, 0.5, 0.5, 0.1]]), np.array([2]), 2),
                          call(np.array([[0.5, 0.5, 0.5, 0.1]]), np.array([1]), 2)],
             hint="use a stable sort of -scores (np.argsort(-scores, kind='stable'))"),
        Test("k larger than the number of documents", 1,
             lambda rng: [call(np.array([[0.2, 0.1], [0.3, 0.4]]), np.array([1, 0]), 5)],
             hint="with k >= n_documents every query is a hit"),
        Test("random scores, k from 1 to 3", 2, lambda rng: [_scores(rng, 20, 6)]),
        Test("k < 1 raises ValueError", 1,
             lambda rng: [call(np.ones((2, 3)), np.array([0, 1]), 0)], raises="ValueError"),
        Test("does not modify its inputs", 2, lambda rng: [_scores(rng, 5, 4)], unmodified=True,
             hint="np.argsort returns a new array; scores.sort() sorts in place"),
    ),
)


# --- 6.4 threshold for a target recall ---------------------------------------------------------


def threshold_for_recall_reference(y_true, scores, target_recall):
    """The largest score t with recall(scores >= t) >= target_recall, from sklearn's roc_curve."""
    from sklearn.metrics import roc_curve

    y_true, scores = np.asarray(y_true), np.asarray(scores, dtype=float)
    if not 0 < target_recall <= 1:
        raise ValueError("target_recall must be in (0, 1]")
    if not (y_true == 1).any():
        raise ValueError("y_true has no positives: recall is undefined")
    _, tpr, thresholds = roc_curve(y_true, scores, drop_intermediate=False)
    return float(thresholds[np.argmax(tpr >= target_recall - 1e-12)])


def _recall_case(rng: np.random.Generator, n: int, target: float, ties: bool = False) -> Call:
    y = (rng.uniform(size=n) < 0.3).astype(int)
    y[0] = 1
    s = rng.normal(size=n) + 1.5 * y
    if ties:
        s = np.round(s, 1)
    return call(y, s, target)


THRESHOLD_FOR_RECALL = Question(
    "6.4", "threshold_for_recall", "the highest threshold that still reaches a target recall",
    params=("y_true", "scores", "target_recall"), outputs=("threshold",),
    reference=threshold_for_recall_reference,
    tests=(
        Test("a small example: recall 0.5 and 1.0", 2,
             lambda rng: [call(np.array([1, 0, 1, 0, 1, 1]), np.array([0.9, 0.8, 0.7, 0.4, 0.3, 0.1]), 0.5),
                          call(np.array([1, 0, 1, 0, 1, 1]), np.array([0.9, 0.8, 0.7, 0.4, 0.3, 0.1]), 1.0)],
             hint="predict positive when score >= threshold; the threshold is one of the scores"),
        Test("a target between two achievable recalls rounds up", 2,
             lambda rng: [call(np.array([1, 1, 1, 0]), np.array([0.9, 0.6, 0.2, 0.5]), 0.5)],
             hint="recall must be at least the target: 1/3 is not enough for 0.5, 2/3 is"),
        Test("tied scores are kept or dropped together", 2,
             lambda rng: [_recall_case(rng, 60, 0.8, ties=True),
                          call(np.array([1, 1, 0, 1]), np.array([0.5, 0.5, 0.5, 0.2]), 0.5)],
             hint="all samples with score >= t are positive, so tied samples move together"),
        Test("random data, targets 0.9 and 0.95", 1,
             lambda rng: [_recall_case(rng, 200, 0.9), _recall_case(rng, 200, 0.95)]),
        Test("does not modify its inputs", 1, lambda rng: [_recall_case(rng, 50, 0.8)], unmodified=True,
             hint="np.sort returns a copy; scores.sort() sorts the caller's array"),
        Test("no positives, or a target outside (0, 1], raise ValueError", 2,
             lambda rng: [call(np.array([0, 0, 0]), np.array([0.1, 0.2, 0.3]), 0.5),
                          call(np.array([1, 0]), np.array([0.1, 0.2]), 0.0),
                          call(np.array([1, 0]), np.array([0.1, 0.2]), 1.5)],
             raises="ValueError"),
    ),
)


# --- 6.5 walk-forward folds --------------------------------------------------------------------


def _folds_random(rng: np.random.Generator) -> list[Call]:
    calls = []
    while len(calls) < 10:
        n, train, test = int(rng.integers(5, 200)), int(rng.integers(1, 60)), int(rng.integers(1, 30))
        if train + test <= n:
            calls.append(call(n, train, test, step=int(rng.integers(1, 20))))
    return calls


WALK_FORWARD = Question(
    "6.5", "walk_forward_splits", "sliding-window walk-forward folds that never test on the past",
    params=("n", "train_size", "test_size", "step"), outputs=("folds",),
    reference=timeseries.walk_forward_splits,
    tests=(
        Test("n = 20, train 8, test 4", 2, lambda rng: [call(20, 8, 4)],
             hint="each row is (train_start, train_end, test_start, test_end), ends exclusive"),
        Test("an incomplete last fold is dropped", 2, lambda rng: [call(22, 8, 4), call(57, 20, 7)],
             hint="a fold must fit entirely: test_end <= n"),
        Test("an explicit step (overlapping test windows)", 2,
             lambda rng: [call(10, 4, 2, step=1), call(30, 10, 5, step=3)],
             hint="fold k starts at k * step"),
        Test("exactly one fold fits", 1, lambda rng: [call(12, 8, 4)]),
        Test("10 random settings", 1, _folds_random),
        Test("impossible settings raise ValueError", 2,
             lambda rng: [call(5, 4, 2), call(10, 0, 2), call(10, 4, 0), call(10, 4, 2, step=0)],
             raises="ValueError"),
    ),
)


# --- 6.6 perplexity ----------------------------------------------------------------------------


def perplexity_reference(logits, targets):
    """exp of the mean cross-entropy, by torch.nn.functional.cross_entropy in float64."""
    import torch
    import torch.nn.functional as F

    loss = F.cross_entropy(torch.tensor(logits, dtype=torch.float64), torch.tensor(targets))
    return float(torch.exp(loss))


def _ppl_case(rng: np.random.Generator, n: int, v: int, scale: float = 1.0) -> Call:
    return call(rng.normal(size=(n, v)) * scale, rng.integers(0, v, size=n))


PERPLEXITY = Question(
    "6.6", "perplexity", "perplexity of next-token predictions: exp(mean cross-entropy)",
    params=("logits", "targets"), outputs=("perplexity",),
    reference=perplexity_reference,
    tests=(
        Test("uniform logits give the vocabulary size", 2,
             lambda rng: [call(np.zeros((5, 7)), np.arange(5))],
             hint="perplexity = exp(mean over positions of -log softmax(logits)[target])"),
        Test("random logits over 10 tokens", 2, lambda rng: [_ppl_case(rng, 30, 10)],
             hint="average the losses first, then take exp (not the mean of exp)"),
        Test("large logits (stable log-softmax)", 2, lambda rng: [_ppl_case(rng, 20, 6, scale=400.0)],
             hint="subtract each row's maximum before exp, or use logsumexp"),
        Test("a single position", 2, lambda rng: [_ppl_case(rng, 1, 4)]),
        Test("does not modify its inputs", 2, lambda rng: [_ppl_case(rng, 8, 5)], unmodified=True,
             hint="write z = logits - m, not logits -= m"),
    ),
)


QUESTIONS = [BOX_IOU, TFIDF_VECTOR, TOP_K_ACCURACY, THRESHOLD_FOR_RECALL, WALK_FORWARD, PERPLEXITY]
