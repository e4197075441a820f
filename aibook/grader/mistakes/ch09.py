"""Chapter 9: plausible wrong answers, each a learner's typical mistake (see ``__init__``)."""

# Over 300 lines on purpose: a catalogue is data, one short wrong answer per entry.

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import Counter

import numpy as np

from aibook.grader.banks.ch09 import early_stopping_reference, roc_auc_rank_reference
from aibook.grader.mistakes import Mistake


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
    return early_stopping_reference(val_losses, patience, 0.0)


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


def _prf(combine=lambda p, r: 2 * p * r / (p + r), swap=False, honour_zero_division=True):
    def precision_recall_f1(y_true, y_pred, zero_division=0.0):
        zd = zero_division if honour_zero_division else 0.0
        t, p = np.asarray(y_true) == 1, np.asarray(y_pred) == 1
        tp, fp, fn = np.sum(t & p), np.sum(~t & p), np.sum(t & ~p)
        precision = tp / (tp + fp) if tp + fp else zd
        recall = tp / (tp + fn) if tp + fn else zd
        if swap:
            precision, recall = recall, precision
        f1 = 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else zd
        if combine is not None and precision + recall:
            f1 = combine(precision, recall)
        return float(precision), float(recall), float(f1)
    return precision_recall_f1


prf_swapped = _prf(swap=True)
prf_arithmetic_mean = _prf(combine=lambda p, r: (p + r) / 2)
prf_zero_division_ignored = _prf(honour_zero_division=False)


def _auc(wins):
    def roc_auc_rank(y_true, scores):
        y, s = np.asarray(y_true) == 1, np.asarray(scores, dtype=float)
        if y.all() or not y.any():
            raise ValueError("both classes must be present")
        return float(wins(s[y][:, None], s[~y][None, :]).mean())
    return roc_auc_rank


auc_ties_count_zero = _auc(lambda pos, neg: (pos > neg) * 1.0)
auc_labels_swapped = _auc(lambda pos, neg: (neg > pos) + 0.5 * (neg == pos))


def auc_ranks_from_zero(y_true, scores):
    y = np.asarray(y_true) == 1
    # ranks 0..n-1 in the formula for ranks 1..n: every positive loses one, AUC drops by 1 / n_neg
    return roc_auc_rank_reference(y_true, scores) - 1 / int((~y).sum())


def _stopping(reset=True, stop_after=lambda waited, patience: waited >= patience, offset=0, check=True):
    def early_stopping(val_losses, patience, min_delta=0.0):
        if check and patience < 1:
            raise ValueError("patience")
        best, best_epoch, waited = float("inf"), 0, 0
        for epoch, loss in enumerate(val_losses):
            if loss < best - min_delta:
                best, best_epoch = float(loss), epoch
                if reset:
                    waited = 0
            else:
                waited += 1
                if stop_after(waited, patience):
                    return best_epoch + offset, epoch + offset
        return best_epoch + offset, len(val_losses) - 1 + offset
    return early_stopping


early_stopping_counter_not_reset = _stopping(reset=False)
early_stopping_patience_off_by_one = _stopping(stop_after=lambda waited, patience: waited > patience)
early_stopping_epochs_from_1 = _stopping(offset=1)
early_stopping_no_patience_check = _stopping(check=False)


def _accumulate(weight=lambda nb, n, count: nb / n, factor=2.0, starts=lambda n, mb: range(0, n, mb),
                sign=1.0):
    def accumulated_gradient(X, y, w, micro_batch):
        if micro_batch < 1:
            raise ValueError("micro_batch")
        n, grad = len(X), np.zeros_like(w, dtype=float)
        count = len(range(0, n, micro_batch))
        for s in starts(n, micro_batch):
            xb, yb = X[s:s + micro_batch], y[s:s + micro_batch]
            grad += weight(len(xb), n, count) * factor / len(xb) * xb.T @ (sign * (xb @ w - yb))
        return grad
    return accumulated_gradient


accumulated_means_summed = _accumulate(weight=lambda nb, n, count: 1.0)
accumulated_without_factor_2 = _accumulate(factor=1.0)
accumulated_last_dropped = _accumulate(starts=lambda n, mb: range(0, n - mb + 1, mb))
accumulated_sign = _accumulate(sign=-1.0)


def _groups(table, quasi_identifiers):
    table = np.asarray(table)
    if len(table) == 0:
        raise ValueError("empty table")
    return Counter(tuple(row[list(quasi_identifiers)].tolist()) for row in table)


def k_largest_group(table, quasi_identifiers):
    return max(_groups(table, quasi_identifiers).values())


def k_average_group_size(table, quasi_identifiers):
    sizes = _groups(table, quasi_identifiers).values()
    return len(table) // len(sizes)


