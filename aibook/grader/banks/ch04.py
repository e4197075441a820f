"""Chapter 4 (数学模型和公式) exercises: MLP forward and backward pass, convolution arithmetic,
2-D convolution, max pooling, one Adam step and one RNN step (60 points).

The references are ``aibook.numpy_nn``'s functions, except for the gradients (4.2, by
``torch.autograd``) and the convolution (4.4, by ``torch.nn.functional.conv2d``): independent
implementations. The exercise text in ``solutions/ch04.ipynb`` states each test and its points.
"""

# Over 300 lines on purpose: a question bank is data, and one source per exercise set keeps each
# question's text, reference answer and tests together.

from __future__ import annotations

import numpy as np

from aibook import numpy_nn as nn
from aibook.grader.questions import Call, Question, Test, call

# The chapter's worked example: x = [1, 2, 3], two layers of two ReLU units, target y = [1, 1].
X = np.array([1.0, 2.0, 3.0])
W1 = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
B1 = np.array([0.1, 0.2])
W2 = np.array([[0.7, 0.8], [0.9, 1.0]])
B2 = np.array([0.3, 0.4])
Y = np.array([1.0, 1.0])


def _layers(rng: np.random.Generator, n_in: int, n_hidden: int, n_out: int) -> list[np.ndarray]:
    """Random W1, b1, W2, b2; b2 > 0 keeps most output units active."""
    return [rng.normal(size=(n_hidden, n_in)) * 0.7, rng.normal(size=n_hidden) * 0.1,
            rng.normal(size=(n_out, n_hidden)) * 0.7, 1.0 + rng.uniform(size=n_out)]


def _dead_layers(rng: np.random.Generator, n_in: int, n_hidden: int, n_out: int
                 ) -> list[np.ndarray]:
    """Random layers whose even hidden units (and first output unit) never fire."""
    w1, b1, w2, b2 = _layers(rng, n_in, n_hidden, n_out)
    b1[::2] = -50.0
    b2[0] = -50.0
    return [w1, b1, w2, b2]


# --- 4.1 forward pass --------------------------------------------------------------------------


def mlp_forward_reference(x, W1, b1, W2, b2):
    """(z1, a1, z2, a2) of the two-layer ReLU MLP, from aibook.numpy_nn.mlp_forward."""
    (z1, a1), (z2, a2) = nn.mlp_forward(x, [(W1, b1), (W2, b2)])
    return z1, a1, z2, a2


def _forward_batch(rng: np.random.Generator) -> list[Call]:
    return [call(rng.normal(size=(4, 3)), *_layers(rng, 3, 5, 2))]


def _forward_batch_of_one(rng: np.random.Generator) -> list[Call]:
    return [call(rng.normal(size=(1, 3)), *_layers(rng, 3, 4, 3))]


def _forward_dead(rng: np.random.Generator) -> list[Call]:
    return [call(rng.normal(size=(6, 4)), *_dead_layers(rng, 4, 5, 2))]


def _forward_vector(rng: np.random.Generator) -> list[Call]:
    return [call(rng.normal(size=4), *_layers(rng, 4, 3, 2))]


MLP_FORWARD = Question(
    "4.1", "mlp_forward", "forward pass of a two-layer ReLU MLP",
    params=("x", "W1", "b1", "W2", "b2"), outputs=("z1", "a1", "z2", "a2"),
    reference=mlp_forward_reference,
    tests=(
        Test("the chapter's worked example", 2, lambda rng: [call(X, W1, B1, W2, B2)]),
        Test("a batch of 4 inputs, layers 3 -> 5 -> 2", 2, _forward_batch,
             hint="for a batch x is (N, in): compute x @ W.T + b"),
        Test("a batch of size 1", 1, _forward_batch_of_one),
        Test("dead ReLU units (negative pre-activations give 0)", 2, _forward_dead,
             hint="ReLU is np.maximum(z, 0), elementwise"),
        Test("does not modify its inputs", 1, _forward_vector, unmodified=True),
    ),
)


# --- 4.2 backward pass -------------------------------------------------------------------------


