"""Chapter 3: plausible wrong answers, each a learner's typical mistake (see ``__init__``)."""

# Over 300 lines on purpose: a catalogue is data, one short wrong answer per entry.

from __future__ import annotations

import math

import numpy as np

from aibook.autograd import Value
from aibook.grader.banks.ch03 import (
    adamw_step_reference,
    bce_reference,
    cross_entropy_reference,
)
from aibook.grader.mistakes import Mistake

# --- 3.1 softmax ---------------------------------------------------------------------------------


def softmax_naive(z):
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_global_max(z):
    e = np.exp(z - z.max())
    return e / e.sum(axis=-1, keepdims=True)


def softmax_whole_array(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum()


def softmax_max_over_first_axis(z):
    e = np.exp(z - z.max(axis=0))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_sum_without_keepdims(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1)


def softmax_in_place(z):
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# --- 3.2 cross-entropy ---------------------------------------------------------------------------


def _log_softmax(z):
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def ce_log_of_softmax(logits, targets):
    p = np.exp(_log_softmax(logits))
    return float(-np.log(p[np.arange(len(targets)), targets]).mean())


def ce_sum(logits, targets):
    return float(-_log_softmax(logits)[np.arange(len(targets)), targets].sum())


def ce_without_max(logits, targets):
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(targets)), targets].mean())


def ce_fancy_index_matrix(logits, targets):
    return float(-_log_softmax(logits)[:, targets].mean())


def ce_sign(logits, targets):
    return float(_log_softmax(logits)[np.arange(len(targets)), targets].mean())


def ce_in_place(logits, targets):
    logits -= logits.max(axis=1, keepdims=True)
    return cross_entropy_reference(logits, targets)


# --- 3.3 binary cross-entropy --------------------------------------------------------------------


def bce_naive(z, y):
    p = 1 / (1 + np.exp(-z))
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def bce_clipped_probabilities(z, y):
    p = np.clip(1 / (1 + np.exp(-z)), 1e-7, 1 - 1e-7)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def bce_sum(z, y):
    return float(np.sum(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def bce_sign_of_zy(z, y):
    return float(np.mean(np.maximum(z, 0) + z * y + np.log1p(np.exp(-np.abs(z)))))


def bce_mean_per_row(z, y):
    return np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))), axis=-1)


def bce_in_place(z, y):
    loss = bce_reference(z, y)
    np.abs(z, out=z)
    return loss


# --- 3.4 sigmoid in the scalar engine ------------------------------------------------------------


def _swish(sigmoid):
    def sigmoid_grads(x, w):
        xv, wv = Value(x), Value(w)
        u = wv * xv
        loss = sigmoid(u) * u
        loss.backward()
        return loss.data, xv.grad, wv.grad
    return sigmoid_grads


def _stable(v: float) -> float:
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


def _sigmoid_op(value, local_grad):
    """A sigmoid Value whose backward adds local_grad(s, v, out_grad) to v.grad."""
    def op(v):
        s = value(v.data)
        out = Value(s, (v,), "sigmoid")

        def _backward():
            v.grad += local_grad(s, v.data, out.grad)

        out._backward = _backward
        return out
    return op


def _sigmoid_assigning(v):
    s = _stable(v.data)
    out = Value(s, (v,), "sigmoid")

    def _backward():
        v.grad = s * (1 - s) * out.grad  # overwrites the other path's contribution

    out._backward = _backward
    return out


def _sigmoid_composed(v):
    return 1 / (1 + (-v).exp())


sigmoid_assigning_grad = _swish(_sigmoid_assigning)
sigmoid_composed_overflow = _swish(_sigmoid_composed)
sigmoid_without_out_grad = _swish(_sigmoid_op(_stable, lambda s, v, g: s * (1 - s)))
sigmoid_derivative_is_s = _swish(_sigmoid_op(_stable, lambda s, v, g: s * g))
sigmoid_naive_forward = _swish(_sigmoid_op(lambda v: 1 / (1 + math.exp(-v)),
                                           lambda s, v, g: s * (1 - s) * g))
