"""Chapter 3 (核心算法原理) exercises: stable softmax and cross-entropies, a new operation of the
scalar autograd engine, momentum and AdamW steps, a mini-batch iterator and framing (60 points).

The references are independent implementations: ``torch.nn.functional`` for the losses,
``torch.autograd`` for the engine question, ``torch.optim`` for the optimiser steps, and
``aibook.optim`` / ``aibook.signal`` (themselves checked against NumPy and PyTorch in tests/)
for the iterator and the framing. The exercise text in ``solutions/ch03.ipynb`` states each test
and its points.
"""

# Over 300 lines on purpose: a question bank is data, and one source per exercise set keeps each
# question's text, reference answer and tests together.

from __future__ import annotations

import numpy as np

from aibook import optim
from aibook import signal as sig
from aibook.grader.questions import Call, Question, Test, call


def _t(a):
    import torch

    return torch.tensor(np.asarray(a), dtype=torch.float64)


# --- 3.1 stable softmax ------------------------------------------------------------------------


def softmax_reference(z):
    """torch.softmax along the last axis, float64."""
    import torch

    return torch.softmax(_t(z), dim=-1).numpy()


STABLE_SOFTMAX = Question(
    "3.1", "stable_softmax", "softmax along the last axis without overflow",
    params=("z",), outputs=("p",),
    reference=softmax_reference,
    tests=(
        Test("one vector of moderate logits", 1, lambda rng: [call(rng.normal(size=5))]),
        Test("batches: one distribution per row (2-D and 3-D)", 1,
             lambda rng: [call(rng.normal(size=(4, 6))), call(rng.normal(size=(2, 3, 4)))],
             hint="normalise along the last axis: sum(axis=-1, keepdims=True)"),
        Test("large logits (1000 and more) do not overflow", 2,
             lambda rng: [call(1000.0 + rng.normal(size=(3, 5))), call(np.array([800.0, 0.0, -5.0]))],
             hint="subtract the row's maximum before exp: softmax(z) = softmax(z - max z)"),
        Test("very negative logits do not give 0/0", 1,
             lambda rng: [call(-1000.0 + rng.normal(size=(2, 4))),
                          call(np.array([[1000.0, 1001.0], [-1000.0, -999.0]]))],
             hint="each row subtracts its own maximum: z.max(axis=-1, keepdims=True)"),
        Test("equal logits give a uniform distribution", 1, lambda rng: [call(np.full((2, 5), 3.0))]),
        Test("does not modify its input", 1, lambda rng: [call(rng.normal(size=(3, 4)) * 50)],
             unmodified=True, hint="write z = z - z.max(...), not z -= z.max(...)"),
    ),
)


# --- 3.2 cross-entropy from logits ---------------------------------------------------------------


def cross_entropy_reference(logits, targets):
    """F.cross_entropy (mean over the batch), float64."""
    import torch
    import torch.nn.functional as F

    return F.cross_entropy(_t(logits), torch.as_tensor(np.asarray(targets), dtype=torch.long)).item()


def _ce_case(rng: np.random.Generator, n: int, k: int, scale: float = 1.0) -> Call:
    return call(rng.normal(size=(n, k)) * scale, rng.integers(0, k, size=n))


def _confidently_wrong(rng: np.random.Generator) -> list[Call]:
    logits = np.zeros((3, 4))
    logits[:, 0] = 800.0  # all the mass on class 0 ...
    return [call(logits, np.array([1, 2, 3]))]  # ... but the targets are other classes


CROSS_ENTROPY = Question(
    "3.2", "cross_entropy", "mean cross-entropy of logits and class indices, numerically stable",
    params=("logits", "targets"), outputs=("loss",),
    reference=cross_entropy_reference,
    tests=(
        Test("a batch of 5 examples, 4 classes", 2, lambda rng: [_ce_case(rng, 5, 4)]),
        Test("a batch of one", 1, lambda rng: [_ce_case(rng, 1, 3)],
             hint="average over the batch: the mean of -log p[n, targets[n]]"),
        Test("large logits (about 1000)", 2, lambda rng: [_ce_case(rng, 6, 5, scale=1000.0)],
             hint="use log-sum-exp: log sum exp(z) = m + log sum exp(z - m)"),
        Test("confidently wrong predictions give a large but finite loss", 2, _confidently_wrong,
             hint="compute log_softmax = z - logsumexp(z) directly; log(softmax) gives log(0) = -inf"),
        Test("does not modify its inputs", 1, lambda rng: [_ce_case(rng, 4, 3, scale=30.0)],
             unmodified=True),
    ),
)