def mlp_backward_reference(x, y, W1, b1, W2, b2):
    """(dW1, db1, dW2, db2) of L = 1/2 sum (a2 - y)^2, by torch.autograd in float64."""
    import torch

    def leaf(a: np.ndarray) -> torch.Tensor:
        return torch.tensor(a, dtype=torch.float64, requires_grad=True)

    params = [leaf(p) for p in (W1, b1, W2, b2)]
    tw1, tb1, tw2, tb2 = params
    a1 = torch.relu(torch.tensor(x, dtype=torch.float64) @ tw1.T + tb1)
    a2 = torch.relu(a1 @ tw2.T + tb2)
    loss = 0.5 * ((a2 - torch.tensor(y, dtype=torch.float64)) ** 2).sum()
    loss.backward()
    return tuple(p.grad.numpy() for p in params)


def _backward_single(rng: np.random.Generator) -> list[Call]:
    return [call(rng.normal(size=4), rng.normal(size=2), *_layers(rng, 4, 3, 2))]


def _backward_dead(rng: np.random.Generator) -> list[Call]:
    w1, b1, w2, b2 = _layers(rng, 4, 3, 2)
    w1[1], b1[1], w2[0], b2[0] = 0.0, 0.0, 0.0, 0.0  # pre-activations exactly 0: ReLU'(0) = 0
    return [call(rng.normal(size=4), rng.normal(size=2), *_dead_layers(rng, 4, 5, 2)),
            call(rng.normal(size=4), rng.normal(size=2) + 3.0, w1, b1, w2, b2)]


def _backward_batch(rng: np.random.Generator) -> list[Call]:
    return [call(rng.normal(size=(3, 4)), rng.normal(size=(3, 2)), *_layers(rng, 4, 3, 2))]


MLP_BACKWARD = Question(
    "4.2", "mlp_backward", "gradients of the two-layer ReLU MLP for L = 1/2 sum (a2 - y)^2",
    params=("x", "y", "W1", "b1", "W2", "b2"), outputs=("dW1", "db1", "dW2", "db2"),
    reference=mlp_backward_reference,
    tests=(
        Test("the chapter's worked example", 3, lambda rng: [call(X, Y, W1, B1, W2, B2)]),
        Test("one random example, layers 4 -> 3 -> 2", 2, _backward_single,
             hint="dW has the shape of W: delta (out,) times the layer input (in,), an outer product"),
        Test("dead ReLU units pass no gradient back", 2, _backward_dead,
             hint="multiply by ReLU'(z) = 1 where z > 0, else 0 (also at z = 0), in both layers"),
        Test("a batch of 3 examples (gradients summed over the batch)", 2, _backward_batch,
             hint="with a batch, dW2 = delta2.T @ a1 and db2 = delta2.sum(axis=0)"),
        Test("does not modify its inputs", 1, _backward_single, unmodified=True),
    ),
)


# --- 4.3 convolution arithmetic ----------------------------------------------------------------


def _random_sizes(rng: np.random.Generator) -> list[Call]:
    calls: list[Call] = []
    while len(calls) < 20:
        n, k = int(rng.integers(1, 65)), int(rng.integers(1, 8))
        s, p, d = int(rng.integers(1, 5)), int(rng.integers(0, 4)), int(rng.integers(1, 4))
        if n + 2 * p >= d * (k - 1) + 1:
            calls.append(call(n, k, stride=s, padding=p, dilation=d))
    return calls


CONV_OUTPUT_SIZE = Question(
    "4.3", "conv_output_size", "output size of a convolution along one axis",
    params=("n", "kernel", "stride", "padding", "dilation"), outputs=("size",),
    reference=nn.conv_output_size,
    tests=(
        Test("stride 1, no padding", 1,
             lambda rng: [call(5, 3), call(28, 5), call(3, 3), call(7, 1)]),
        Test("stride > 1 with padding", 2,
             lambda rng: [call(7, 3, stride=2, padding=1), call(28, 5, stride=2, padding=2),
                          call(224, 7, stride=2, padding=3), call(6, 3, stride=2, padding=1),
                          call(2, 3, padding=1)],
             hint="add 2 * padding to n before sliding the kernel"),
        Test("the stride does not divide evenly (round down)", 1,
             lambda rng: [call(7, 2, stride=2), call(10, 3, stride=3), call(8, 3, stride=2)],
             hint="use floor division //"),
        Test("dilation", 1,
             lambda rng: [call(7, 3, dilation=2), call(10, 3, stride=2, padding=2, dilation=2),
                          call(32, 3, padding=2, dilation=2)],
             hint="a dilated kernel spans dilation * (kernel - 1) + 1 inputs"),
        Test("20 random valid settings", 1, _random_sizes),
        Test("invalid inputs raise ValueError", 2,
             lambda rng: [call(3, 5), call(5, 3, stride=0), call(5, 3, padding=-1), call(5, 0),
                          call(4, 3, dilation=3), call(0, 1)],
             raises="ValueError",
             hint="raise ValueError when a size is < 1, padding < 0 or the kernel does not fit"),
    ),
)