sigmoid_derivative_from_exp = _swish(_sigmoid_op(
    _stable, lambda s, v, g: math.exp(-v) / (1 + math.exp(-v)) ** 2 * g))


# --- 3.5 momentum --------------------------------------------------------------------------------


def momentum_in_place(theta, grad, velocity, lr, momentum):
    velocity *= momentum
    velocity += grad
    return theta - lr * velocity, velocity


def momentum_lr_inside(theta, grad, velocity, lr, momentum):
    velocity = momentum * velocity + lr * grad
    return theta - velocity, velocity


def momentum_ema(theta, grad, velocity, lr, momentum):
    velocity = momentum * velocity + (1 - momentum) * grad
    return theta - lr * velocity, velocity


def momentum_old_velocity(theta, grad, velocity, lr, momentum):
    return theta - lr * velocity, momentum * velocity + grad


def momentum_nesterov(theta, grad, velocity, lr, momentum):
    velocity = momentum * velocity + grad
    return theta - lr * (grad + momentum * velocity), velocity


def momentum_ascent(theta, grad, velocity, lr, momentum):
    velocity = momentum * velocity + grad
    return theta + lr * velocity, velocity


# --- 3.6 AdamW -----------------------------------------------------------------------------------


def _adamw(correct_t=lambda t: t, eps_inside=False, l2=False, decay="before", corrected=True):
    def adamw_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
        if t < 1:
            raise ValueError(f"t counts steps from 1, got {t}")
        if l2:
            grad = grad + weight_decay * theta
        elif decay == "before":
            theta = theta * (1 - lr * weight_decay)
        elif decay == "without lr":
            theta = theta * (1 - weight_decay)
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        tc = correct_t(t)
        m_hat, v_hat = (m / (1 - beta1**tc), v / (1 - beta2**tc)) if corrected else (m, v)
        step = m_hat / (np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps)
        theta = theta - lr * step
        if decay == "after" and not l2:
            theta = theta * (1 - lr * weight_decay)
        return theta, m, v
    return adamw_step


adamw_eps_inside_sqrt = _adamw(eps_inside=True)
adamw_l2_penalty = _adamw(l2=True)
adamw_no_bias_correction = _adamw(corrected=False)
adamw_correction_t_plus_1 = _adamw(correct_t=lambda t: t + 1)
adamw_decay_without_lr = _adamw(decay="without lr")
adamw_decay_after_update = _adamw(decay="after")


