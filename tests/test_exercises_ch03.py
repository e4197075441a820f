"""Chapter 3's question bank: typical mistakes, each caught by the test written for it.

The checks every chapter shares (sync, points, any seed, "not done") are in test_exercises.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from aibook.autograd import Value
from aibook.grader.check import failing_tests

# --- typical mistakes, each caught by the test written for it --------------------------------


def softmax_naive(z):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)


def softmax_in_place(z):
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy_log_of_softmax(logits, targets):
    m = logits.max(axis=1, keepdims=True)
    p = np.exp(logits - m) / np.exp(logits - m).sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        return float(-np.log(p[np.arange(len(targets)), targets]).mean())


def bce_naive(z, y):
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        p = 1 / (1 + np.exp(-z))
        return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def _swish(sigmoid):
    def sigmoid_grads(x, w):
        xv, wv = Value(x), Value(w)
        u = wv * xv
        loss = sigmoid(u) * u
        loss.backward()
        return loss.data, xv.grad, wv.grad
    return sigmoid_grads


def _sigmoid_assigning(v):
    s = 1 / (1 + math.exp(-v.data)) if v.data >= 0 else math.exp(v.data) / (1 + math.exp(v.data))
    out = Value(s, (v,), "sigmoid")

    def _backward():
        v.grad = s * (1 - s) * out.grad  # overwrites the other path's contribution

    out._backward = _backward
    return out


def _sigmoid_composed(v):
    return 1 / (1 + (-v).exp())  # exp(800) overflows


def momentum_in_place(theta, grad, velocity, lr, momentum):
    velocity *= momentum
    velocity += grad
    return theta - lr * velocity, velocity


def adam_with_l2(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    if t < 1:
        raise ValueError("t")
    grad = grad + weight_decay * theta
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    return theta - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


def minibatches_drop_last(n, batch_size, shuffle, seed):
    if batch_size < 1:
        raise ValueError("batch_size")
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    return tuple(order[s : s + batch_size] for s in range(0, n - batch_size + 1, batch_size))


def frames_with_partial_last(x, frame_length, hop_length):
    if len(x) < frame_length:
        raise ValueError("short")
    count = 1 - (-(len(x) - frame_length) // hop_length)  # ceil: keeps a zero-padded partial frame
    padded = np.pad(x, (0, (count - 1) * hop_length + frame_length - len(x)))
    return np.stack([padded[m * hop_length : m * hop_length + frame_length] for m in range(count)])


@pytest.mark.parametrize("qid, answer, failing", [
    ("3.1", softmax_naive, "large logits (1000 and more) do not overflow"),
    ("3.1", softmax_in_place, "does not modify its input"),
    ("3.2", cross_entropy_log_of_softmax, "confidently wrong predictions give a large but finite loss"),
    ("3.3", bce_naive, "large logits of both signs (+-800)"),
    ("3.4", _swish(_sigmoid_assigning), "moderate inputs"),
    ("3.4", _swish(_sigmoid_composed), "large negative w * x (about -800) does not overflow"),
    ("3.5", momentum_in_place, "does not modify its inputs"),
    ("3.6", adam_with_l2, "the decay is decoupled: large gradients, strong weight decay"),
    ("3.7", minibatches_drop_last, "the last batch is smaller: no sample dropped"),
    ("3.8", frames_with_partial_last, "a partial last frame is dropped"),
], ids=lambda v: v.__name__ if callable(v) else None)
def test_typical_mistakes_fail_the_test_made_for_them(qid, answer, failing):
    assert failing in failing_tests(qid, answer, seed=7)