# --- 4.4 2-D convolution -----------------------------------------------------------------------


def conv2d_reference(x, w, b, stride=1, padding=0):
    """torch.nn.functional.conv2d in float64."""
    import torch
    import torch.nn.functional as F

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.tensor(a, dtype=torch.float64)

    return F.conv2d(t(x), t(w), t(b), stride=stride, padding=padding).numpy()


def _conv_case(rng: np.random.Generator, x_shape: tuple, w_shape: tuple, **kw: int) -> Call:
    return call(rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0]),
                **kw)


CONV2D = Question(
    "4.4", "conv2d", "2-D convolution (cross-correlation), as torch.nn.functional.conv2d",
    params=("x", "w", "b", "stride", "padding"), outputs=("out",),
    reference=conv2d_reference,
    tests=(
        Test("one channel, 3x3 kernel on a 5x5 input", 2,
             lambda rng: [_conv_case(rng, (1, 1, 5, 5), (1, 1, 3, 3))]),
        Test("an asymmetric kernel (no flipping)", 2,
             lambda rng: [call(np.arange(20.0).reshape(1, 1, 4, 5),
                               np.arange(1.0, 7.0).reshape(1, 1, 2, 3), np.zeros(1))],
             hint="deep learning's convolution is cross-correlation: do not flip the kernel"),
        Test("3 channels in, 4 out, a batch of 2", 2,
             lambda rng: [_conv_case(rng, (2, 3, 6, 6), (4, 3, 3, 3))],
             hint="sum over the input channels; add b[o] to output channel o"),
        Test("stride 2 with padding 1 on a non-square input", 2,
             lambda rng: [_conv_case(rng, (1, 2, 7, 6), (3, 2, 3, 3), stride=2, padding=1)],
             hint="pad with zeros first, then move the window by `stride`"),
        Test("a non-square kernel, a batch of size 1", 1,
             lambda rng: [_conv_case(rng, (1, 2, 5, 7), (2, 2, 2, 3))]),
        Test("does not modify its inputs", 1,
             lambda rng: [_conv_case(rng, (2, 2, 5, 5), (3, 2, 3, 3), padding=1)],
             unmodified=True),
    ),
)


# --- 4.5 max pooling ---------------------------------------------------------------------------


MAX_POOL2D = Question(
    "4.5", "max_pool2d", "max pooling over k x k windows, as torch.nn.functional.max_pool2d",
    params=("x", "kernel", "stride"), outputs=("out",),
    reference=nn.max_pool2d,
    tests=(
        Test("2x2 windows on a 4x4 input", 1, lambda rng: [call(rng.normal(size=(1, 1, 4, 4)), 2)]),
        Test("all inputs negative", 2,
             lambda rng: [call(-rng.uniform(1, 2, size=(2, 2, 4, 6)), 2)],
             hint="start each window's maximum from -inf or its first value, not from 0"),
        Test("overlapping windows: kernel 3, stride 2", 2,
             lambda rng: [call(rng.normal(size=(1, 2, 7, 7)), 3, 2)],
             hint="the default stride is the kernel size; an explicit stride overrides it"),
        Test("a non-square input; leftover rows and columns are dropped", 1,
             lambda rng: [call(rng.normal(size=(1, 1, 5, 7)), 2)]),
        Test("a batch of 2 with 3 channels, stride 1", 1,
             lambda rng: [call(rng.normal(size=(2, 3, 4, 5)), 2, 1)]),
        Test("does not modify its inputs", 1,
             lambda rng: [call(rng.normal(size=(2, 2, 6, 6)), 2)], unmodified=True),
    ),
)