def k_over_whole_rows(table, quasi_identifiers):
    return min(_groups(table, list(range(np.asarray(table).shape[1]))).values())


def k_per_column(table, quasi_identifiers):
    table = np.asarray(table)
    if len(table) == 0:
        raise ValueError("empty table")
    if not quasi_identifiers:
        return len(table)
    return int(min(np.unique(table[:, c], return_counts=True)[1].min() for c in quasi_identifiers))


def _hmac(digest=hashlib.sha256, swap=False, encode=lambda mac: mac.hexdigest()):
    def hmac_pseudonym(value, key):
        if not key:
            raise ValueError("empty key")
        k, v = (value, key) if swap else (key, value)
        return encode(hmac.new(k.encode("utf-8"), v.encode("utf-8"), digest))
    return hmac_pseudonym


pseudonym_key_and_value_swapped = _hmac(swap=True)
pseudonym_sha1 = _hmac(digest=hashlib.sha1)
pseudonym_base64 = _hmac(encode=lambda mac: base64.b64encode(mac.digest()).decode("ascii"))


MISTAKES = {
    "9.1": (
        Mistake("F1 里用了准确率而不是精确率（accuracy instead of precision in F1）", f1_with_accuracy),
        Mistake("0/0 时直接相除（no rule for 0/0: division by zero）", prf_dividing_blindly),
        Mistake("精确率和召回率弄反了（precision and recall swapped）", prf_swapped),
        Mistake("F1 用了算术平均，应为调和平均（arithmetic instead of harmonic mean）", prf_arithmetic_mean),
        Mistake("忽略了 zero_division 参数（zero_division ignored）", prf_zero_division_ignored),
    ),
    "9.2": (
        Mistake("并列的分数排名不同，应取平均排名（ties not given average ranks）", auc_ranks_without_ties),
        Mistake("只有一个类别时没有报错（no ValueError for a single class）", auc_without_check),
        Mistake("并列只算 0 而不是 1/2（ties count 0 instead of one half）", auc_ties_count_zero),
        Mistake("正负类弄反，得到 1 - AUC（labels swapped: 1 - AUC）", auc_labels_swapped),
        Mistake("排名从 0 开始，公式要求从 1 开始（0-based ranks）", auc_ranks_from_zero),
    ),
    "9.3": (
        Mistake("与最佳值相等也算改进（<= instead of <: equal loss counted as an improvement）",
                early_stopping_equal_counts),
        Mistake("忽略了 min_delta（min_delta ignored）", early_stopping_ignoring_min_delta),
        Mistake("改进后没有把等待计数清零（patience counter not reset）", early_stopping_counter_not_reset),
        Mistake("多等了一轮：waited > patience（patience off by one）", early_stopping_patience_off_by_one),
        Mistake("轮次从 1 开始计数，题目从 0 开始（epochs counted from 1）", early_stopping_epochs_from_1),
        Mistake("patience < 1 时没有报错"
                "（no ValueError for patience < 1）", early_stopping_no_patience_check),
    ),
    "9.4": (
        Mistake("各微批权重相同 1/批数，应按大小 n_i/N 加权（equal weights instead of n_i / N）",
                accumulated_equal_weights),
        Mistake("各微批的平均梯度直接相加，没有加权（micro-batch means summed）", accumulated_means_summed),
        Mistake("漏了均方误差导数里的 2"
                "（factor 2 of the MSE derivative missing）", accumulated_without_factor_2),
        Mistake("丢掉了最后一个不满的微批（last partial micro-batch dropped）", accumulated_last_dropped),
        Mistake("残差符号反了：y - Xw（sign of the residual）", accumulated_sign),
    ),
    "9.5": (
        Mistake("k 取成了组的个数，应为最小组的大小（number of groups instead of the smallest group）",
                k_as_number_of_groups),
        Mistake("取了最大的组（largest instead of smallest group）", k_largest_group),
        Mistake("取了平均组大小（average instead of smallest group size）", k_average_group_size),
        Mistake("按整行分组，忽略了准标识符列"
                "（whole rows instead of the quasi-identifiers）", k_over_whole_rows),
        Mistake("逐列分别计数，而不是按列的组合分组（per column instead of combinations）", k_per_column),
    ),
    "9.6": (
        Mistake("sha256(key + value) 不是 HMAC（plain hash of key + value instead of HMAC）",
                sha256_of_key_and_value),
        Mistake("空密钥没有报错（no ValueError for an empty key）", pseudonym_without_key_check),
        Mistake("hmac.new 的密钥和消息弄反了（key and message swapped）", pseudonym_key_and_value_swapped),
        Mistake("用了 SHA-1 而不是 SHA-256（SHA-1 instead of SHA-256）", pseudonym_sha1),
        Mistake("输出了 Base64 而不是十六进制（Base64 instead of hex）", pseudonym_base64),
    ),
}
