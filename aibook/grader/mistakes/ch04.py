"""Chapter 4: plausible wrong answers, each a learner's typical mistake (see ``__init__``)."""

# Over 300 lines on purpose: a catalogue is data, one short wrong answer per entry.

from __future__ import annotations

import numpy as np

from aibook import numpy_nn as nn
from aibook.grader.mistakes import Mistake

# --- 4.1 forward pass ----------------------------------------------------------------------------


def _forward(relu=lambda z: np.maximum(z, 0), output_relu=True):
    def mlp_forward(x, W1, b1, W2, b2):
        z1 = x @ W1.T + b1
        a1 = relu(z1)
        z2 = a1 @ W2.T + b2
        return z1, a1, z2, relu(z2) if output_relu else z2
    return mlp_forward


forward_no_output_relu = _forward(output_relu=False)
forward_relu_as_mask = _forward(relu=lambda z: (z > 0).astype(float))
forward_np_max = _forward(relu=lambda z: np.max(z, 0))


def forward_without_transpose(x, W1, b1, W2, b2):
    z1 = x @ W1 + b1
    z2 = np.maximum(z1, 0) @ W2 + b2
    return z1, np.maximum(z1, 0), z2, np.maximum(z2, 0)


def forward_w_times_x(x, W1, b1, W2, b2):
    z1 = W1 @ x + b1
    z2 = W2 @ np.maximum(z1, 0) + b2
    return z1, np.maximum(z1, 0), z2, np.maximum(z2, 0)


def forward_aliased_relu(x, W1, b1, W2, b2):
    z1 = x @ W1.T + b1
    a1 = z1  # the same array: clamping a1 clamps z1 too
    a1[a1 < 0] = 0
    z2 = a1 @ W2.T + b2
    a2 = z2
    a2[a2 < 0] = 0
    return z1, a1, z2, a2


# --- 4.2 backward pass ---------------------------------------------------------------------------


def _backward(hidden_mask=lambda z: z > 0, output_mask=lambda z: z > 0, batch_mean=False,
              sign=1.0, transpose_dw=False):
    def mlp_backward(x, y, W1, b1, W2, b2):
        x2, y2 = np.atleast_2d(x), np.atleast_2d(y)
        z1 = x2 @ W1.T + b1
        a1 = np.maximum(z1, 0)
        z2 = a1 @ W2.T + b2
        d2 = sign * (np.maximum(z2, 0) - y2) * output_mask(z2)
        d1 = (d2 @ W2) * hidden_mask(z1)
        scale = 1 / len(x2) if batch_mean else 1.0
        dW1, dW2 = scale * d1.T @ x2, scale * d2.T @ a1
        if transpose_dw:
            dW1, dW2 = dW1.T, dW2.T
        return dW1, scale * d1.sum(axis=0), dW2, scale * d2.sum(axis=0)
    return mlp_backward


def _ones(z):
    return np.ones_like(z)


backward_no_relu_derivative = _backward(hidden_mask=_ones, output_mask=_ones)
backward_no_hidden_relu_derivative = _backward(hidden_mask=_ones)
backward_no_output_relu_derivative = _backward(output_mask=_ones)
backward_relu_derivative_1_at_0 = _backward(hidden_mask=lambda z: z >= 0, output_mask=lambda z: z >= 0)
backward_batch_mean = _backward(batch_mean=True)
backward_sign = _backward(sign=-1.0)
backward_transposed_dw = _backward(transpose_dw=True)


# --- 4.3 convolution arithmetic ------------------------------------------------------------------


def _size(formula, checks=True):
    def conv_output_size(n, kernel, stride=1, padding=0, dilation=1):
        if checks and (min(n, kernel, stride, dilation) < 1 or padding < 0):
            raise ValueError("sizes must be >= 1 and padding >= 0")
        size = formula(n, kernel, stride, padding, dilation)
        if checks and size < 1:
            raise ValueError("the kernel does not fit")
        return size
    return conv_output_size


size_without_checks = _size(lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // max(s, 1) + 1,
                            checks=False)