# --- 4.6 one Adam step -------------------------------------------------------------------------


def _adam_case(rng: np.random.Generator, shape: tuple, t: int, zero_moments: bool = False,
               zero_grad: bool = False, grad_scale: float = 1.0, **kw: float) -> Call:
    theta = rng.normal(size=shape)
    grad = np.zeros(shape) if zero_grad else rng.normal(size=shape) * grad_scale
    m = np.zeros(shape) if zero_moments else rng.normal(size=shape) * 0.1
    v = np.zeros(shape) if zero_moments else rng.normal(size=shape) ** 2 * 0.01
    return call(theta, grad, m, v, t, **kw)


ADAM_STEP = Question(
    "4.6", "adam_step", "one Adam update with bias correction",
    params=("theta", "grad", "m", "v", "t", "lr", "beta1", "beta2", "eps"),
    outputs=("theta", "m", "v"),
    reference=nn.adam_step,
    tests=(
        Test("the first step, t = 1 (bias correction)", 2,
             lambda rng: [_adam_case(rng, (5,), 1, zero_moments=True),
                          _adam_case(rng, (4,), 1, zero_moments=True, grad_scale=1e-6)],
             hint="divide m by 1 - beta1**t and v by 1 - beta2**t before the update"),
        Test("step t = 10 with running averages m and v", 2,
             lambda rng: [_adam_case(rng, (6,), 10)]),
        Test("custom lr, beta1, beta2 and eps", 2,
             lambda rng: [_adam_case(rng, (4,), 3, lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6)],
             hint="use the arguments, not the default values"),
        Test("a large t (the correction is almost 1)", 1,
             lambda rng: [_adam_case(rng, (4,), 10_000)]),
        Test("matrix parameters with a zero gradient", 1,
             lambda rng: [_adam_case(rng, (3, 4), 5, zero_grad=True)]),
        Test("t < 1 raises ValueError", 1,
             lambda rng: [_adam_case(rng, (3,), 0), _adam_case(rng, (3,), -1)],
             raises="ValueError", hint="t counts steps from 1"),
        Test("does not modify its inputs", 1, lambda rng: [_adam_case(rng, (5,), 4)],
             unmodified=True, hint="write m = beta1 * m + ..., not m *= beta1"),
    ),
)


# --- 4.7 one RNN step --------------------------------------------------------------------------


def _rnn_case(rng: np.random.Generator, batch: tuple, n_in: int, n_hidden: int,
              scale: float = 0.5) -> Call:
    return call(rng.normal(size=(*batch, n_in)), rng.normal(size=(*batch, n_hidden)),
                rng.normal(size=(n_hidden, n_hidden)) * scale,
                rng.normal(size=(n_hidden, n_in)) * scale, rng.normal(size=n_hidden) * 0.1)


RNN_STEP = Question(
    "4.7", "rnn_step", "one step of a plain (Elman) RNN with tanh",
    params=("x_t", "h_prev", "W_hh", "W_xh", "b_h"), outputs=("h_t",),
    reference=nn.rnn_step,
    tests=(
        Test("one step for a single input vector", 1, lambda rng: [_rnn_case(rng, (), 3, 4)]),
        Test("a batch of 5", 2, lambda rng: [_rnn_case(rng, (5,), 3, 4)],
             hint="for a batch, h_prev @ W_hh.T + x_t @ W_xh.T + b_h"),
        Test("a batch of size 1", 1, lambda rng: [_rnn_case(rng, (1,), 2, 6)]),
        Test("large pre-activations (tanh saturates)", 1,
             lambda rng: [_rnn_case(rng, (3,), 4, 3, scale=5.0)]),
        Test("does not modify its inputs", 1, lambda rng: [_rnn_case(rng, (2,), 3, 4)],
             unmodified=True),
    ),
)


QUESTIONS = [MLP_FORWARD, MLP_BACKWARD, CONV_OUTPUT_SIZE, CONV2D, MAX_POOL2D, ADAM_STEP, RNN_STEP]
