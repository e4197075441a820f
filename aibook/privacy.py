"""DP-SGD from scratch (Chapter 8): per-sample gradients, clipping, Gaussian noise, a privacy bound.

``per_sample_grads`` computes one gradient per example with ``torch.func`` (functional_call +
vmap + grad); ``clip_per_sample`` bounds each example's gradient norm by ``max_norm``;
``noisy_mean_gradient`` adds Gaussian noise of standard deviation ``noise_multiplier * max_norm``
to their sum (Abadi et al., 2016). ``gaussian_epsilon`` is a conservative (epsilon, delta) bound
for ``steps`` such steps from Renyi-DP composition, without the amplification by subsampling.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, vmap

Grads = dict[str, torch.Tensor]


def per_sample_grads(model: nn.Module, loss_fn: Callable, x: torch.Tensor, y: torch.Tensor) -> Grads:
    """Gradient of ``loss_fn`` for each example separately: name -> tensor of shape (batch, *param)."""
    params = {name: p.detach() for name, p in model.named_parameters()}
    buffers = {name: b.detach() for name, b in model.named_buffers()}

    def loss_of_one(p: Grads, xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, (p, buffers), (xi.unsqueeze(0),))
        return loss_fn(out, yi.unsqueeze(0))

    return vmap(grad(loss_of_one), in_dims=(None, 0, 0))(params, x, y)


def per_sample_norms(grads: Grads) -> torch.Tensor:
    """L2 norm of each example's whole gradient (all parameters together), shape (batch,)."""
    flat = torch.cat([g.reshape(g.shape[0], -1) for g in grads.values()], dim=1)
    return flat.norm(dim=1)


def clip_per_sample(grads: Grads, max_norm: float) -> Grads:
    """Scale each example's gradient to norm at most ``max_norm`` (gradients already smaller stay)."""
    if max_norm <= 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    scale = (max_norm / (per_sample_norms(grads) + 1e-12)).clamp(max=1.0)
    return {name: g * scale.view(-1, *([1] * (g.dim() - 1))) for name, g in grads.items()}


def noisy_mean_gradient(grads: Grads, max_norm: float, noise_multiplier: float,
                        generator: torch.Generator | None = None) -> Grads:
    """DP-SGD's gradient: (sum of clipped per-example gradients + N(0, (sigma·C)^2)) / batch size."""
    if noise_multiplier < 0:
        raise ValueError(f"noise_multiplier must be >= 0, got {noise_multiplier}")
    clipped = clip_per_sample(grads, max_norm)
    out = {}
    for name, g in clipped.items():
        noise = torch.randn(g.shape[1:], generator=generator, dtype=g.dtype) * (noise_multiplier * max_norm)
        out[name] = (g.sum(dim=0) + noise.to(g.device)) / g.shape[0]
    return out


def dp_sgd_step(model: nn.Module, loss_fn: Callable, x: torch.Tensor, y: torch.Tensor, lr: float,
                max_norm: float, noise_multiplier: float, generator: torch.Generator | None = None) -> None:
    """One DP-SGD update of ``model`` in place: per-example gradients, clip, add noise, SGD step."""
    update = noisy_mean_gradient(per_sample_grads(model, loss_fn, x, y), max_norm, noise_multiplier,
                                 generator)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p -= lr * update[name]


def gaussian_epsilon(noise_multiplier: float, steps: int, delta: float,
                     orders: np.ndarray | None = None) -> float:
    """Epsilon of ``steps`` Gaussian-mechanism steps at noise ``sigma`` for a given delta.

    Each step is (alpha, alpha / (2 sigma^2))-Renyi-DP; ``steps`` of them compose additively, and
    epsilon = min over alpha of steps·alpha/(2 sigma^2) + log(1/delta)/(alpha - 1) (Mironov, 2017).
    Subsampling is ignored, so this is an upper bound: it holds whatever the batches are.
    """
    if noise_multiplier <= 0:
        return float("inf")
    if steps < 0 or not 0 < delta < 1:
        raise ValueError("steps must be >= 0 and delta in (0, 1)")
    alphas = np.asarray(orders if orders is not None else np.concatenate(
        [np.linspace(1.01, 10, 900), np.geomspace(10, 10_000, 400)]), dtype=float)
    eps = steps * alphas / (2 * noise_multiplier**2) + np.log(1 / delta) / (alphas - 1)
    return float(eps.min())
