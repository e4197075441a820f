"""Chapter 2's question bank: typical mistakes, each caught by the test written for it.

The checks every chapter shares (sync, points, any seed, "not done") are in test_exercises.py.
"""

from __future__ import annotations

import pytest

from aibook.grader.check import failing_tests
from aibook.grader.mistakes.ch02 import (
    attention_mask_ignored,
    attention_naive_exp,
    attention_transpose_k,
    attention_unscaled,
    causal_mask_no_check,
    causal_mask_upper,
    distill_kl_mean_over_all,
    distill_naive_log,
    distill_without_t_squared,
    layer_norm_eps_outside,
    layer_norm_unbiased,
    layer_norm_whole_array,
    pca_not_centred,
    pe_exponent_i,
    prune_in_place,
    prune_int_count,
    prune_signed,
    quantize_truncating,
    quantize_zero_division,
)

# the wrong answers overflow on purpose
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


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
