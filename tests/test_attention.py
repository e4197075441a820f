"""Attention from scratch agrees with PyTorch's implementations."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from aibook.attention import (
    MultiHeadAttention,
    TinyTransformer,
    causal_mask,
    reversal_task,
    scaled_dot_product_attention,
    sequence_accuracy,
    sinusoidal_positional_encoding,
)


def test_sdpa_matches_torch_with_and_without_mask():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 8, generator=g) for _ in range(3))
    random_mask = (torch.rand(5, 5, generator=g) > 0.3) | torch.eye(5, dtype=torch.bool)
    for mask in (None, causal_mask(5), random_mask):
        out, w = scaled_dot_product_attention(q, k, v, mask)
        ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 5))


def test_sdpa_rejects_mismatched_dims():
    with pytest.raises(ValueError, match="same last dimension"):
        scaled_dot_product_attention(torch.zeros(1, 2, 3), torch.zeros(1, 2, 4), torch.zeros(1, 2, 4))


def test_causal_mask_shape_and_values():
    m = causal_mask(4)
    assert m.dtype == torch.bool and m.tolist()[1] == [True, True, False, False]
    assert causal_mask(1).tolist() == [[True]]
    with pytest.raises(ValueError):
        causal_mask(0)


def test_causal_mask_hides_the_future():
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(1, 6, 4, generator=g) for _ in range(3))
    k2, v2 = k.clone(), v.clone()
    k2[:, 4:], v2[:, 4:] = 9.0, -9.0  # change the future only
    a, _ = scaled_dot_product_attention(q, k, v, causal_mask(6))
    b, _ = scaled_dot_product_attention(q, k2, v2, causal_mask(6))
    torch.testing.assert_close(a[:, :4], b[:, :4])
    assert not torch.allclose(a[:, 4:], b[:, 4:])


def test_multi_head_matches_nn_multiheadattention():
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(16, 4, batch_first=True)
    mine = MultiHeadAttention(16, 4).load_from(ref)
    x, y = torch.randn(3, 7, 16), torch.randn(3, 5, 16)
    mask = causal_mask(7)
    out, w = mine(x, x, x, mask)
    ref_out, ref_w = ref(x, x, x, attn_mask=~mask, average_attn_weights=False)
    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(w, ref_w, rtol=1e-5, atol=1e-5)
    out, _ = mine(x, y, y)  # cross attention, 5 keys
    torch.testing.assert_close(out, ref(x, y, y)[0], rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(10, 4)


def test_positional_encoding_formula():
    pe = sinusoidal_positional_encoding(50, 8)
    assert pe.shape == (50, 8)
    pos = 7  # column 2i = 4 is sin(pos / 10000^(4/8)) = sin(pos / 100), column 5 the cos
    assert pe[pos, 4].item() == pytest.approx(torch.sin(torch.tensor(pos / 100.0)).item(), abs=1e-6)
    assert pe[pos, 5].item() == pytest.approx(torch.cos(torch.tensor(pos / 100.0)).item(), abs=1e-6)
    with pytest.raises(ValueError):
        sinusoidal_positional_encoding(4, 5)


def test_tiny_transformer_shapes_and_causality():
    torch.manual_seed(0)
    m = TinyTransformer(10, 6, d_model=16, n_heads=2, n_layers=2, d_ff=32, causal=True).eval()
    x, y = reversal_task(4, 6, seed=0)
    assert torch.equal(y, x.flip(1))
    logits = m(x)
    assert logits.shape == (4, 6, 10)
    x2 = x.clone()
    x2[:, 3:] = (x2[:, 3:] + 1) % 10
    torch.testing.assert_close(m(x2)[:, :3], logits[:, :3])
    assert [w.shape for w in m.attention_maps()] == [(4, 2, 6, 6)] * 2
    with pytest.raises(ValueError, match="max_len"):
        m(torch.zeros(1, 7, dtype=torch.long))


def test_sequence_accuracy():
    targets = torch.tensor([[1, 2], [3, 4]])
    logits = F.one_hot(torch.tensor([[1, 2], [3, 0]]), 5).float()
    assert sequence_accuracy(logits, targets) == (0.75, 0.5)
