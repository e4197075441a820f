"""Chapter 8's question bank: typical mistakes, each caught by the test written for it.

The checks every chapter shares (sync, points, any seed, "not done") are in test_exercises.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from aibook.grader.banks.ch08 import (
    clip_per_sample_reference,
    params_for_loss_reference,
    reweighing_weights_reference,
    training_days_reference,
    transformer_params_reference,
)
from aibook.grader.check import failing_tests

# --- 8.1 parameter count -----------------------------------------------------------------------


def params_untied_head(n_layers, d_model, vocab_size, context, d_ff=None):
    return transformer_params_reference(n_layers, d_model, vocab_size, context, d_ff) + vocab_size * d_model


def params_without_biases(n_layers, d_model, vocab_size, context, d_ff=None):
    f = 4 * d_model if d_ff is None else d_ff
    transformer_params_reference(n_layers, d_model, vocab_size, context, d_ff)  # for the ValueError
    block = 4 * d_model**2 + 2 * d_model * f + 4 * d_model
    return (vocab_size + context) * d_model + n_layers * block + 2 * d_model


def params_without_final_norm(n_layers, d_model, vocab_size, context, d_ff=None):
    return transformer_params_reference(n_layers, d_model, vocab_size, context, d_ff) - 2 * d_model


def params_ignoring_d_ff(n_layers, d_model, vocab_size, context, d_ff=None):
    if d_ff is not None and d_ff < 1:
        raise ValueError("d_ff")
    return transformer_params_reference(n_layers, d_model, vocab_size, context)


def params_unchecked(n_layers, d_model, vocab_size, context, d_ff=None):
    f = 4 * d_model if d_ff is None else d_ff
    d = d_model
    return (vocab_size + context) * d + n_layers * (4 * d * d + 2 * d * f + f + 9 * d) + 2 * d


# --- 8.2 training time ---------------------------------------------------------------------------


def days_from_2nd(n_params, n_tokens, n_gpus, peak_tflops, utilisation):
    return training_days_reference(n_params, n_tokens, n_gpus, peak_tflops, utilisation) / 3


def hours_not_days(n_params, n_tokens, n_gpus, peak_tflops, utilisation):
    return training_days_reference(n_params, n_tokens, n_gpus, peak_tflops, utilisation) * 24


def utilisation_in_percent_accepted(n_params, n_tokens, n_gpus, peak_tflops, utilisation):
    if n_gpus < 1:
        raise ValueError("gpus")
    return 6 * n_params * n_tokens / (n_gpus * peak_tflops * 1e12 * utilisation) / 86_400


# --- 8.3 clipping --------------------------------------------------------------------------------


def clip_elementwise(grads, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm")
    return np.clip(grads, -max_norm, max_norm)


def clip_by_batch_norm(grads, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm")
    return grads * min(1.0, max_norm / np.linalg.norm(grads))


def clip_scales_up(grads, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm")
    norms = np.linalg.norm(grads, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return grads * (max_norm / norms)[:, None]


def clip_divides_by_zero(grads, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm")
    with np.errstate(divide="ignore", invalid="ignore"):
        norms = np.linalg.norm(grads, axis=1)[:, None]
        return grads / norms * np.minimum(norms, max_norm)  # unit direction times clipped norm: 0/0


def clip_in_place(grads, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm")
    grads *= np.minimum(1.0, max_norm / np.maximum(np.linalg.norm(grads, axis=1), 1e-12))[:, None]
    return grads


# --- 8.4 scaling law -----------------------------------------------------------------------------


def params_ignoring_floor(a, alpha, c, target):
    if target <= c:
        raise ValueError("floor")
    return (a / target) ** (1 / alpha)


def params_without_floor_check(a, alpha, c, target):
    return (a / (target - c)) ** (1 / alpha)


# --- 8.5 reweighing ------------------------------------------------------------------------------


def weights_inverted(group, y):
    return 1 / reweighing_weights_reference(group, y)


def weights_from_group_rate(group, y):
    weights = np.empty(len(y))
    for g in np.unique(group):
        for label in np.unique(y):
            cell = (group == g) & (y == label)
            if cell.any():
                weights[cell] = np.mean(y == label) / np.mean(y[group == g] == label) / 2
    return weights


def weights_in_place(group, y):
    weights = reweighing_weights_reference(group, y)
    y[...] = 0
    return weights


@pytest.mark.parametrize("qid, answer, failing", [
    ("8.1", params_untied_head, "GPT-2 small: 12 layers, d = 768, V = 50257, T = 1024"),
    ("8.1", params_without_biases, "one layer, tiny sizes (every bias and LayerNorm counts)"),
    ("8.1", params_without_final_norm, "GPT-2 small: 12 layers, d = 768, V = 50257, T = 1024"),
    ("8.1", params_ignoring_d_ff, "a custom feed-forward width d_ff"),
    ("8.1", params_unchecked, "non-positive sizes raise ValueError"),
    ("8.2", days_from_2nd, "GPT-3: 175e9 parameters, 300e9 tokens, 1024 GPUs of 312 TFLOP/s at 40 %"),
    ("8.2", hours_not_days, "random runs"),
    ("8.2", utilisation_in_percent_accepted, "utilisation outside (0, 1] raises ValueError"),
    ("8.3", clip_elementwise, "a batch where every norm exceeds max_norm"),
    ("8.3", clip_by_batch_norm, "each sample is clipped by its own norm"),
    ("8.3", clip_scales_up, "small gradients stay unchanged, large ones are clipped"),
    ("8.3", clip_divides_by_zero, "a zero gradient stays zero (no division by zero)"),
    ("8.3", clip_in_place, "does not modify its inputs"),
    ("8.4", params_ignoring_floor, "random laws (the target is the loss of a known size)"),
    ("8.4", params_without_floor_check, "a target at or below the floor raises ValueError"),
    ("8.5", weights_inverted, "two groups with different positive rates"),
    ("8.5", weights_from_group_rate, "three groups"),
    ("8.5", weights_in_place, "does not modify its inputs"),
], ids=lambda v: v.__name__ if callable(v) else None)
def test_typical_mistakes_fail_the_test_made_for_them(qid, answer, failing):
    assert failing in failing_tests(qid, answer, seed=7)


def test_references_agree_with_the_chapter():
    assert transformer_params_reference(12, 768, 50257, 1024) == 124_439_808
    assert clip_per_sample_reference(np.array([[3.0, 4.0], [0.3, 0.4]]), 1.0) == pytest.approx(
        np.array([[0.6, 0.8], [0.3, 0.4]]))
    assert params_for_loss_reference(2.0, 0.5, 0.1, 0.3) == pytest.approx(100.0)
    np.testing.assert_allclose(reweighing_weights_reference(np.array([0, 0, 1, 1]), np.array([1, 1, 0, 1])),
                               [0.75, 0.75, 0.5, 1.5])