# --- 3.3 binary cross-entropy from logits --------------------------------------------------------


def bce_reference(z, y):
    """F.binary_cross_entropy_with_logits (mean), float64."""
    import torch.nn.functional as F

    return F.binary_cross_entropy_with_logits(_t(z), _t(y)).item()


def _bce_case(rng: np.random.Generator, shape: tuple, scale: float = 1.0, soft: bool = False) -> Call:
    y = rng.uniform(size=shape) if soft else rng.integers(0, 2, size=shape).astype(float)
    return call(rng.normal(size=shape) * scale, y)


BCE_WITH_LOGITS = Question(
    "3.3", "bce_with_logits", "mean binary cross-entropy of logits, numerically stable",
    params=("z", "y"), outputs=("loss",),
    reference=bce_reference,
    tests=(
        Test("moderate logits, labels 0 and 1", 1, lambda rng: [_bce_case(rng, (8,))]),
        Test("large logits of both signs (+-800)", 2,
             lambda rng: [call(np.array([800.0, -800.0, 40.0, -40.0]), np.array([0.0, 1.0, 0.0, 1.0])),
                          _bce_case(rng, (6,), scale=500.0)],
             hint="use max(z, 0) - z*y + log1p(exp(-|z|)): exp never sees a positive argument"),
        Test("soft labels between 0 and 1", 1, lambda rng: [_bce_case(rng, (7,), soft=True)]),
        Test("a matrix of logits (the mean is over all entries)", 1,
             lambda rng: [_bce_case(rng, (3, 4), scale=3.0)]),
        Test("does not modify its inputs", 1, lambda rng: [_bce_case(rng, (5,), scale=10.0)],
             unmodified=True),
    ),
)


# --- 3.4 a new operation of the scalar engine ----------------------------------------------------


