"""Optimisers and learning-rate schedules written out in NumPy (Chapter 3).

The optimisers update a list of NumPy arrays **in place**, given their gradients, exactly as
``torch.optim`` updates parameter tensors: ``SGD`` (batch or mini-batch gradient descent, with
optional momentum, Nesterov momentum and L2 weight decay), ``Adagrad`` and ``RMSprop``
(per-coordinate step sizes), ``Adam`` (with bias correction) and ``AdamW`` (decoupled weight
decay). tests/test_optim.py checks each against ``torch.optim`` and each schedule against
``torch.optim.lr_scheduler``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np


class Optimizer:
    """Holds the parameter arrays; ``step(grads)`` changes them in place. ``lr`` may be changed."""

    def __init__(self, params: Sequence[np.ndarray], lr: float) -> None:
        if lr < 0:
            raise ValueError(f"learning rate must be >= 0, got {lr}")
        self.params = list(params)
        for p in self.params:
            if not (isinstance(p, np.ndarray) and p.dtype.kind == "f"):
                raise TypeError("parameters must be NumPy float arrays (they are updated in place)")
        self.lr = lr
        self.t = 0  # number of steps taken

    def _check(self, grads: Sequence[np.ndarray]) -> list[np.ndarray]:
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"expected {len(self.params)} gradients, got {len(grads)}")
        for p, g in zip(self.params, grads, strict=True):
            if np.shape(g) != p.shape:
                raise ValueError(f"gradient of shape {np.shape(g)} for a parameter of shape {p.shape}")
        return grads

    def step(self, grads: Sequence[np.ndarray]) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Gradient descent p -= lr * g; with ``momentum`` the velocity v = momentum * v + g is used.

    Plain batch gradient descent and mini-batch SGD are the same update: they differ only in how
    many samples the gradient was averaged over. ``weight_decay`` adds ``weight_decay * p`` to g.
    """

    def __init__(self, params: Sequence[np.ndarray], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(params, lr)
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov
        self.velocity = [np.zeros_like(p) for p in self.params]

    def step(self, grads: Sequence[np.ndarray]) -> None:
        self.t += 1
        for p, g, v in zip(self.params, self._check(grads), self.velocity, strict=True):
            g = g + self.weight_decay * p if self.weight_decay else g
            if self.momentum:
                v *= self.momentum
                v += g
                g = g + self.momentum * v if self.nesterov else v
            p -= self.lr * g


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): each coordinate's step is divided by the root of the sum of
    all its squared gradients so far, so the step only shrinks. Same rule as ``torch.optim.Adagrad``."""

    def __init__(self, params: Sequence[np.ndarray], lr: float = 1e-2, eps: float = 1e-10) -> None:
        super().__init__(params, lr)
        self.eps = eps
        self.sum_sq = [np.zeros_like(p) for p in self.params]

    def step(self, grads: Sequence[np.ndarray]) -> None:
        self.t += 1
        for p, g, s in zip(self.params, self._check(grads), self.sum_sq, strict=True):
            s += g * g
            p -= self.lr * g / (np.sqrt(s) + self.eps)


class RMSprop(Optimizer):
    """RMSProp (Tieleman & Hinton, 2012): like Adagrad, but an exponential moving average of g^2
    (decay ``alpha``) replaces the sum, so old gradients are forgotten.
    Same rule as ``torch.optim.RMSprop``."""

    def __init__(self, params: Sequence[np.ndarray], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8) -> None:
        super().__init__(params, lr)
        self.alpha, self.eps = alpha, eps
        self.mean_sq = [np.zeros_like(p) for p in self.params]

    def step(self, grads: Sequence[np.ndarray]) -> None:
        self.t += 1
        for p, g, v in zip(self.params, self._check(grads), self.mean_sq, strict=True):
            v *= self.alpha
            v += (1 - self.alpha) * g * g
            p -= self.lr * g / (np.sqrt(v) + self.eps)


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias correction; ``weight_decay`` is L2 added to the gradient."""

    def __init__(self, params: Sequence[np.ndarray], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.beta1, self.beta2 = betas
        self.eps, self.weight_decay = eps, weight_decay
        self.m = [np.zeros_like(p) for p in self.params]  # first moment (mean of g)
        self.v = [np.zeros_like(p) for p in self.params]  # second raw moment (mean of g^2)

    def _decay(self, p: np.ndarray, g: np.ndarray) -> np.ndarray:
        return g + self.weight_decay * p if self.weight_decay else g

    def step(self, grads: Sequence[np.ndarray]) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        for p, g, m, v in zip(self.params, self._check(grads), self.m, self.v, strict=True):
            g = self._decay(p, g)
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            m_hat = m / (1 - b1**self.t)
            v_hat = v / (1 - b2**self.t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): p *= 1 - lr * wd, then Adam."""

    def __init__(self, params: Sequence[np.ndarray], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)

    def _decay(self, p: np.ndarray, g: np.ndarray) -> np.ndarray:
        p *= 1 - self.lr * self.weight_decay  # shrink the weights; the gradient is left alone
        return g


# --- learning-rate schedules: the rate to use at step t (t = 0, 1, 2, ...) ---


def step_lr(t: int, base_lr: float, step_size: int, gamma: float = 0.1) -> float:
    """Multiply the rate by ``gamma`` every ``step_size`` steps (torch's StepLR)."""
    return base_lr * gamma ** (t // step_size)


def cosine_lr(t: int, base_lr: float, total_steps: int, min_lr: float = 0.0) -> float:
    """Half a cosine from ``base_lr`` at t = 0 to ``min_lr`` at ``total_steps``, then flat.

    Up to ``total_steps`` it equals torch's CosineAnnealingLR(T_max=total_steps, eta_min=min_lr).
    """
    t = min(t, total_steps)
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * t / total_steps)) / 2


def warmup_cosine_lr(t: int, base_lr: float, warmup_steps: int, total_steps: int,
                     min_lr: float = 0.0, start_factor: float = 0.0) -> float:
    """Linear warm-up from ``start_factor * base_lr`` to ``base_lr``, then cosine decay to ``min_lr``.

    Equals torch's SequentialLR of LinearLR(start_factor, total_iters=warmup_steps) and
    CosineAnnealingLR(T_max=total_steps - warmup_steps, eta_min=min_lr) (torch needs start_factor > 0).
    """
    if not 0 <= warmup_steps < total_steps:
        raise ValueError("need 0 <= warmup_steps < total_steps")
    if t < warmup_steps:
        return base_lr * (start_factor + (1 - start_factor) * t / warmup_steps)
    return cosine_lr(t - warmup_steps, base_lr, total_steps - warmup_steps, min_lr)


def minibatches(n: int, batch_size: int, rng: np.random.Generator | None = None
                ) -> Iterator[np.ndarray]:
    """Index arrays of one epoch: every sample exactly once, the last batch possibly smaller.

    With ``rng`` the order is ``rng.permutation(n)``; without, 0, 1, ..., n - 1.
    """
    if batch_size < 1 or n < 0:
        raise ValueError(f"need batch_size >= 1 and n >= 0, got batch_size={batch_size}, n={n}")
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]
