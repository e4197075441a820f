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
    transformer_params_reference,
)
from aibook.grader.check import failing_tests
from aibook.grader.mistakes.ch08 import (
    clip_by_batch_norm,
    clip_divides_by_zero,
    clip_elementwise,
    clip_in_place,
    clip_scales_up,
    days_from_2nd,
    hours_not_days,
    params_ignoring_d_ff,
    params_ignoring_floor,
    params_unchecked,
    params_untied_head,
    params_without_biases,
    params_without_final_norm,
    params_without_floor_check,
    utilisation_in_percent_accepted,
    weights_from_group_rate,
    weights_in_place,
    weights_inverted,
)

# the wrong answers divide by zero on purpose
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")



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
