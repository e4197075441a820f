"""The building blocks of Chapter 4 written out in NumPy, one readable function each.

Each one matches its PyTorch counterpart (tests/test_numpy_nn.py checks them against
``torch.nn.functional`` and ``torch.optim``); the notebooks and the exercise checks use them.
"""

from __future__ import annotations

import numpy as np


def relu(z: np.ndarray) -> np.ndarray:
    """max(0, z), elementwise."""
    return np.maximum(z, 0)


def dense(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Affine layer z = W x + b for one vector x (in,) or a batch x (N, in); W is (out, in)."""
    return x @ W.T + b


def mlp_forward(x: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]], activation=relu):
    """Forward pass of an MLP; returns the list of (z, a) per layer (pre- and post-activation).

    The same ``activation`` follows every layer, as in the article's worked example.
    """
    cache = []
    a = x
    for W, b in layers:
        z = dense(a, W, b)
        a = activation(z)
        cache.append((z, a))
    return cache


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length of a convolution or pooling along one axis: floor((n+2p-d(k-1)-1)/s) + 1."""
    if min(n, kernel, stride, dilation) < 1 or padding < 0:
        raise ValueError("n, kernel, stride and dilation must be >= 1 and padding >= 0")
    size = (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    if size < 1:
        raise ValueError(f"kernel {kernel} (dilation {dilation}) does not fit an input of {n}")
    return size


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride: int = 1,
           padding: int = 0) -> np.ndarray:
    """2-D convolution as deep learning defines it (cross-correlation, no kernel flip).

    x: (N, C_in, H, W), w: (C_out, C_in, kH, kW), b: (C_out,). Same result as F.conv2d:
    out[n, o, i, j] = b[o] + sum_{c,p,q} w[o, c, p, q] * x[n, c, i*s + p, j*s + q].
    """
    if x.ndim != 4 or w.ndim != 4 or x.shape[1] != w.shape[1]:
        raise ValueError(f"expected x (N,C,H,W) and w (O,C,kH,kW) with equal C, got {x.shape}, {w.shape}")
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, _, h, wd = x.shape
    out_c, _, kh, kw = w.shape
    oh, ow = conv_output_size(h, kh, stride), conv_output_size(wd, kw, stride)
    out = np.zeros((n, out_c, oh, ow), dtype=np.result_type(x, w))
    for p in range(kh):  # loop over kernel offsets; each adds one shifted, weighted slice
        for q in range(kw):
            patch = x[:, :, p : p + stride * oh : stride, q : q + stride * ow : stride]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, p, q])
    if b is not None:
        out += b[None, :, None, None]
    return out


def max_pool2d(x: np.ndarray, kernel: int, stride: int | None = None) -> np.ndarray:
    """Max pooling over kernel×kernel windows (default stride = kernel), like F.max_pool2d.

    out[n, c, i, j] = max_{0<=p,q<k} x[n, c, i*s + p, j*s + q].
    """
    stride = stride or kernel
    n, c, h, w = x.shape
    oh, ow = conv_output_size(h, kernel, stride), conv_output_size(w, kernel, stride)
    out = np.full((n, c, oh, ow), -np.inf, dtype=x.dtype)
    for p in range(kernel):
        for q in range(kernel):
            out = np.maximum(out, x[:, :, p : p + stride * oh : stride, q : q + stride * ow : stride])
    return out


def rnn_step(x_t: np.ndarray, h_prev: np.ndarray, W_hh: np.ndarray, W_xh: np.ndarray,
             b_h: np.ndarray, activation=np.tanh) -> np.ndarray:
    """One step of a plain (Elman) RNN: h_t = act(W_hh h_{t-1} + W_xh x_t + b_h); batches allowed."""
    return activation(h_prev @ W_hh.T + x_t @ W_xh.T + b_h)


