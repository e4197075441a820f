"""Chapter 8: plausible wrong answers, each a learner's typical mistake (see ``__init__``)."""

# Over 300 lines on purpose: a catalogue is data, one short wrong answer per entry.

from __future__ import annotations

import numpy as np

from aibook.grader.banks.ch08 import (
    reweighing_weights_reference,
    training_days_reference,
    transformer_params_reference,
)
from aibook.grader.mistakes import Mistake

# --- 8.1 parameter count -----------------------------------------------------------------------


def params_untied_head(n_layers, d_model, vocab_size, context, d_ff=None):
    return transformer_params_reference(n_layers, d_model, vocab_size, context, d_ff) + vocab_size * d_model


def params_without_biases(n_layers, d_model, vocab_size, context, d_ff=None):
    f = 4 * d_model if d_ff is None else d_ff
    transformer_params_reference(n_layers, d_model, vocab_size, context, d_ff)  # for the ValueError
    block = 4 * d_model**2 + 2 * d_model * f + 4 * d_model
    return (vocab_size + context) * d_model + n_layers * block + 2 * d_model


def params_without_final_norm(n_layers, d_model, vocab_size, context, d_ff=None):
    return transformer_params_reference(n_layers, d_model, vocab_size, context, d_ff) - 2 * d_model


def params_ignoring_d_ff(n_layers, d_model, vocab_size, context, d_ff=None):
    if d_ff is not None and d_ff < 1:
        raise ValueError("d_ff")
    return transformer_params_reference(n_layers, d_model, vocab_size, context)


def params_unchecked(n_layers, d_model, vocab_size, context, d_ff=None):
    f = 4 * d_model if d_ff is None else d_ff
    d = d_model
    return (vocab_size + context) * d + n_layers * (4 * d * d + 2 * d * f + f + 9 * d) + 2 * d


# --- 8.2 training time ---------------------------------------------------------------------------


def days_from_2nd(n_params, n_tokens, n_gpus, peak_tflops, utilisation):
    return training_days_reference(n_params, n_tokens, n_gpus, peak_tflops, utilisation) / 3


def hours_not_days(n_params, n_tokens, n_gpus, peak_tflops, utilisation):
    return training_days_reference(n_params, n_tokens, n_gpus, peak_tflops, utilisation) * 24


def utilisation_in_percent_accepted(n_params, n_tokens, n_gpus, peak_tflops, utilisation):
    if n_gpus < 1:
        raise ValueError("gpus")
    return 6 * n_params * n_tokens / (n_gpus * peak_tflops * 1e12 * utilisation) / 86_400


# --- 8.3 clipping --------------------------------------------------------------------------------


