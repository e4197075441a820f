"""Chapter 2's question bank: typical mistakes, each caught by the test written for it.

The checks every chapter shares (sync, points, any seed, "not done") are in test_exercises.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from aibook.grader.check import failing_tests


def _softmax_rows(s):
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def attention_unscaled(q, k, v, mask=None):
    s = q @ np.swapaxes(k, -1, -2)
    return _softmax_rows(s if mask is None else np.where(mask, s, -np.inf)) @ v


def attention_mask_ignored(q, k, v, mask=None):
    return _softmax_rows(q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])) @ v


def attention_naive_exp(q, k, v, mask=None):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(s if mask is None else np.where(mask, s, -np.inf))
        return e / e.sum(axis=-1, keepdims=True) @ v


def attention_transpose_k(q, k, v, mask=None):
    s = q @ k.T / np.sqrt(q.shape[-1])  # .T reverses every axis of a batch
    return _softmax_rows(s if mask is None else np.where(mask, s, -np.inf)) @ v


def causal_mask_upper(n):
    if n < 1:
        raise ValueError("n")
    return np.triu(np.ones((n, n), dtype=bool))


def causal_mask_no_check(n):
    return np.tril(np.ones((n, n), dtype=bool))


def pe_exponent_i(n_positions, d_model):
    if d_model % 2:
        raise ValueError("odd")
    p = np.arange(n_positions)[:, None]
    angle = p / 10000.0 ** (np.arange(d_model // 2) / d_model)  # i / d instead of 2i / d
    pe = np.zeros((n_positions, d_model))
    pe[:, 0::2], pe[:, 1::2] = np.sin(angle), np.cos(angle)
    return pe


def layer_norm_whole_array(x, gamma, beta, eps=1e-5):
    return gamma * (x - x.mean()) / np.sqrt(x.var() + eps) + beta


def layer_norm_unbiased(x, gamma, beta, eps=1e-5):
    mu, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, ddof=1, keepdims=True)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def layer_norm_eps_outside(x, gamma, beta, eps=1e-5):
    mu, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
    return gamma * (x - mu) / (np.sqrt(var) + eps) + beta


def pca_not_centred(x, k):
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return x @ vt[:k].T @ vt[:k]


def prune_signed(w, amount):
    if not 0 <= amount <= 1:
        raise ValueError("amount")
    out = np.array(w, dtype=float)
    flat = out.reshape(-1)
    flat[np.argsort(flat)[: round(amount * flat.size)]] = 0.0  # smallest w, not smallest |w|
    return out


def prune_in_place(w, amount):
    if not 0 <= amount <= 1:
        raise ValueError("amount")
    flat = w.reshape(-1)
    flat[np.argsort(np.abs(flat))[: round(amount * flat.size)]] = 0.0
    return w


def prune_int_count(w, amount):
    if not 0 <= amount <= 1:
        raise ValueError("amount")
    out = np.array(w, dtype=float)
    flat = out.reshape(-1)
    flat[np.argsort(np.abs(flat))[: int(amount * flat.size)]] = 0.0
    return out


def quantize_truncating(w):
    peak = float(np.abs(w).max())
    scale = peak / 127.0 if peak > 0 else 1.0
    return (w / scale).astype(np.int8), scale


def quantize_zero_division(w):
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = float(np.abs(w).max()) / 127.0
        return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def distill_without_t_squared(s, t, y, temperature, alpha):
    lt, ls = _log_softmax(t / temperature), _log_softmax(s / temperature)
    kl = (np.exp(lt) * (lt - ls)).sum(axis=1).mean()
    return float(alpha * kl + (1 - alpha) * -_log_softmax(s)[np.arange(len(y)), y].mean())


def distill_kl_mean_over_all(s, t, y, temperature, alpha):
    lt, ls = _log_softmax(t / temperature), _log_softmax(s / temperature)
    kl = (np.exp(lt) * (lt - ls)).mean()  # divides by N * C, like KLDivLoss(reduction="mean")
    ce = -_log_softmax(s)[np.arange(len(y)), y].mean()
    return float(alpha * temperature**2 * kl + (1 - alpha) * ce)


def distill_naive_log(s, t, y, temperature, alpha):
    def softmax(z):
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(z)
            return e / e.sum(axis=1, keepdims=True)

    with np.errstate(divide="ignore", invalid="ignore"):
        pt, ps = softmax(t / temperature), softmax(s / temperature)
        kl = (pt * (np.log(pt) - np.log(ps))).sum(axis=1).mean()
        ce = -np.log(softmax(s)[np.arange(len(y)), y]).mean()
    return float(alpha * temperature**2 * kl + (1 - alpha) * ce)


@pytest.mark.parametrize("qid, answer, failing", [
    ("2.1", attention_unscaled, "scores are divided by sqrt(d)"),
    ("2.1", attention_mask_ignored, "a boolean mask: False = not attended"),
    ("2.1", attention_naive_exp, "large scores (+-1000) do not overflow"),
    ("2.1", attention_transpose_k, "a batch with two leading axes (2, 3, n, d)"),
    ("2.2", causal_mask_upper, "n = 4"),
    ("2.2", causal_mask_no_check, "n = 0 raises ValueError"),
    ("2.3", pe_exponent_i, "the exponent is 2i / d_model (pairs share a frequency)"),
    ("2.4", layer_norm_whole_array, "a batch (4, 5, 8): normalise each row over the last axis only"),
    ("2.4", layer_norm_unbiased, "the variance is the biased one (divide by d, not d - 1)"),
    ("2.4", layer_norm_eps_outside, "constant and nearly constant rows (variance below eps)"),
    ("2.5", pca_not_centred, "data far from the origin: centre first, add the mean back"),
    ("2.6", prune_signed, "negative weights: prune by |w|, not by w"),
    ("2.6", prune_in_place, "does not modify its inputs"),
    ("2.6", prune_int_count, "the count is round(amount * size)"),
    ("2.7", quantize_truncating, "rounding to nearest (np.round), not truncation"),
    ("2.7", quantize_zero_division, "all-zero weights: scale 1.0, no division by zero"),
    ("2.8", distill_without_t_squared, "T = 4: the soft term is multiplied by T^2"),
    ("2.8", distill_kl_mean_over_all, "T = 1, alpha = 0.5"),
    ("2.8", distill_naive_log, "large logits (about +-1000) stay finite"),
], ids=lambda v: v.__name__ if callable(v) else None)
def test_typical_mistakes_fail_the_test_made_for_them(qid, answer, failing):
    assert failing in failing_tests(qid, answer, seed=7)
