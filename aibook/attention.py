"""Attention from scratch: scaled dot-product and multi-head attention, the causal mask,
sinusoidal positional encodings and a tiny Transformer encoder (Chapter 2).

Every function follows PyTorch's conventions (boolean masks: ``True`` = may attend), so each
can be checked against ``torch.nn.functional.scaled_dot_product_attention`` and
``torch.nn.MultiheadAttention``.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (softmax(q k^T / sqrt(d)) v, attention weights); ``mask`` False = not attended.

    Shapes: q (..., n, d), k (..., m, d), v (..., m, d_v), mask broadcastable to (..., n, m).
    A row whose keys are all masked gets NaN weights, as in PyTorch.
    """
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k need the same last dimension, got {q.shape[-1]} and {k.shape[-1]}")
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask.bool(), float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def causal_mask(n: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Boolean (n, n) mask, True on and below the diagonal: position i sees positions 0..i."""
    if n < 1:
        raise ValueError(f"sequence length must be >= 1, got {n}")
    return torch.ones(n, n, dtype=torch.bool, device=device).tril()


def sinusoidal_positional_encoding(n_positions: int, d_model: int) -> torch.Tensor:
    """(n_positions, d_model) encodings of Vaswani et al. (2017): sin on even, cos on odd columns."""
    if d_model % 2:
        raise ValueError(f"d_model must be even, got {d_model}")
    pos = torch.arange(n_positions, dtype=torch.float64)[:, None]
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    pe = torch.zeros(n_positions, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe.float()


class MultiHeadAttention(nn.Module):
    """Multi-head self/cross attention written out; same parameters as ``nn.MultiheadAttention``
    (batch_first), so :meth:`load_from` makes both compute the same function."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.d_model, self.n_heads = d_model, n_heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape  # (b, n, d) -> (b, heads, n, d / heads)
        return x.view(b, n, self.n_heads, self.d_model // self.n_heads).transpose(1, 2)

    def forward(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (output (b, n, d), weights (b, heads, n, m)); ``mask`` True = may attend."""
        q = self._split(self.q_proj(query))
        k, v = self._split(self.k_proj(key)), self._split(self.v_proj(value))
        out, weights = scaled_dot_product_attention(q, k, v, mask)
        b, _, n, _ = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(b, n, self.d_model)), weights

    @torch.no_grad()
    def load_from(self, mha: nn.MultiheadAttention) -> MultiHeadAttention:
        """Copy the weights of a ``nn.MultiheadAttention`` (packed in_proj) into this module."""
        for i, proj in enumerate((self.q_proj, self.k_proj, self.v_proj)):
            rows = slice(i * self.d_model, (i + 1) * self.d_model)
            proj.weight.copy_(mha.in_proj_weight[rows])
            proj.bias.copy_(mha.in_proj_bias[rows])
        self.out_proj.weight.copy_(mha.out_proj.weight)
        self.out_proj.bias.copy_(mha.out_proj.bias)
        return self


class TransformerBlock(nn.Module):
    """Pre-norm Transformer block: x + MHA(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, n_heads)
        self.mlp = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model))
        self.last_weights: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.norm1(x)
        a, self.last_weights = self.attn(h, h, h, mask)
        x = x + a
        return x + self.mlp(self.norm2(x))


class TinyTransformer(nn.Module):
    """Token embedding + sinusoidal positions + ``n_layers`` blocks + a per-position classifier."""

    def __init__(self, vocab: int, max_len: int, d_model: int = 64, n_heads: int = 4, n_layers: int = 2,
                 d_ff: int = 128, causal: bool = False):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.register_buffer("pe", sinusoidal_positional_encoding(max_len, d_model), persistent=False)
        self.blocks = nn.ModuleList(TransformerBlock(d_model, n_heads, d_ff) for _ in range(n_layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)
        self.causal, self.max_len = causal, max_len

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (b, n, vocab) for integer tokens (b, n)."""
        n = tokens.shape[1]
        if n > self.max_len:
            raise ValueError(f"sequence of length {n} is longer than max_len={self.max_len}")
        x = self.embed(tokens) + self.pe[:n]
        mask = causal_mask(n, tokens.device) if self.causal else None
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.norm(x))

    def attention_maps(self) -> list[torch.Tensor]:
        """The attention weights (b, heads, n, n) of each block from the last forward pass."""
        return [b.last_weights for b in self.blocks if b.last_weights is not None]


def reversal_task(n: int, length: int, vocab: int = 10, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Synthetic task: ``n`` random digit strings (n, length) and their reversals as targets."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, vocab, (n, length), generator=g)
    return x, x.flip(1)


def sequence_accuracy(logits: torch.Tensor, targets: torch.Tensor) -> tuple[float, float]:
    """(token accuracy, whole-sequence accuracy) of logits (b, n, vocab) against targets (b, n)."""
    hit = logits.argmax(-1) == targets
    return hit.float().mean().item(), hit.all(dim=1).float().mean().item()
