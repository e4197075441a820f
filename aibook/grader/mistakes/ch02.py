"""Chapter 2: plausible wrong answers, each a learner's typical mistake (see ``__init__``)."""

# Over 300 lines on purpose: a catalogue is data, one short wrong answer per entry.

from __future__ import annotations

import numpy as np

from aibook.grader.mistakes import Mistake


def _softmax_rows(s):
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def attention_unscaled(q, k, v, mask=None):
    s = q @ np.swapaxes(k, -1, -2)
    return _softmax_rows(s if mask is None else np.where(mask, s, -np.inf)) @ v


def attention_mask_ignored(q, k, v, mask=None):
    return _softmax_rows(q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])) @ v


def attention_naive_exp(q, k, v, mask=None):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(s if mask is None else np.where(mask, s, -np.inf))
        return e / e.sum(axis=-1, keepdims=True) @ v


def attention_transpose_k(q, k, v, mask=None):
    s = q @ k.T / np.sqrt(q.shape[-1])  # .T reverses every axis of a batch
    return _softmax_rows(s if mask is None else np.where(mask, s, -np.inf)) @ v


def causal_mask_upper(n):
    if n < 1:
        raise ValueError("n")
    return np.triu(np.ones((n, n), dtype=bool))


def causal_mask_no_check(n):
    return np.tril(np.ones((n, n), dtype=bool))


