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