size_ignoring_dilation = _size(lambda n, k, s, p, d: (n + 2 * p - k) // s + 1)
size_padding_once = _size(lambda n, k, s, p, d: (n + p - d * (k - 1) - 1) // s + 1)
size_rounding_up = _size(lambda n, k, s, p, d: -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1)
size_true_division = _size(lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) / s + 1)
size_dilation_times_k = _size(lambda n, k, s, p, d: (n + 2 * p - d * k) // s + 1)


# --- 4.4 2-D convolution -------------------------------------------------------------------------


def conv_flipped(x, w, b, stride=1, padding=0):
    return nn.conv2d(x, w[:, :, ::-1, ::-1].copy(), b, stride, padding)


def conv_without_bias(x, w, b, stride=1, padding=0):
    return nn.conv2d(x, w, None, stride, padding)


def conv_ignoring_padding(x, w, b, stride=1, padding=0):
    return nn.conv2d(x, w, b, stride, 0)


def conv_ignoring_stride(x, w, b, stride=1, padding=0):
    return nn.conv2d(x, w, b, 1, padding)


def conv_first_channel_only(x, w, b, stride=1, padding=0):
    return nn.conv2d(x[:, :1], w[:, :1], b, stride, padding)


# --- 4.5 max pooling -----------------------------------------------------------------------------


def pool_from_zero(x, kernel, stride=None):
    return np.maximum(nn.max_pool2d(x, kernel, stride), 0)


def pool_ignoring_stride(x, kernel, stride=None):
    return nn.max_pool2d(x, kernel)


def pool_default_stride_1(x, kernel, stride=None):
    return nn.max_pool2d(x, kernel, stride or 1)


def pool_average(x, kernel, stride=None):
    s = stride or kernel
    oh, ow = (x.shape[2] - kernel) // s + 1, (x.shape[3] - kernel) // s + 1
    return np.mean([x[:, :, p : p + s * oh : s, q : q + s * ow : s]
                    for p in range(kernel) for q in range(kernel)], axis=0)


def pool_ceil_mode(x, kernel, stride=None):
    s = stride or kernel
    pad_h, pad_w = (-(x.shape[2] - kernel)) % s, (-(x.shape[3] - kernel)) % s
    padded = np.pad(x, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)), constant_values=-np.inf)
    return nn.max_pool2d(padded, kernel, s)


# --- 4.6 Adam ------------------------------------------------------------------------------------


def _adam(eps_inside=False, corrected=True, power=lambda b, t: 1 - b**t, square=True, check_t=True,
          fixed_hyperparameters=False):
    def adam_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        if check_t and t < 1:
            raise ValueError("t counts from 1")
        if fixed_hyperparameters:
            lr, beta1, beta2, eps = 1e-3, 0.9, 0.999, 1e-8
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * (grad**2 if square else grad)
        m_hat, v_hat = (m / power(beta1, t), v / power(beta2, t)) if corrected else (m, v)
        step = m_hat / (np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps)
        return theta - lr * step, m, v
    return adam_step


adam_eps_inside_sqrt = _adam(eps_inside=True)
adam_no_correction = _adam(corrected=False)
adam_correction_precedence = _adam(power=lambda b, t: (1 - b) ** t)
adam_v_without_square = _adam(square=False)
adam_no_t_check = _adam(check_t=False)
adam_default_hyperparameters = _adam(fixed_hyperparameters=True)


