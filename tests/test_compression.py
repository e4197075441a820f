"""Pruning, quantisation, size and distillation helpers against torch references."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune

from aibook.compression import (
    distillation_loss,
    interleaved_latencies,
    latency_per_batch,
    magnitude_prune,
    model_size_bytes,
    quantize_int8,
    sparse_size_bytes,
    sparsity,
)


@pytest.mark.parametrize("amount", [0.0, 0.3, 0.5, 0.9, 1.0])
def test_magnitude_prune_matches_torch_l1_unstructured(amount):
    torch.manual_seed(0)
    layer = nn.Linear(20, 10)
    w = layer.weight.detach().clone()
    prune.l1_unstructured(layer, "weight", amount=amount)
    ours = magnitude_prune(w, amount)
    torch.testing.assert_close(ours, layer.weight.detach())
    assert int((ours == 0).sum()) == round(amount * w.numel())
    torch.testing.assert_close(w, layer.weight_orig.detach())  # input untouched


def test_magnitude_prune_rejects_bad_amount():
    with pytest.raises(ValueError, match="fraction"):
        magnitude_prune(torch.ones(3), 1.5)


def test_sparsity_and_sizes():
    model = nn.Sequential(nn.Linear(100, 50), nn.ReLU(), nn.Linear(50, 10))
    assert sparsity(model) == 0.0
    dense = model_size_bytes(model)
    assert dense > 4 * (100 * 50 + 50 * 10)
    for m in (model[0], model[2]):
        prune.l1_unstructured(m, "weight", amount=0.9)
        prune.remove(m, "weight")
    assert sparsity(model) == pytest.approx(0.9, abs=1e-3)
    assert model_size_bytes(model) == pytest.approx(dense, rel=0.01)  # zeros still take 4 bytes
    assert sparse_size_bytes(model) < 0.5 * dense


def test_quantize_int8_is_smaller_and_close():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    q = quantize_int8(model)
    assert model_size_bytes(q) < 0.5 * model_size_bytes(model)
    x = torch.randn(8, 64)
    torch.testing.assert_close(q(x), model(x), rtol=0.1, atol=0.05)
    assert latency_per_batch(q, x, repeats=3) > 0


def test_interleaved_latencies_times_every_model_every_round_without_grad():
    calls = []

    class Recorder(nn.Module):
        def __init__(self, name):
            super().__init__()
            self.name, self.layer = name, nn.Linear(4, 2)

        def forward(self, x):
            calls.append((self.name, torch.is_grad_enabled()))
            return self.layer(x)

    times = interleaved_latencies({"a": Recorder("a"), "b": Recorder("b")}, torch.randn(3, 4), rounds=4)
    assert {k: len(v) for k, v in times.items()} == {"a": 4, "b": 4}
    assert all(t > 0 for v in times.values() for t in v)
    assert [name for name, _ in calls] == ["a", "b"] + ["a", "b"] * 4  # warm-ups, then interleaved
    assert not any(grad for _, grad in calls)


def test_distillation_loss_matches_formula():
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    y = torch.randint(0, 5, (6,), generator=g)
    T, a = 3.0, 0.7
    p, q = F.softmax(t / T, -1), F.log_softmax(s / T, -1)
    kl = (p * (p.log() - q)).sum(-1).mean()
    expected = a * T * T * kl + (1 - a) * F.cross_entropy(s, y)
    torch.testing.assert_close(distillation_loss(s, t, y, T, a), expected)
    assert distillation_loss(t, t, y, T, 1.0).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError):
        distillation_loss(s, t, y, temperature=0.0)