def pe_exponent_i(n_positions, d_model):
    if d_model % 2:
        raise ValueError("odd")
    p = np.arange(n_positions)[:, None]
    angle = p / 10000.0 ** (np.arange(d_model // 2) / d_model)  # i / d instead of 2i / d
    pe = np.zeros((n_positions, d_model))
    pe[:, 0::2], pe[:, 1::2] = np.sin(angle), np.cos(angle)
    return pe


def layer_norm_whole_array(x, gamma, beta, eps=1e-5):
    return gamma * (x - x.mean()) / np.sqrt(x.var() + eps) + beta


def layer_norm_unbiased(x, gamma, beta, eps=1e-5):
    mu, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, ddof=1, keepdims=True)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def layer_norm_eps_outside(x, gamma, beta, eps=1e-5):
    mu, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
    return gamma * (x - mu) / (np.sqrt(var) + eps) + beta


def pca_not_centred(x, k):
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return x @ vt[:k].T @ vt[:k]


def prune_signed(w, amount):
    if not 0 <= amount <= 1:
        raise ValueError("amount")
    out = np.array(w, dtype=float)
    flat = out.reshape(-1)
    flat[np.argsort(flat)[: round(amount * flat.size)]] = 0.0  # smallest w, not smallest |w|
    return out


def prune_in_place(w, amount):
    if not 0 <= amount <= 1:
        raise ValueError("amount")
    flat = w.reshape(-1)
    flat[np.argsort(np.abs(flat))[: round(amount * flat.size)]] = 0.0
    return w


def prune_int_count(w, amount):
    if not 0 <= amount <= 1:
        raise ValueError("amount")
    out = np.array(w, dtype=float)
    flat = out.reshape(-1)
    flat[np.argsort(np.abs(flat))[: int(amount * flat.size)]] = 0.0
    return out


def quantize_truncating(w):
    peak = float(np.abs(w).max())
    scale = peak / 127.0 if peak > 0 else 1.0
    return (w / scale).astype(np.int8), scale


def quantize_zero_division(w):
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = float(np.abs(w).max()) / 127.0
        return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def distill_without_t_squared(s, t, y, temperature, alpha):
    lt, ls = _log_softmax(t / temperature), _log_softmax(s / temperature)
    kl = (np.exp(lt) * (lt - ls)).sum(axis=1).mean()
    return float(alpha * kl + (1 - alpha) * -_log_softmax(s)[np.arange(len(y)), y].mean())


def distill_kl_mean_over_all(s, t, y, temperature, alpha):
    lt, ls = _log_softmax(t / temperature), _log_softmax(s / temperature)
    kl = (np.exp(lt) * (lt - ls)).mean()  # divides by N * C, like KLDivLoss(reduction="mean")
    ce = -_log_softmax(s)[np.arange(len(y)), y].mean()
    return float(alpha * temperature**2 * kl + (1 - alpha) * ce)


def distill_naive_log(s, t, y, temperature, alpha):
    def softmax(z):
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(z)
            return e / e.sum(axis=1, keepdims=True)

    with np.errstate(divide="ignore", invalid="ignore"):
        pt, ps = softmax(t / temperature), softmax(s / temperature)
        kl = (pt * (np.log(pt) - np.log(ps))).sum(axis=1).mean()
        ce = -np.log(softmax(s)[np.arange(len(y)), y]).mean()
    return float(alpha * temperature**2 * kl + (1 - alpha) * ce)


def _attention(scale=lambda d: np.sqrt(d), masked=lambda mask, s: np.where(mask, s, -np.inf), axis=-1):
    def attention(q, k, v, mask=None):
        s = q @ np.swapaxes(k, -1, -2) / scale(q.shape[-1])
        if mask is not None:
            s = masked(mask, s)
        e = np.exp(s - s.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True) @ v
    return attention


attention_mask_inverted = _attention(masked=lambda mask, s: np.where(mask, -np.inf, s))
attention_divided_by_d = _attention(scale=lambda d: d)
attention_softmax_over_queries = _attention(axis=-2)


def causal_mask_without_diagonal(n):
    if n < 1:
        raise ValueError("n")
    return np.tril(np.ones((n, n), dtype=bool), k=-1)


def causal_mask_diagonal_only(n):
    if n < 1:
        raise ValueError("n")
    return np.eye(n, dtype=bool)


def causal_mask_additive(n):
    if n < 1:
        raise ValueError("n")
    return np.where(np.tril(np.ones((n, n), dtype=bool)), 0.0, -np.inf)


def _pe(angle_of, layout="interleaved", first=np.sin, second=np.cos):
    def positional_encoding(n_positions, d_model):
        if d_model % 2:
            raise ValueError("d_model must be even")
        angle = angle_of(np.arange(n_positions)[:, None], np.arange(d_model // 2)[None, :], d_model)
        pe = np.zeros((n_positions, d_model))
        if layout == "interleaved":
            pe[:, 0::2], pe[:, 1::2] = first(angle), second(angle)
        else:
            pe[:, : d_model // 2], pe[:, d_model // 2 :] = first(angle), second(angle)
        return pe
    return positional_encoding


def _angle(p, i, d):
    return p / 10000.0 ** (2 * i / d)


pe_sin_cos_swapped = _pe(_angle, first=np.cos, second=np.sin)
pe_halves_not_interleaved = _pe(_angle, layout="halves")
pe_positions_from_1 = _pe(lambda p, i, d: _angle(p + 1, i, d))


def pe_column_exponent(n_positions, d_model):
    if d_model % 2:
        raise ValueError("d_model must be even")
    j = np.arange(d_model)
    angle = np.arange(n_positions)[:, None] / 10000.0 ** (j / d_model)  # each column its own frequency
    return np.where(j % 2 == 0, np.sin(angle), np.cos(angle))


def _layer_norm(axis=-1, affine=lambda y, g, b: g * y + b):
    def layer_norm(x, gamma, beta, eps=1e-5):
        mu, var = x.mean(axis=axis, keepdims=True), x.var(axis=axis, keepdims=True)
        return affine((x - mu) / np.sqrt(var + eps), gamma, beta)
    return layer_norm


layer_norm_without_affine = _layer_norm(affine=lambda y, g, b: y)
layer_norm_gamma_beta_swapped = _layer_norm(affine=lambda y, g, b: b * y + g)
layer_norm_over_batch_axis = _layer_norm(axis=0)


def _pca(components=lambda vt, k: vt[:k], add_mean=True, back=True):
    def pca_reconstruct(x, k):
        mean = x.mean(axis=0)
        _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
        c = components(vt, k)
        scores = (x - mean) @ c.T
        if not back:
            return scores
        return scores @ c + (mean if add_mean else 0.0)
    return pca_reconstruct


pca_mean_not_added_back = _pca(add_mean=False)
pca_columns_of_vt = _pca(components=lambda vt, k: vt[:, :k].T)
pca_smallest_components = _pca(components=lambda vt, k: vt[vt.shape[0] - k :])
pca_scores_not_reconstruction = _pca(back=False)


def prune_largest(w, amount):
    if not 0 <= amount <= 1:
        raise ValueError("amount")
    out = np.array(w, dtype=float)
    flat = out.reshape(-1)
    flat[np.argsort(-np.abs(flat))[: round(amount * flat.size)]] = 0.0
    return out


def prune_no_check(w, amount):
    out = np.array(w, dtype=float)
    flat = out.reshape(-1)
    flat[np.argsort(np.abs(flat))[: round(amount * flat.size)]] = 0.0
    return out


def _quantize(peak_of=lambda w: np.abs(w).max(), levels=127.0):
    def quantize_int8(w):
        peak = float(peak_of(w))
        scale = peak / levels if peak > 0 else 1.0
        return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale
    return quantize_int8


quantize_over_128 = _quantize(levels=128.0)
quantize_max_not_abs = _quantize(peak_of=np.max)
quantize_range_over_255 = _quantize(peak_of=lambda w: (w.max() - w.min()) / 2, levels=127.5)


def _distill(kl=lambda lt, ls: (np.exp(lt) * (lt - ls)).sum(axis=1).mean(), soft_ce=False, swap=False):
    def distillation_loss(student_logits, teacher_logits, targets, temperature, alpha):
        s, t, y, T = student_logits, teacher_logits, targets, temperature
        soft = T**2 * kl(_log_softmax(t / T), _log_softmax(s / T))
        ce = -_log_softmax(s / T if soft_ce else s)[np.arange(len(y)), y].mean()
        a = 1 - alpha if swap else alpha
        return float(a * soft + (1 - a) * ce)
    return distillation_loss


distill_kl_reversed = _distill(kl=lambda lt, ls: (np.exp(ls) * (ls - lt)).sum(axis=1).mean())
distill_ce_at_temperature = _distill(soft_ce=True)
distill_alpha_swapped = _distill(swap=True)


MISTAKES = {
    "2.1": (
        Mistake("分数没有除以 sqrt(d)（scores not scaled by 1/sqrt(d)）", attention_unscaled),
        Mistake("忽略了掩码（mask ignored）", attention_mask_ignored),
        Mistake("没有先减最大值，exp 上溢（softmax without the max shift）", attention_naive_exp),
        Mistake("用 k.T 转置，批数据的所有轴都被反转"
                "（k.T instead of k.swapaxes(-1, -2)）", attention_transpose_k),
        Mistake("掩码用反了：True 被屏蔽（mask inverted: True means attend）", attention_mask_inverted),
        Mistake("分数除以 d 而不是 sqrt(d)（divided by d instead of sqrt(d)）", attention_divided_by_d),
        Mistake("softmax 沿查询轴而不是键轴"
                "（softmax over the queries, axis -2）", attention_softmax_over_queries),
    ),
    "2.2": (
        Mistake("用了上三角，看到的是未来（upper triangle: looks ahead）", causal_mask_upper),
        Mistake("n < 1 时没有报错（no ValueError for n < 1）", causal_mask_no_check),
        Mistake("去掉了对角线，位置看不到自己"
                "（diagonal excluded: tril(k=-1)）", causal_mask_without_diagonal),
        Mistake("只有对角线（identity instead of lower triangle）", causal_mask_diagonal_only),
        Mistake("返回了加性掩码 0/-inf，题目要求布尔掩码（additive mask instead of boolean）",
                causal_mask_additive),
    ),
    "2.3": (
        Mistake("指数写成 i/d 而不是 2i/d（exponent i/d instead of 2i/d）", pe_exponent_i),
        Mistake("sin 和 cos 的位置互换（sin and cos swapped）", pe_sin_cos_swapped),
        Mistake("前一半全是 sin、后一半全是 cos，没有交错（halves instead of interleaved columns）",
                pe_halves_not_interleaved),
        Mistake("每一列用了自己的频率，成对的 sin/cos 不共享频率"
                "（per-column frequency j/d）", pe_column_exponent),
        Mistake("位置从 1 开始编号（positions counted from 1）", pe_positions_from_1),
    ),
    "2.4": (
        Mistake("对整个数组求均值和方差，而不是沿最后一轴（statistics over the whole array）",
                layer_norm_whole_array),
        Mistake("用了无偏方差 ddof=1（unbiased variance; PyTorch uses the biased one）", layer_norm_unbiased),
        Mistake("ε 放在了平方根外：sqrt(var) + eps"
                "（epsilon outside the square root）", layer_norm_eps_outside),
        Mistake("没有乘 gamma、加 beta（affine parameters ignored）", layer_norm_without_affine),
        Mistake("gamma 和 beta 用反了（gamma and beta swapped）", layer_norm_gamma_beta_swapped),
        Mistake("沿第 0 轴（批）归一化，成了批归一化（normalised over axis 0: batch norm）",
                layer_norm_over_batch_axis),
    ),
    "2.5": (
        Mistake("没有先中心化（data not centred before the SVD）", pca_not_centred),
        Mistake("重构后没有把均值加回去（mean not added back）", pca_mean_not_added_back),
        Mistake("主成分取了 Vt 的列而不是行（columns of Vt instead of rows）", pca_columns_of_vt),
        Mistake("取了最小的 k 个主成分（the k smallest components）", pca_smallest_components),
        Mistake("只返回了投影坐标，没有投影回原空间（scores instead of the reconstruction）",
                pca_scores_not_reconstruction),
    ),
    "2.6": (
        Mistake("按 w 而不是 |w| 排序（sorted by w instead of |w|）", prune_signed),
        Mistake("原地修改了输入（in-place: w.reshape(-1) is a view）", prune_in_place),
        Mistake("剪枝数量用 int() 截断，应为 round()（int instead of round）", prune_int_count),
        Mistake("剪掉了最大的权重（largest instead of smallest magnitudes）", prune_largest),
        Mistake("amount 不在 [0, 1] 时没有报错（no ValueError for amount outside [0, 1]）", prune_no_check),
    ),
    "2.7": (
        Mistake("用 astype 截断而不是四舍五入（truncation instead of rounding）", quantize_truncating),
        Mistake("全零权重时除以零（division by zero for all-zero weights）", quantize_zero_division),
        Mistake("scale 用了 max|w| / 128（128 instead of 127）", quantize_over_128),
        Mistake("用 max(w) 而不是 max(|w|)"
                "（max instead of max of the absolute value）", quantize_max_not_abs),
        Mistake("按非对称范围 (max - min) / 255 定标（asymmetric range instead of symmetric）",
                quantize_range_over_255),
    ),
    "2.8": (
        Mistake("软损失没有乘 T²（soft term not multiplied by T^2）", distill_without_t_squared),
        Mistake("KL 对 N×C 个元素求平均，而不是对批求平均（KL averaged over all entries）",
                distill_kl_mean_over_all),
        Mistake("先 softmax 再取 log，大 logit 时得到 log(0)（log of softmax）", distill_naive_log),
        Mistake("KL 方向反了：KL(student || teacher)（KL direction reversed）", distill_kl_reversed),
        Mistake("硬标签交叉熵也用了温度 T（cross-entropy at temperature T）", distill_ce_at_temperature),
        Mistake("alpha 加权反了（alpha and 1 - alpha swapped）", distill_alpha_swapped),
    ),
}
