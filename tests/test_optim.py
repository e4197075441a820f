"""The NumPy optimisers and schedules against torch.optim and torch.optim.lr_scheduler."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from aibook import numpy_nn as nn_np
from aibook import optim

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 3))
Y = rng.integers(0, 4, size=40)
LAYERS = [(rng.normal(size=(6, 3)), rng.normal(size=6)), (rng.normal(size=(4, 6)), rng.normal(size=4))]


def max_difference_after(ours_cls, torch_cls, kwargs, steps=100):
    """Train the same MLP with both optimisers on the same batches; largest parameter difference."""
    params = [a.copy() for layer in LAYERS for a in layer]
    tparams = [torch.tensor(a, requires_grad=True) for a in params]
    ours, ref = ours_cls(params, **kwargs), torch_cls(tparams, **kwargs)
    worst = 0.0
    for step in range(steps):
        idx = np.arange(step * 8, step * 8 + 8) % len(X)
        _, grads = nn_np.mlp_backward(X[idx], Y[idx], [(params[0], params[1]), (params[2], params[3])])
        ours.step([g for pair in grads for g in pair])
        ref.zero_grad()
        hidden = torch.relu(torch.tensor(X[idx]) @ tparams[0].T + tparams[1])
        F.cross_entropy(hidden @ tparams[2].T + tparams[3], torch.tensor(Y[idx])).backward()
        ref.step()
        worst = max(worst, *(np.abs(a - t.detach().numpy()).max()
                                   for a, t in zip(params, tparams, strict=True)))
    return worst


@pytest.mark.parametrize("ours_cls, torch_cls, kwargs", [
    (optim.SGD, torch.optim.SGD, {"lr": 0.1}),
    (optim.SGD, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    (optim.SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (optim.Adam, torch.optim.Adam, {"lr": 0.01}),
    (optim.Adam, torch.optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    (optim.AdamW, torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.1}),
    (optim.Adagrad, torch.optim.Adagrad, {"lr": 0.1}),
    (optim.Adagrad, torch.optim.Adagrad, {"lr": 0.05, "eps": 1e-6}),
    (optim.RMSprop, torch.optim.RMSprop, {"lr": 0.01}),
    (optim.RMSprop, torch.optim.RMSprop, {"lr": 0.005, "alpha": 0.9, "eps": 1e-6}),
], ids=["sgd", "momentum", "nesterov-l2", "adam", "adam-options-l2", "adamw", "adagrad", "adagrad-eps",
        "rmsprop", "rmsprop-options"])
def test_optimisers_match_torch_for_100_steps(ours_cls, torch_cls, kwargs):
    assert max_difference_after(ours_cls, torch_cls, kwargs) < 1e-10


def test_optimiser_checks_its_inputs():
    p = np.zeros(3)
    with pytest.raises(TypeError, match="float arrays"):
        optim.SGD([np.zeros(3, dtype=int)], lr=0.1)
    with pytest.raises(ValueError, match="learning rate"):
        optim.Adam([p], lr=-1)
    with pytest.raises(ValueError, match="expected 1 gradients"):
        optim.SGD([p], lr=0.1).step([])
    with pytest.raises(ValueError, match="shape"):
        optim.AdamW([p], lr=0.1).step([np.zeros(2)])
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(NotImplementedError):
        optim.Optimizer([p], lr=0.1).step([np.zeros(3)])


def test_updates_are_in_place_and_the_rate_can_change():
    p = np.ones(2)
    sgd = optim.SGD([p], lr=0.5)
    sgd.step([np.ones(2)])
    sgd.lr = 0.25
    sgd.step([np.ones(2)])
    np.testing.assert_allclose(p, [0.25, 0.25])
    assert sgd.t == 2


def torch_rates(make_scheduler, steps, base_lr=0.1):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    scheduler = make_scheduler(opt)
    rates = []
    for _ in range(steps):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return np.array(rates)


def test_step_lr_matches_torch():
    ref = torch_rates(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5), 30)
    np.testing.assert_allclose([optim.step_lr(t, 0.1, 7, 0.5) for t in range(30)], ref, rtol=1e-12)


def test_cosine_lr_matches_torch_then_stays_at_the_minimum():
    ref = torch_rates(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 25, eta_min=1e-3), 26)
    ours = [optim.cosine_lr(t, 0.1, 25, 1e-3) for t in range(26)]
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-14)
    assert optim.cosine_lr(40, 0.1, 25, 1e-3) == pytest.approx(1e-3)


def test_warmup_cosine_lr_matches_torch_sequential_lr():
    def make(o):
        warm = torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=5)
        cos = torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=15, eta_min=1e-3)
        return torch.optim.lr_scheduler.SequentialLR(o, [warm, cos], milestones=[5])

    ref = torch_rates(make, 20)
    ours = [optim.warmup_cosine_lr(t, 0.1, 5, 20, 1e-3, start_factor=0.1) for t in range(20)]
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-14)
    assert optim.warmup_cosine_lr(0, 0.1, 5, 20) == 0.0
    assert optim.warmup_cosine_lr(3, 0.1, 0, 20) == optim.cosine_lr(3, 0.1, 20)
    with pytest.raises(ValueError):
        optim.warmup_cosine_lr(0, 0.1, 20, 20)


@pytest.mark.parametrize("n, batch_size", [(10, 3), (12, 4), (5, 8), (1, 1), (0, 4)])
def test_minibatches_cover_every_sample_once(n, batch_size):
    batches = list(optim.minibatches(n, batch_size, np.random.default_rng(0)))
    assert len(batches) == -(-n // batch_size)
    assert all(len(b) == batch_size for b in batches[:-1])
    np.testing.assert_array_equal(np.sort(np.concatenate(batches or [np.array([], int)])), np.arange(n))
    in_order = np.concatenate(list(optim.minibatches(n, batch_size)) or [np.array([], int)])
    np.testing.assert_array_equal(in_order, np.arange(n))


def test_minibatches_rejects_bad_sizes():
    with pytest.raises(ValueError, match="batch_size"):
        list(optim.minibatches(10, 0))
