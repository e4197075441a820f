"""aibook.privacy: per-sample gradients against a loop of autograd, clipping, noise and epsilon."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from aibook.privacy import (
    clip_per_sample,
    dp_sgd_step,
    gaussian_epsilon,
    noisy_mean_gradient,
    per_sample_grads,
    per_sample_norms,
)


def _model_and_batch(batch: int = 6):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))
    return model, torch.randn(batch, 5), torch.randint(0, 3, (batch,))


def test_per_sample_grads_equal_a_loop_of_single_sample_autograd():
    model, x, y = _model_and_batch()
    grads = per_sample_grads(model, F.cross_entropy, x, y)
    for i in range(len(x)):
        model.zero_grad()
        F.cross_entropy(model(x[i : i + 1]), y[i : i + 1]).backward()
        for name, p in model.named_parameters():
            torch.testing.assert_close(grads[name][i], p.grad)


def test_clipping_bounds_every_norm_and_keeps_small_gradients():
    model, x, y = _model_and_batch()
    grads = per_sample_grads(model, F.cross_entropy, x, y)
    norms = per_sample_norms(grads)
    threshold = float(norms.median())
    clipped_norms = per_sample_norms(clip_per_sample(grads, threshold))
    assert (clipped_norms <= threshold * (1 + 1e-5)).all()
    small = norms < threshold
    torch.testing.assert_close(clipped_norms[small], norms[small])
    with pytest.raises(ValueError, match="positive"):
        clip_per_sample(grads, 0.0)


def test_without_noise_the_update_is_the_mean_of_clipped_gradients():
    model, x, y = _model_and_batch()
    grads = per_sample_grads(model, F.cross_entropy, x, y)
    mean = noisy_mean_gradient(grads, 1e6, 0.0)
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()  # mean loss: its gradient is the mean of per-sample ones
    for name, p in model.named_parameters():
        torch.testing.assert_close(mean[name], p.grad)


def test_noise_has_the_stated_standard_deviation():
    grads = {"w": torch.zeros(4, 20_000)}
    noisy = noisy_mean_gradient(grads, 0.5, 2.0, torch.Generator().manual_seed(0))["w"]
    assert float(noisy.mean()) == pytest.approx(0.0, abs=0.01)
    assert float(noisy.std()) == pytest.approx(2.0 * 0.5 / 4, rel=0.02)


def test_dp_sgd_step_changes_the_model_and_is_reproducible():
    model, x, y = _model_and_batch()
    before = [p.clone() for p in model.parameters()]
    dp_sgd_step(model, F.cross_entropy, x, y, 0.1, 1.0, 1.0, torch.Generator().manual_seed(1))
    first = [p.clone() for p in model.parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(before, first, strict=True))
    with torch.no_grad():
        for p, b in zip(model.parameters(), before, strict=True):
            p.copy_(b)
    dp_sgd_step(model, F.cross_entropy, x, y, 0.1, 1.0, 1.0, torch.Generator().manual_seed(1))
    for a, b in zip(first, model.parameters(), strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("sigma, steps, delta", [(1.0, 100, 1e-5), (4.0, 1000, 1e-6), (0.7, 10, 1e-3)])
def test_epsilon_matches_the_closed_form_optimum(sigma, steps, delta):
    # min over alpha of T alpha / (2 s^2) + log(1/d) / (alpha - 1): alpha = 1 + sqrt(2 s^2 log(1/d) / T)
    closed = steps / (2 * sigma**2) + math.sqrt(2 * steps * math.log(1 / delta)) / sigma
    assert gaussian_epsilon(sigma, steps, delta, orders=np.linspace(1.001, 2000, 2_000_000)) == pytest.approx(
        closed, rel=1e-4)


def test_epsilon_grows_with_steps_and_shrinks_with_noise():
    assert gaussian_epsilon(1.0, 200, 1e-5) > gaussian_epsilon(1.0, 100, 1e-5)
    assert gaussian_epsilon(2.0, 100, 1e-5) < gaussian_epsilon(1.0, 100, 1e-5)
    assert gaussian_epsilon(0.0, 10, 1e-5) == math.inf
    with pytest.raises(ValueError, match="delta"):
        gaussian_epsilon(1.0, 10, 1.5)
