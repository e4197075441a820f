"""Pruning, quantisation, size and distillation helpers against torch references."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune

from aibook.compression import (
    Int8Linear,
    dequantize_weight_int8,
    distillation_loss,
    interleaved_latencies,
    latency_per_batch,
    magnitude_prune,
    model_size_bytes,
    quantize_int8,
    quantize_weight_int8,
    quantize_weights_int8,
    sparse_size_bytes,
    sparsity,
    tensor_bytes,
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


def test_int8_weight_round_trip_is_within_half_a_step_and_equals_torch_per_channel():
    torch.manual_seed(0)
    w = torch.randn(32, 48) * torch.logspace(-3, 1, 32)[:, None]  # rows of very different ranges
    w[5] = 0.0  # an all-zero row must not divide by zero
    q, scale = quantize_weight_int8(w)
    assert q.dtype == torch.int8 and scale.shape == (32,)
    assert int(q.abs().max()) == 127 and int(q[5].abs().max()) == 0
    err = (dequantize_weight_int8(q, scale) - w).abs()
    assert bool((err <= scale[:, None] / 2 + 1e-7 * w.abs()).all())  # the bound, row by row
    assert (err / scale[:, None]).max().item() > 0.45  # and it is nearly reached: a tight bound
    # independent reference: torch's per-channel affine quantiser with zero point 0
    ref = torch.quantize_per_channel(w, scale.double(), torch.zeros(32, dtype=torch.long), 0, torch.qint8)
    torch.testing.assert_close(ref.int_repr(), q, rtol=0, atol=0)


def test_int8_linear_model_is_about_four_times_smaller_and_close():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(128, 256), nn.GELU(), nn.Linear(256, 128))
    x = torch.randn(16, 128)
    expected = model(x).detach()
    before = tensor_bytes(model)
    names = quantize_weights_int8(model)
    assert names == ["0", "2"] and isinstance(model[0], Int8Linear)
    after = tensor_bytes(model)
    weights, others = 2 * 128 * 256, 256 + 128 + 256 + 128  # int8 weights; float biases and scales
    assert before == 4 * (weights + 256 + 128)
    assert after == weights + 4 * others
    torch.testing.assert_close(model(x), expected, rtol=0.02, atol=0.02)
    assert model_size_bytes(model) < 0.3 * (before + 4096)


def test_quantize_weights_int8_can_skip_a_tied_head():
    emb = nn.Embedding(10, 8)
    model = nn.ModuleDict({"emb": emb, "fc": nn.Linear(8, 8), "lm_head": nn.Linear(8, 10, bias=False)})
    model["lm_head"].weight = emb.weight  # tied, as in a GPT
    before = tensor_bytes(model)
    assert before == 4 * (80 + 64 + 8)  # the shared matrix counted once
    assert quantize_weights_int8(model, skip=("lm_head",)) == ["fc"]
    assert model["lm_head"].weight is emb.weight
    assert tensor_bytes(model) == before - 4 * 64 + 64 + 4 * 8
    with pytest.raises(ValueError, match="2-D"):
        quantize_weight_int8(torch.ones(3))


def test_int8_weights_of_a_gpt_quarter_its_linear_layers_and_keep_its_logits():
    from aibook.gpt import GPT, GPTConfig

    torch.manual_seed(0)
    gpt = GPT(GPTConfig(vocab_size=50, context=16, n_layers=2, d_model=32, n_heads=2)).eval()
    idx = torch.randint(0, 50, (2, 16))
    expected = gpt(idx).detach()
    before = tensor_bytes(gpt)
    linear = sum(m.weight.numel() for n, m in gpt.named_modules() if type(m) is nn.Linear and n != "head")
    names = quantize_weights_int8(gpt, skip=("head",))
    assert len(names) == 8 and gpt.head.weight is gpt.token.weight
    scales = sum(m.scale.numel() for m in gpt.modules() if isinstance(m, Int8Linear))
    assert tensor_bytes(gpt) == before - 3 * linear + 4 * scales  # 4 bytes -> 1 byte per weight, + scales
    torch.testing.assert_close(gpt(idx), expected, rtol=0, atol=0.01)