def adam_in_place(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta_new, m_new, v_new = nn.adam_step(theta, grad, m, v, t, lr, beta1, beta2, eps)
    m[...] = m_new
    return theta_new, m_new, v_new


# --- 4.7 RNN step --------------------------------------------------------------------------------


def rnn_w_hh_not_transposed(x_t, h_prev, W_hh, W_xh, b_h):
    return np.tanh(h_prev @ W_hh + x_t @ W_xh.T + b_h)


def rnn_w_xh_not_transposed(x_t, h_prev, W_hh, W_xh, b_h):
    return np.tanh(h_prev @ W_hh.T + x_t @ W_xh + b_h)


def rnn_without_tanh(x_t, h_prev, W_hh, W_xh, b_h):
    return h_prev @ W_hh.T + x_t @ W_xh.T + b_h


def rnn_without_bias(x_t, h_prev, W_hh, W_xh, b_h):
    return np.tanh(h_prev @ W_hh.T + x_t @ W_xh.T)


def rnn_relu(x_t, h_prev, W_hh, W_xh, b_h):
    return np.maximum(h_prev @ W_hh.T + x_t @ W_xh.T + b_h, 0)


def rnn_sigmoid(x_t, h_prev, W_hh, W_xh, b_h):
    return 1 / (1 + np.exp(-(h_prev @ W_hh.T + x_t @ W_xh.T + b_h)))


MISTAKES = {
    "4.1": (
        Mistake("输出层漏了 ReLU（no ReLU on the output layer）", forward_no_output_relu),
        Mistake("把 ReLU 的导数（0/1 掩码）当成了 ReLU（mask (z > 0) instead of max(z, 0)）",
                forward_relu_as_mask),
        Mistake("用 np.max(z, 0) 沿第 0 轴取最大值，而不是逐元素的 np.maximum(z, 0)（np.max vs np.maximum）",
                forward_np_max),
        Mistake("权重没有转置：x @ W 而不是 x @ W.T（missing transpose）", forward_without_transpose),
        Mistake("写成 W @ x，只对单个向量成立、批输入出错（W @ x instead of x @ W.T for batches）",
                forward_w_times_x),
        Mistake("a1 = z1 是同一个数组，原地截断时把 z1 也改了（aliasing: a1 is z1）", forward_aliased_relu),
    ),
    "4.2": (
        Mistake("两层都没有乘 ReLU 的导数（missing ReLU derivative）", backward_no_relu_derivative),
        Mistake("隐藏层没有乘 ReLU 的导数（missing ReLU derivative in the hidden layer）",
                backward_no_hidden_relu_derivative),
        Mistake("输出层没有乘 ReLU 的导数（missing ReLU derivative in the output layer）",
                backward_no_output_relu_derivative),
        Mistake("ReLU 在 0 处的导数取了 1，题目约定为 0（ReLU'(0) = 1 instead of 0）",
                backward_relu_derivative_1_at_0),
        Mistake("对批求平均而不是求和（batch mean instead of sum）", backward_batch_mean),
        Mistake("误差项符号写反：y - a2（sign of the error term）", backward_sign),
        Mistake("dW 转置了：x ⊗ delta 而不是 delta ⊗ x"
                "（transposed weight gradient）", backward_transposed_dw),
    ),
    "4.3": (
        Mistake("没有检查非法输入（no ValueError for invalid sizes）", size_without_checks),
        Mistake("忽略了空洞（dilation ignored）", size_ignoring_dilation),
        Mistake("padding 只加了一次，应为 2 * padding（padding counted once）", size_padding_once),
        Mistake("向上取整，应向下取整（ceil instead of floor）", size_rounding_up),
        Mistake("用 / 而不是 //，得到小数（true division instead of floor division）", size_true_division),
        Mistake("空洞卷积核跨度写成 dilation * kernel"
                "（span d*k instead of d*(k-1)+1）", size_dilation_times_k),
    ),
    "4.4": (
        Mistake("翻转了卷积核：深度学习的卷积是互相关（kernel flipped: convolution vs cross-correlation）",
                conv_flipped),
        Mistake("没有加偏置（bias not added）", conv_without_bias),
        Mistake("忽略了 padding（padding ignored）", conv_ignoring_padding),
        Mistake("忽略了 stride（stride ignored）", conv_ignoring_stride),
        Mistake("只用了第一个输入通道，没有对通道求和"
                "（no sum over input channels）", conv_first_channel_only),
    ),
    "4.5": (
        Mistake("最大值从 0 开始，全负输入时得到 0（max initialised at 0）", pool_from_zero),
        Mistake("忽略了 stride 参数（stride ignored）", pool_ignoring_stride),
        Mistake("默认 stride 取了 1，应等于 kernel"
                "（default stride 1 instead of kernel）", pool_default_stride_1),
        Mistake("算成了平均池化（average instead of max pooling）", pool_average),
        Mistake("保留了不完整的边缘窗口（ceil mode: partial windows kept）", pool_ceil_mode),
    ),
    "4.6": (
        Mistake("ε 放进了平方根：sqrt(v_hat + eps)（epsilon inside the square root）", adam_eps_inside_sqrt),
        Mistake("没有偏差修正（no bias correction）", adam_no_correction),
        Mistake("偏差修正写成 (1 - beta)**t，应为 1 - beta**t"
                "（operator precedence）", adam_correction_precedence),
        Mistake("二阶矩用了 grad 而不是 grad**2（v without the square）", adam_v_without_square),
        Mistake("t < 1 时没有报错（no ValueError for t < 1）", adam_no_t_check),
        Mistake("用了默认超参数而不是传入的参数（arguments ignored: fixed lr, betas, eps）",
                adam_default_hyperparameters),
        Mistake("原地修改了 m（in-place update of m）", adam_in_place),
    ),
    "4.7": (
        Mistake("W_hh 没有转置（W_hh not transposed）", rnn_w_hh_not_transposed),
        Mistake("W_xh 没有转置（W_xh not transposed）", rnn_w_xh_not_transposed),
        Mistake("漏了 tanh 激活（missing tanh）", rnn_without_tanh),
        Mistake("漏了偏置 b_h（bias omitted）", rnn_without_bias),
        Mistake("激活函数用了 ReLU，题目要求 tanh（ReLU instead of tanh）", rnn_relu),
        Mistake("激活函数用了 sigmoid，题目要求 tanh（sigmoid instead of tanh）", rnn_sigmoid),
    ),
}