def sgd_step(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Plain gradient descent: theta - lr * grad (a new array)."""
    return theta - lr * grad


def adam_step(theta: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, t: int,
              lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
    """One Adam update with bias correction (Kingma & Ba, 2015), as torch.optim.Adam does it.

    ``t`` counts steps from 1. Returns new (theta, m, v); the inputs are not modified.
    """
    if t < 1:
        raise ValueError(f"Adam's step counter t starts at 1, got {t}")
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


# --- Chapter 3: numerically stable losses and the backward pass of a ReLU MLP ------------------


def _floats(a: np.ndarray) -> np.ndarray:
    """``a`` as an array, float64 if it holds integers; float32 and float64 are kept as they are."""
    a = np.asarray(a)
    return a if a.dtype.kind == "f" else a.astype(float)


def logsumexp(z: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """log(sum(exp(z))) along ``axis`` without overflow: m + log(sum(exp(z - m))), m = max(z)."""
    z = _floats(z)
    m = np.max(z, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # an all -inf row stays -inf instead of becoming nan
    with np.errstate(divide="ignore"):  # log(0) = -inf is the right answer for an all -inf row
        out = m + np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(z) = z - logsumexp(z), stable for any size of logits (like F.log_softmax)."""
    return _floats(z) - logsumexp(z, axis=axis, keepdims=True)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(z_k) / sum_j exp(z_j) along ``axis``, computed as exp(log_softmax) so it never overflows."""
    return np.exp(log_softmax(z, axis=axis))


def cross_entropy(logits: np.ndarray, targets: np.ndarray) -> float:
    """Mean over the batch of -log softmax(logits)[n, targets[n]] (F.cross_entropy).

    logits: (N, K) scores, targets: (N,) class indices in 0..K-1.
    """
    logits, targets = _floats(logits), np.asarray(targets)
    if logits.ndim != 2 or targets.shape != (logits.shape[0],):
        raise ValueError(f"expected logits (N, K) and targets (N,), got {logits.shape}, {targets.shape}")
    return float(-log_softmax(logits)[np.arange(len(targets)), targets].mean())


def binary_cross_entropy_with_logits(logits: np.ndarray, targets: np.ndarray) -> float:
    """Mean of -[y log s(z) + (1-y) log(1-s(z))], s = sigmoid, in the stable form
    max(z, 0) - z y + log(1 + exp(-|z|)) (F.binary_cross_entropy_with_logits)."""
    z, y = _floats(logits), _floats(targets)
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def mse_loss(prediction: np.ndarray, target: np.ndarray) -> float:
    """Mean squared error over all elements (F.mse_loss)."""
    diff = _floats(prediction) - _floats(target)
    return float(np.mean(diff**2))


def mlp_output(x: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Output of an MLP with ReLU after every hidden layer and a linear last layer (logits)."""
    a = x
    for i, (W, b) in enumerate(layers):
        z = dense(a, W, b)
        a = z if i == len(layers) - 1 else relu(z)
    return a


def mlp_backward(x: np.ndarray, y: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]],
                 loss: str = "cross_entropy"
                 ) -> tuple[float, list[tuple[np.ndarray, np.ndarray]]]:
    """Loss and its gradients [(dW, db) per layer] for the MLP of :func:`mlp_output`.

    x: (N, in). ``loss="cross_entropy"``: y holds class indices (N,), L = F.cross_entropy;
    ``loss="mse"``: y has the output's shape (N, out), L = F.mse_loss (mean over all elements).
    """
    if np.ndim(x) != 2:
        raise ValueError(f"x must be a batch (N, in), got shape {np.shape(x)}")
    activations, pre = [x], []  # forward pass, keeping what the backward pass needs
    for i, (W, b) in enumerate(layers):
        z = dense(activations[-1], W, b)
        pre.append(z)
        activations.append(z if i == len(layers) - 1 else relu(z))
    out = activations[-1]
    if loss == "cross_entropy":
        value = cross_entropy(out, y)
        delta = softmax(out)  # dL/dz = (softmax(z) - one_hot(y)) / N
        delta[np.arange(len(y)), y] -= 1
        delta /= len(y)
    elif loss == "mse":
        value = mse_loss(out, y)
        delta = 2 * (out - y) / out.size
    else:
        raise ValueError(f"loss must be 'cross_entropy' or 'mse', got {loss!r}")
    grads: list[tuple[np.ndarray, np.ndarray]] = []
    for i in range(len(layers) - 1, -1, -1):  # from the output back to the input
        grads.append((delta.T @ activations[i], delta.sum(axis=0)))
        if i > 0:
            delta = (delta @ layers[i][0]) * (pre[i - 1] > 0)  # through W, then ReLU'
    return value, grads[::-1]