def clip_elementwise(grads, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm")
    return np.clip(grads, -max_norm, max_norm)


def clip_by_batch_norm(grads, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm")
    return grads * min(1.0, max_norm / np.linalg.norm(grads))


def clip_scales_up(grads, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm")
    norms = np.linalg.norm(grads, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return grads * (max_norm / norms)[:, None]


def clip_divides_by_zero(grads, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm")
    with np.errstate(divide="ignore", invalid="ignore"):
        norms = np.linalg.norm(grads, axis=1)[:, None]
        return grads / norms * np.minimum(norms, max_norm)  # unit direction times clipped norm: 0/0


def clip_in_place(grads, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm")
    grads *= np.minimum(1.0, max_norm / np.maximum(np.linalg.norm(grads, axis=1), 1e-12))[:, None]
    return grads


# --- 8.4 scaling law -----------------------------------------------------------------------------


def params_ignoring_floor(a, alpha, c, target):
    if target <= c:
        raise ValueError("floor")
    return (a / target) ** (1 / alpha)


def params_without_floor_check(a, alpha, c, target):
    return (a / (target - c)) ** (1 / alpha)


# --- 8.5 reweighing ------------------------------------------------------------------------------


def weights_inverted(group, y):
    return 1 / reweighing_weights_reference(group, y)


def weights_from_group_rate(group, y):
    weights = np.empty(len(y))
    for g in np.unique(group):
        for label in np.unique(y):
            cell = (group == g) & (y == label)
            if cell.any():
                weights[cell] = np.mean(y == label) / np.mean(y[group == g] == label) / 2
    return weights


def weights_in_place(group, y):
    weights = reweighing_weights_reference(group, y)
    y[...] = 0
    return weights


def params_without_position_embedding(n_layers, d_model, vocab_size, context, d_ff=None):
    return transformer_params_reference(n_layers, d_model, vocab_size, context, d_ff) - context * d_model


def days_tflops_not_scaled(n_params, n_tokens, n_gpus, peak_tflops, utilisation):
    return training_days_reference(n_params, n_tokens, n_gpus, peak_tflops, utilisation) * 1e12


def days_utilisation_ignored(n_params, n_tokens, n_gpus, peak_tflops, utilisation):
    return training_days_reference(n_params, n_tokens, n_gpus, peak_tflops, utilisation) * utilisation


def days_without_gpu_check(n_params, n_tokens, n_gpus, peak_tflops, utilisation):
    if not 0 < utilisation <= 1:
        raise ValueError("utilisation")
    return 6 * n_params * n_tokens / (n_gpus * peak_tflops * 1e12 * utilisation) / 86_400


def clip_by_squared_norm(grads, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm")
    sq = (grads**2).sum(axis=1)
    return grads * np.minimum(1.0, max_norm / np.maximum(sq, 1e-12))[:, None]


def _law(solve):
    def params_for_loss(a, alpha, c, target):
        if target <= c:
            raise ValueError("target at or below the floor")
        return solve(a, alpha, c, target)
    return params_for_loss


params_exponent_alpha = _law(lambda a, alpha, c, target: (a / (target - c)) ** alpha)
params_negative_exponent = _law(lambda a, alpha, c, target: (a / (target - c)) ** (-1 / alpha))


def params_floor_subtracted_the_wrong_way(a, alpha, c, target):
    if target <= c:
        raise ValueError("target at or below the floor")
    return float(np.power(a / (c - target), 1 / alpha))


def _cells(group, y, weight):
    group, y = np.asarray(group), np.asarray(y)
    weights = np.empty(len(y))
    for g in np.unique(group):
        for label in np.unique(y):
            cell = (group == g) & (y == label)
            if cell.any():
                weights[cell] = weight(group == g, y == label, cell)
    return weights


def weights_from_counts(group, y):
    return _cells(group, y, lambda g, lab, cell: np.mean(g) * np.mean(lab) / cell.sum())


def weights_normalised_to_sum_1(group, y):
    w = reweighing_weights_reference(group, y)
    return w / w.sum()


def weights_label_rate_within_group(group, y):
    return _cells(group, y, lambda g, lab, cell: np.mean(g) * np.mean(lab[g]) / np.mean(cell))


MISTAKES = {
    "8.1": (
        Mistake("输出层没有与词嵌入共享，多算了 V·d（untied output head counted twice）", params_untied_head),
        Mistake("漏算了偏置（biases not counted）", params_without_biases),
        Mistake("漏了最后的 LayerNorm（final LayerNorm not counted）", params_without_final_norm),
        Mistake("忽略了 d_ff 参数，总按 4d 计算（d_ff ignored）", params_ignoring_d_ff),
        Mistake("非正的尺寸没有报错（no ValueError for non-positive sizes）", params_unchecked),
        Mistake("漏了位置嵌入 T·d（position embedding not counted）", params_without_position_embedding),
    ),
    "8.2": (
        Mistake("算力写成 C = 2ND，那是前向的量（2ND instead of 6ND）", days_from_2nd),
        Mistake("结果是小时而不是天（hours instead of days）", hours_not_days),
        Mistake("利用率超出 (0, 1] 没有报错（utilisation not checked: 40 % is 0.4）",
                utilisation_in_percent_accepted),
        Mistake("TFLOP/s 没有乘 1e12（TFLOP/s not converted to FLOP/s）", days_tflops_not_scaled),
        Mistake("忽略了利用率，按峰值算力计算（utilisation ignored）", days_utilisation_ignored),
        Mistake("GPU 数少于 1 时没有报 ValueError（no ValueError for fewer than one GPU）",
                days_without_gpu_check),
    ),
    "8.3": (
        Mistake("逐元素截断，而不是按范数缩放（elementwise clipping instead of norm clipping）",
                clip_elementwise),
        Mistake("用整个批的范数，而不是每个样本各自的范数（batch norm instead of per-sample norms）",
                clip_by_batch_norm),
        Mistake("小梯度也被放大到 max_norm（factor not capped at 1）", clip_scales_up),
        Mistake("零梯度时 0/0 得到 nan（division by a zero norm）", clip_divides_by_zero),
        Mistake("原地修改了输入（in-place: grads *= ...）", clip_in_place),
        Mistake("除以了范数的平方（squared norm instead of the norm）", clip_by_squared_norm),
    ),
    "8.4": (
        Mistake("没有先减去下限 c（floor c not subtracted）", params_ignoring_floor),
        Mistake("目标不高于下限时没有报错（no ValueError when target <= c）", params_without_floor_check),
        Mistake("指数用了 alpha 而不是 1/alpha（exponent alpha instead of 1/alpha）", params_exponent_alpha),
        Mistake("指数的符号反了：-1/alpha（sign of the exponent）", params_negative_exponent),
        Mistake("写成 c - target，底数为负（c - target instead of target - c）",
                params_floor_subtracted_the_wrong_way),
    ),
    "8.5": (
        Mistake("权重取了倒数：P(g, y) / (P(g) P(y))（weights inverted）", weights_inverted),
        Mistake("用组内的标签比例估计，而不是联合概率（group rate instead of the joint probability）",
                weights_from_group_rate),
        Mistake("原地修改了输入（in-place change of y）", weights_in_place),
        Mistake("分母用了计数而不是概率（count instead of P(g, y)）", weights_from_counts),
        Mistake("把权重归一化为和为 1（weights normalised to sum 1）", weights_normalised_to_sum_1),
        Mistake("P(y) 用了组内比例，权重全是 1（P(y | g) instead of P(y)）", weights_label_rate_within_group),
    ),
}
