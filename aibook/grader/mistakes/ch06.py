"""Chapter 6: plausible wrong answers, each a learner's typical mistake (see ``__init__``)."""

# Over 300 lines on purpose: a catalogue is data, one short wrong answer per entry.

from __future__ import annotations

import numpy as np

from aibook import detection, retrieval, timeseries
from aibook.grader.banks.ch06 import perplexity_reference, threshold_for_recall_reference
from aibook.grader.mistakes import Mistake

# --- 6.1 IoU -------------------------------------------------------------------------------------


def _iou(width_height, area=detection.box_area, subtract_inter=True, safe=True):
    def box_iou(a, b):
        w, h = width_height(a, b)
        inter = w * h
        union = area(a) + area(b) - (inter if subtract_inter else 0)
        if not safe:
            return inter / union
        return np.divide(inter, union, out=np.zeros_like(inter, dtype=float), where=union > 0)
    return box_iou


def _overlap(a, b, plus=0.0, clip=True):
    w = np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]) + plus
    h = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]) + plus
    return (np.clip(w, 0, None), np.clip(h, 0, None)) if clip else (w, h)


def iou_plus_one(a, b):  # inclusive pixel corners: touching boxes overlap
    return _iou(lambda a, b: _overlap(a, b, plus=1.0))(a, b)


def iou_unclipped(a, b):  # negative widths of disjoint boxes multiply to a positive "overlap"
    return _iou(lambda a, b: _overlap(a, b, clip=False))(a, b)


def iou_clipped_product(a, b):  # clip(w * h) instead of clip(w) * clip(h)
    w, h = _overlap(a, b, clip=False)
    inter = np.clip(w * h, 0, None)
    union = detection.box_area(a) + detection.box_area(b) - inter
    return np.divide(inter, union, out=np.zeros_like(inter, dtype=float), where=union > 0)


def iou_nan(a, b):
    return _iou(_overlap, safe=False)(a, b)


def iou_union_without_minus_inter(a, b):
    return _iou(_overlap, subtract_inter=False)(a, b)


def iou_area_plus_one(a, b):
    return _iou(_overlap, area=lambda x: (x[:, 2] - x[:, 0] + 1) * (x[:, 3] - x[:, 1] + 1))(a, b)


# --- 6.2 TF-IDF ----------------------------------------------------------------------------------


def _counts(tokens, vocabulary):
    v = np.zeros(len(vocabulary))
    for t in tokens:
        if t in vocabulary:
            v[vocabulary[t]] += 1
    return v


def _normalised(v, order=2):
    norm = np.linalg.norm(v, ord=order)
    return v / norm if norm else v


def tfidf_binary(tokens, vocabulary, idf):
    return retrieval.tfidf_matrix([sorted(set(tokens))], vocabulary, np.asarray(idf))[0]


def tfidf_key_error(tokens, vocabulary, idf):
    v = np.zeros(len(vocabulary))
    for t in tokens:
        v[vocabulary[t]] += 1
    v *= idf
    return v / np.linalg.norm(v)


def tfidf_divides_by_zero(tokens, vocabulary, idf):
    v = _counts(tokens, vocabulary) * np.asarray(idf)
    return v / np.linalg.norm(v)


def tfidf_not_normalised(tokens, vocabulary, idf):
    return _counts(tokens, vocabulary) * np.asarray(idf)


def tfidf_l1_normalised(tokens, vocabulary, idf):
    return _normalised(_counts(tokens, vocabulary) * np.asarray(idf), order=1)


def tfidf_without_idf(tokens, vocabulary, idf):
    return _normalised(_counts(tokens, vocabulary))


# --- 6.3 top-k accuracy --------------------------------------------------------------------------


def _top_k(rank, check=True, reduce=np.mean):
    def top_k_accuracy(scores, targets, k):
        if check and k < 1:
            raise ValueError("k must be >= 1")
        ranked = rank(scores)[:, :k]
        return float(reduce((ranked == np.asarray(targets)[:, None]).any(axis=1)))
    return top_k_accuracy


def _stable_descending(scores):
    return np.argsort(-scores, axis=1, kind="stable")


top_k_ascending = _top_k(lambda s: np.argsort(s, axis=1, kind="stable"))
top_k_unstable = _top_k(lambda s: np.argsort(s, axis=1, kind="stable")[:, ::-1])  # ties: higher index
top_k_hit_count = _top_k(_stable_descending, reduce=np.sum)


def top_k_sorts_in_place(scores, targets, k):
    result = retrieval.top_k_accuracy(scores, targets, k)
    scores.sort(axis=1)
    return result


def top_k_off_by_one(scores, targets, k):
    if k < 1:
        raise ValueError("k must be >= 1")
    return _top_k(_stable_descending)(scores, targets, max(k - 1, 1)) if k > 1 else \
        _top_k(_stable_descending)(scores, targets, 1) * 0.0


# --- 6.4 threshold for recall --------------------------------------------------------------------


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


def recall_lowest_threshold(y_true, scores, target_recall):
    threshold_for_recall_reference(y_true, scores, target_recall)  # for the ValueErrors
    return float(np.min(scores))  # recall 1 reaches every target, but is not the highest threshold


def recall_over_all_samples(y_true, scores, target_recall):
    y_true, scores = np.asarray(y_true), np.asarray(scores, dtype=float)
    threshold_for_recall_reference(y_true, scores, target_recall)  # for the ValueErrors
    for t in np.unique(scores)[::-1]:  # "recall" as true positives over all samples
        if ((scores >= t) & (y_true == 1)).sum() / len(y_true) >= target_recall:
            return float(t)
    return float(scores.min())


# --- 6.5 walk-forward folds ----------------------------------------------------------------------


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