def swish_reference(x, w):
    """(L, dL/dx, dL/dw) of L = sigmoid(w x) * (w x), by torch.autograd in float64."""
    import torch

    xt = torch.tensor(float(x), dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(float(w), dtype=torch.float64, requires_grad=True)
    u = wt * xt
    loss = torch.sigmoid(u) * u
    loss.backward()
    return loss.item(), xt.grad.item(), wt.grad.item()


def _scalars(rng: np.random.Generator, n: int, scale: float = 1.0) -> list[Call]:
    return [call(float(a), float(b)) for a, b in rng.normal(size=(n, 2)) * scale]


SIGMOID_GRADS = Question(
    "3.4", "sigmoid_grads", "sigmoid as a new operation of the scalar engine, with its backward",
    params=("x", "w"), outputs=("L", "dL_dx", "dL_dw"),
    reference=swish_reference,
    tests=(
        Test("moderate inputs", 3, lambda rng: _scalars(rng, 4),
             hint="in _backward, add to the input's gradient with +=: u is used twice in L"),
        Test("x = 0", 1, lambda rng: [call(0.0, float(rng.normal()))]),
        Test("large positive w * x (about +800)", 2, lambda rng: [call(40.0, 20.0), call(-20.0, -40.0)],
             hint="sigmoid(v) = 1 / (1 + exp(-v)) for v >= 0"),
        Test("large negative w * x (about -800) does not overflow", 2,
             lambda rng: [call(-40.0, 20.0), call(20.0, -40.0)],
             hint="for v < 0 use exp(v) / (1 + exp(v)): math.exp(800) overflows"),
    ),
)


# --- 3.5 one step of SGD with momentum -----------------------------------------------------------


def momentum_step_reference(theta, grad, velocity, lr, momentum):
    """One torch.optim.SGD step with momentum, starting from the given velocity buffer."""
    import torch

    p = _t(theta).clone().requires_grad_(True)
    opt = torch.optim.SGD([p], lr=lr, momentum=momentum, foreach=False)
    p.grad = _t(grad)
    if momentum:
        opt.state[p]["momentum_buffer"] = _t(velocity).clone()
    opt.step()
    new_velocity = opt.state[p]["momentum_buffer"].numpy() if momentum else np.asarray(grad, float)
    return p.detach().numpy(), new_velocity


def _momentum_case(rng: np.random.Generator, shape: tuple, zero_velocity: bool = False,
                   lr: float = 0.1, momentum: float = 0.9) -> Call:
    velocity = np.zeros(shape) if zero_velocity else rng.normal(size=shape)
    return call(rng.normal(size=shape), rng.normal(size=shape), velocity, lr, momentum)


MOMENTUM_STEP = Question(
    "3.5", "momentum_step", "one step of SGD with momentum (PyTorch's convention)",
    params=("theta", "grad", "velocity", "lr", "momentum"), outputs=("theta", "velocity"),
    reference=momentum_step_reference,
    tests=(
        Test("the first step, velocity 0", 1, lambda rng: [_momentum_case(rng, (4,), zero_velocity=True)]),
        Test("a step with a running velocity", 2, lambda rng: [_momentum_case(rng, (5,))],
             hint="v = momentum * v + grad, then theta = theta - lr * v"),
        Test("momentum 0 is plain gradient descent", 1,
             lambda rng: [_momentum_case(rng, (3,), momentum=0.0, lr=0.5)]),
        Test("matrix parameters", 1, lambda rng: [_momentum_case(rng, (3, 4), lr=0.01, momentum=0.5)]),
        Test("does not modify its inputs", 1, lambda rng: [_momentum_case(rng, (4,))], unmodified=True,
             hint="return new arrays: velocity = momentum * velocity + grad, not velocity *= ..."),
    ),
)


# --- 3.6 one AdamW step --------------------------------------------------------------------------


def adamw_step_reference(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                         weight_decay=0.01):
    """One torch.optim.AdamW step from the given moments at step t (t counts from 1)."""
    import torch

    if t < 1:
        raise ValueError(f"t counts steps from 1, got {t}")
    p = _t(theta).clone().requires_grad_(True)
    opt = torch.optim.AdamW([p], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay,
                            foreach=False)
    p.grad = _t(grad)
    opt.state[p].update(step=torch.tensor(float(t - 1)), exp_avg=_t(m).clone(),
                        exp_avg_sq=_t(v).clone())
    opt.step()
    state = opt.state[p]
    return p.detach().numpy(), state["exp_avg"].numpy(), state["exp_avg_sq"].numpy()


def _adamw_case(rng: np.random.Generator, shape: tuple, t: int, zero_moments: bool = False,
                grad_scale: float = 1.0, **kw: float) -> Call:
    m = np.zeros(shape) if zero_moments else rng.normal(size=shape) * 0.1
    v = np.zeros(shape) if zero_moments else rng.normal(size=shape) ** 2 * 0.01
    return call(rng.normal(size=shape), rng.normal(size=shape) * grad_scale, m, v, t, **kw)


ADAMW_STEP = Question(
    "3.6", "adamw_step", "one AdamW step: Adam with decoupled weight decay",
    params=("theta", "grad", "m", "v", "t", "lr", "beta1", "beta2", "eps", "weight_decay"),
    outputs=("theta", "m", "v"),
    reference=adamw_step_reference,
    tests=(
        Test("the first step, t = 1, zero moments", 2,
             lambda rng: [_adamw_case(rng, (5,), 1, zero_moments=True),
                          _adamw_case(rng, (4,), 1, zero_moments=True, grad_scale=1e-6)],
             hint="bias correction: m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t)"),
        Test("step t = 10 with running moments", 2, lambda rng: [_adamw_case(rng, (6,), 10)]),
        Test("the decay is decoupled: large gradients, strong weight decay", 2,
             lambda rng: [_adamw_case(rng, (4,), 3, grad_scale=100.0, lr=0.01, weight_decay=0.5)],
             hint="shrink theta by (1 - lr * weight_decay); do not add weight_decay * theta to grad"),
        Test("custom lr, betas and eps", 1,
             lambda rng: [_adamw_case(rng, (4,), 4, lr=0.05, beta1=0.8, beta2=0.99, eps=1e-6,
                                      weight_decay=0.1)],
             hint="use the arguments, not the default values"),
        Test("a large t (the corrections are almost 1)", 1,
             lambda rng: [_adamw_case(rng, (3,), 5000)]),
        Test("t < 1 raises ValueError", 1,
             lambda rng: [_adamw_case(rng, (3,), 0), _adamw_case(rng, (3,), -2)],
             raises="ValueError", hint="t counts steps from 1"),
        Test("does not modify its inputs", 1, lambda rng: [_adamw_case(rng, (2, 3), 2)],
             unmodified=True, hint="compute new arrays; do not write into theta, m or v"),
    ),
)


# --- 3.7 mini-batch indices ----------------------------------------------------------------------


def minibatch_indices_reference(n, batch_size, shuffle=True, seed=0):
    """The batches of aibook.optim.minibatches as a tuple of index arrays."""
    rng = np.random.default_rng(seed) if shuffle else None
    return tuple(optim.minibatches(n, batch_size, rng))


MINIBATCH_INDICES = Question(
    "3.7", "minibatch_indices", "the mini-batches of one epoch: every sample exactly once",
    params=("n", "batch_size", "shuffle", "seed"), outputs=("batches",),
    reference=minibatch_indices_reference,
    tests=(
        Test("n a multiple of the batch size (also batch size 1)", 1,
             lambda rng: [call(12, 4, True, int(rng.integers(1000))), call(4, 1, True, 11)]),
        Test("the last batch is smaller: no sample dropped", 2,
             lambda rng: [call(10, 3, True, int(rng.integers(1000))), call(101, 16, True, 7)],
             hint="range(0, n, batch_size) gives the start of every batch, the last one included"),
        Test("batch_size larger than n: one batch", 1, lambda rng: [call(5, 8, True, 3)]),
        Test("shuffle=False keeps the order 0, 1, ..., n-1", 1, lambda rng: [call(7, 2, False, 0)]),
        Test("n = 0 gives no batches", 1, lambda rng: [call(0, 4, True, 0)]),
        Test("batch_size < 1 raises ValueError", 1, lambda rng: [call(10, 0, True, 0), call(3, -1, False, 0)],
             raises="ValueError"),
    ),
)


# --- 3.8 framing ---------------------------------------------------------------------------------


FRAME_SIGNAL = Question(
    "3.8", "frame_signal", "cut a signal into overlapping frames",
    params=("x", "frame_length", "hop_length"), outputs=("frames",),
    reference=sig.frame_signal,
    tests=(
        Test("overlapping frames (hop < frame length)", 2, lambda rng: [call(rng.normal(size=50), 8, 3)],
             hint="row m is x[m * hop : m * hop + frame_length]"),
        Test("a partial last frame is dropped", 1, lambda rng: [call(rng.normal(size=23), 10, 4)],
             hint="there are 1 + (len(x) - frame_length) // hop_length frames"),
        Test("hop = frame length (no overlap)", 1, lambda rng: [call(rng.normal(size=40), 8, 8)]),
        Test("hop > frame length (gaps between frames)", 1, lambda rng: [call(rng.normal(size=30), 4, 7)]),
        Test("a signal exactly one frame long", 1, lambda rng: [call(rng.normal(size=16), 16, 5)]),
        Test("a signal shorter than one frame raises ValueError", 1,
             lambda rng: [call(rng.normal(size=5), 8, 2)], raises="ValueError"),
        Test("does not modify its input", 1, lambda rng: [call(rng.normal(size=20), 6, 2)],
             unmodified=True),
    ),
)


QUESTIONS = [STABLE_SOFTMAX, CROSS_ENTROPY, BCE_WITH_LOGITS, SIGMOID_GRADS, MOMENTUM_STEP, ADAMW_STEP,
             MINIBATCH_INDICES, FRAME_SIGNAL]