def adamw_in_place(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    out = adamw_step_reference(theta, grad, m, v, t, lr, beta1, beta2, eps, weight_decay)
    m *= beta1
    m += (1 - beta1) * grad
    return out


def adamw_no_t_check(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    return adamw_step_reference(theta, grad, m, v, max(t, 1), lr, beta1, beta2, eps, weight_decay)


# --- 3.7 mini-batches ----------------------------------------------------------------------------


def _batches(order_of, starts_of):
    def minibatch_indices(n, batch_size, shuffle, seed):
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        order = order_of(n, shuffle, seed)
        return tuple(order[s : s + batch_size] for s in starts_of(n, batch_size))
    return minibatch_indices


def _seeded(n, shuffle, seed):
    return np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)


minibatches_drop_last = _batches(_seeded, lambda n, b: range(0, n - b + 1, b))
minibatches_off_by_one = _batches(_seeded, lambda n, b: range(0, n - 1, b))
minibatches_always_shuffle = _batches(lambda n, s, seed: np.random.default_rng(seed).permutation(n),
                                      lambda n, b: range(0, n, b))


def _permutation_discarded(n, shuffle, seed):
    order = np.arange(n)
    if shuffle:
        np.random.default_rng(seed).permutation(order)  # returns a new array; the result is lost
    return order


minibatches_never_shuffled = _batches(_permutation_discarded, lambda n, b: range(0, n, b))


def minibatches_array_split(n, batch_size, shuffle, seed):
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    return tuple(np.array_split(_seeded(n, shuffle, seed), max(n // batch_size, 1))) if n else ()


# --- 3.8 framing ---------------------------------------------------------------------------------


def _frames(count_of, start_of=lambda m, hop: m * hop):
    def frame_signal(x, frame_length, hop_length):
        if len(x) < frame_length:
            raise ValueError("shorter than one frame")
        n = count_of(len(x), frame_length, hop_length)
        padded = np.pad(x, (0, max(0, (n - 1) * hop_length + frame_length - len(x))))
        return np.stack([padded[start_of(m, hop_length) : start_of(m, hop_length) + frame_length]
                         for m in range(n)])
    return frame_signal


frames_with_partial_last = _frames(lambda n, f, h: 1 - (-(n - f) // h))
frames_missing_plus_one = _frames(lambda n, f, h: max((n - f) // h, 1))
frames_count_len_over_hop = _frames(lambda n, f, h: n // h)
frames_start_without_hop = _frames(lambda n, f, h: 1 + (n - f) // h, start_of=lambda m, hop: m)


def frames_transposed(x, frame_length, hop_length):
    return _frames(lambda n, f, h: 1 + (n - f) // h)(x, frame_length, hop_length).T


MISTAKES = {
    "3.1": (
        Mistake("没有先减去最大值，exp 上溢（overflow: exp without subtracting the max）", softmax_naive),
        Mistake("减去整个数组的全局最大值，而不是每行各自的最大值（global max instead of each row's max）",
                softmax_global_max),
        Mistake("对整个数组归一化，而不是沿最后一轴逐行归一化"
                "（normalised over the whole array, not the last axis）",
                softmax_whole_array),
        Mistake("最大值取在第 0 轴上，而不是最后一轴（max over axis 0 instead of axis -1）",
                softmax_max_over_first_axis),
        Mistake("求和时没有 keepdims=True，广播到了错误的轴（sum without keepdims）",
                softmax_sum_without_keepdims),
        Mistake("原地修改了输入（in-place: z -= z.max(...)）", softmax_in_place),
    ),
    "3.2": (
        Mistake("先算 softmax 再取 log，概率为 0 时得到 log(0)（log of softmax instead of log-softmax）",
                ce_log_of_softmax),
        Mistake("对批求和而不是求平均（sum instead of mean over the batch）", ce_sum),
        Mistake("log-sum-exp 没有先减最大值，exp 上溢（log-sum-exp without the max shift）", ce_without_max),
        Mistake("用 p[:, targets] 取出了 N×N 矩阵，而不是 p[arange(N), targets]（fancy indexing）",
                ce_fancy_index_matrix),
        Mistake("漏了负号（missing minus sign: mean of log p）", ce_sign),
        Mistake("原地修改了输入（in-place: logits -= logits.max(...)）", ce_in_place),
    ),
    "3.3": (
        Mistake("直接算 sigmoid 再取 log，大 logit 时得到 log(0)（naive sigmoid then log）", bce_naive),
        Mistake("把概率截断到 [1e-7, 1-1e-7]，大 logit 时损失被截断（clipped probabilities）",
                bce_clipped_probabilities),
        Mistake("对所有元素求和而不是求平均（sum instead of mean）", bce_sum),
        Mistake("z·y 项的符号写反（sign of the z*y term）", bce_sign_of_zy),
        Mistake("只对最后一轴求平均，矩阵输入时返回了数组（mean over the last axis only）", bce_mean_per_row),
        Mistake("原地修改了输入（in-place: np.abs(z, out=z)）", bce_in_place),
    ),
    "3.4": (
        Mistake("反向传播用 = 赋值而不是 += 累加，另一条路径的梯度被覆盖（= instead of += in _backward）",
                sigmoid_assigning_grad),
        Mistake("用 1/(1+exp(-v)) 组合已有运算，v 很负时 exp 上溢（composed sigmoid overflows）",
                sigmoid_composed_overflow),
        Mistake("局部导数没有乘以 out.grad（chain rule: missing * out.grad）", sigmoid_without_out_grad),
        Mistake("把 sigmoid 的导数写成 s 而不是 s(1-s)（derivative s instead of s*(1-s)）",
                sigmoid_derivative_is_s),
        Mistake("前向不分正负直接算 1/(1+exp(-v))，v 很负时上溢（unstable forward sigmoid）",
                sigmoid_naive_forward),
        Mistake("导数写成 exp(-v)/(1+exp(-v))²，v 很负时上溢（unstable derivative formula）",
                sigmoid_derivative_from_exp),
    ),
    "3.5": (
        Mistake("原地修改了 velocity（in-place: velocity *= momentum）", momentum_in_place),
        Mistake("把学习率乘进了速度：v = μv + lr·g（lr inside the velocity, not PyTorch's convention）",
                momentum_lr_inside),
        Mistake("速度写成指数滑动平均 v = μv + (1-μ)g（EMA instead of PyTorch's v = μv + g）", momentum_ema),
        Mistake("用更新前的速度更新参数（theta updated with the old velocity）", momentum_old_velocity),
        Mistake("写成了 Nesterov 动量（Nesterov instead of plain momentum）", momentum_nesterov),
        Mistake("沿梯度方向上升：theta + lr·v（sign: gradient ascent）", momentum_ascent),
    ),
    "3.6": (
        Mistake("ε 放进了平方根：sqrt(v_hat + eps)（epsilon inside the square root）", adamw_eps_inside_sqrt),
        Mistake("把权重衰减加到梯度上，成了 L2 正则而不是解耦衰减"
                "（L2 penalty instead of decoupled weight decay）",
                adamw_l2_penalty),
        Mistake("没有偏差修正（no bias correction: m_hat = m / (1 - beta1**t)）", adamw_no_bias_correction),
        Mistake("偏差修正的步数差一（off-by-one: 1 - beta**(t+1)）", adamw_correction_t_plus_1),
        Mistake("衰减没有乘学习率：theta·(1 - wd)（decay without lr）", adamw_decay_without_lr),
        Mistake("在 Adam 更新之后才衰减（decay applied after the update, PyTorch decays first）",
                adamw_decay_after_update),
        Mistake("原地修改了 m（in-place: m *= beta1）", adamw_in_place),
        Mistake("t < 1 时没有报错（no ValueError for t < 1）", adamw_no_t_check),
    ),
    "3.7": (
        Mistake("丢掉了最后一个不满的批（drop_last: the last partial batch is lost）", minibatches_drop_last),
        Mistake("批起点写成 range(0, n - 1, batch_size)，差一（off-by-one in the batch starts）",
                minibatches_off_by_one),
        Mistake("shuffle=False 时也打乱了顺序（shuffle flag ignored）", minibatches_always_shuffle),
        Mistake("丢掉了 permutation 的返回值，顺序没有打乱"
                "（permutation returns a new array: result discarded）",
                minibatches_never_shuffled),
        Mistake("用 np.array_split 均分，批大小不对（array_split changes the batch sizes）",
                minibatches_array_split),
    ),
    "3.8": (
        Mistake("保留了补零的不完整最后一帧（partial last frame kept）", frames_with_partial_last),
        Mistake("帧数少了 1：(len(x) - L) // hop，缺了 + 1（off-by-one in the frame count）",
                frames_missing_plus_one),
        Mistake("帧数写成 len(x) // hop（frame count len(x) // hop）", frames_count_len_over_hop),
        Mistake("第 m 帧从 m 开始，忘了乘 hop（frame start m instead of m * hop）", frames_start_without_hop),
        Mistake("返回了转置，每列一帧（transposed: frames as columns）", frames_transposed),
    ),
}