def folds_default_step_1(n, train_size, test_size, step=None):
    return timeseries.walk_forward_splits(n, train_size, test_size, 1 if step is None else step)


def folds_inclusive_ends(n, train_size, test_size, step=None):
    folds = timeseries.walk_forward_splits(n, train_size, test_size, step).copy()
    folds[:, [1, 3]] -= 1  # last index instead of the exclusive end
    return folds


def folds_no_checks(n, train_size, test_size, step=None):
    step = step or test_size
    starts = np.arange(0, max(n - train_size - test_size + 1, 0), max(step, 1))
    return np.column_stack([starts, starts + train_size, starts + train_size,
                            starts + train_size + test_size]).astype(int)


# --- 6.6 perplexity ------------------------------------------------------------------------------


def _log_probs(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _nll(logits, targets):
    return -_log_probs(logits)[np.arange(len(targets)), targets]


def ppl_naive(logits, targets):
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return float(np.exp(-np.log(p[np.arange(len(targets)), targets]).mean()))


def ppl_mean_of_exp(logits, targets):
    return float(np.exp(_nll(logits, targets)).mean())


def ppl_in_place(logits, targets):
    logits -= logits.max(axis=1, keepdims=True)
    return perplexity_reference(logits, targets)


def ppl_exp_of_sum(logits, targets):
    return float(np.exp(_nll(logits, targets).sum()))


def ppl_base_2(logits, targets):
    return float(2 ** _nll(logits, targets).mean())


def ppl_without_exp(logits, targets):
    return float(_nll(logits, targets).mean())


MISTAKES = {
    "6.1": (
        Mistake("把像素坐标当成闭区间，宽高多加了 1（inclusive corners: + 1）", iou_plus_one),
        Mistake("交集的宽和高没有截断到 0，不相交的框也有“交集”（overlap width/height not clipped）",
                iou_unclipped),
        Mistake("截断的是乘积 w·h 而不是 w 和 h 各自（clip(w*h) instead of clip(w)*clip(h)）",
                iou_clipped_product),
        Mistake("并集为 0 时 0/0 得到 nan（division by a zero union）", iou_nan),
        Mistake("并集没有减去交集（union = area_a + area_b, intersection not subtracted）",
                iou_union_without_minus_inter),
        Mistake("面积按闭区间多算了 1（area with + 1）", iou_area_plus_one),
    ),
    "6.2": (
        Mistake("只记录词是否出现，没有计数（binary term frequency instead of counts）", tfidf_binary),
        Mistake("词表外的词引发 KeyError（unknown tokens not skipped）", tfidf_key_error),
        Mistake("全是未知词时除以零范数（division by a zero norm）", tfidf_divides_by_zero),
        Mistake("没有做 l2 归一化（not l2-normalised）", tfidf_not_normalised),
        Mistake("用了 l1 范数而不是 l2 范数（l1 instead of l2 normalisation）", tfidf_l1_normalised),
        Mistake("没有乘 idf（idf not applied）", tfidf_without_idf),
    ),
    "6.3": (
        Mistake("按升序排序，分数越低越靠前（ascending instead of descending sort）", top_k_ascending),
        Mistake("不稳定排序或反转升序结果，平分时偏向大下标（ties not broken by the lower index）",
                top_k_unstable),
        Mistake("原地排序改了输入（in-place sort: scores.sort()）", top_k_sorts_in_place),
        Mistake("返回命中数而不是比例（hit count instead of share）", top_k_hit_count),
        Mistake("取了前 k-1 个（off-by-one: top k-1）", top_k_off_by_one),
    ),
    "6.4": (
        Mistake("用 > 而不是 >=，阈值落到下一个更低的分数"
                "（strict > instead of >=）", recall_strictly_greater),
        Mistake("所需正例数向下取整，召回率达不到目标（floor instead of ceil）", recall_rounds_down),
        Mistake("非法输入没有报错（no ValueError for no positives or a bad target）", recall_no_checks),
        Mistake("返回了最低的分数"
                "（召回率为 1），而不是仍达到目标的最高阈值（lowest instead of highest threshold）",
                recall_lowest_threshold),
        Mistake("召回率除以了全部样本数而不是正例数（recall over all samples, not the positives）",
                recall_over_all_samples),
    ),
    "6.5": (
        Mistake("保留了不完整的最后一折（incomplete last fold kept）", folds_keep_partial),
        Mistake("训练窗口从 0 开始不断扩大，题目要求滑动窗口（expanding instead of sliding window）",
                folds_expanding),
        Mistake("忽略了 step 参数（step ignored）", folds_step_ignored),
        Mistake("step 默认取 1，应为 test_size（default step 1 instead of test_size）", folds_default_step_1),
        Mistake("区间终点写成最后一个下标，题目要求不含终点（inclusive instead of exclusive ends）",
                folds_inclusive_ends),
        Mistake("不可能的设置没有报错（no ValueError for impossible settings）", folds_no_checks),
    ),
    "6.6": (
        Mistake("没有先减最大值，大 logit 时 exp 上溢（unstable softmax: no max shift）", ppl_naive),
        Mistake("先对每个位置取 exp 再平均，应先平均交叉熵再取 exp（mean of exp instead of exp of mean）",
                ppl_mean_of_exp),
        Mistake("原地修改了输入（in-place: logits -= max）", ppl_in_place),
        Mistake("对交叉熵求和而不是求平均再取 exp（exp of the sum）", ppl_exp_of_sum),
        Mistake("用 2 为底，而交叉熵是自然对数（base 2 with a natural-log entropy）", ppl_base_2),
        Mistake("忘了取 exp，返回的是交叉熵（cross-entropy instead of perplexity）", ppl_without_exp),
    ),
}
