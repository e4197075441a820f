"""Chapter 3's question bank: typical mistakes, each caught by the test written for it.

The checks every chapter shares (sync, points, any seed, "not done") are in test_exercises.py.
"""

from __future__ import annotations

import pytest

from aibook.grader.check import failing_tests
from aibook.grader.mistakes.ch03 import (
    adamw_l2_penalty,
    bce_naive,
    ce_log_of_softmax,
    frames_with_partial_last,
    minibatches_drop_last,
    momentum_in_place,
    sigmoid_assigning_grad,
    sigmoid_composed_overflow,
    softmax_in_place,
    softmax_naive,
)

# the wrong answers overflow on purpose
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

# --- typical mistakes (aibook/grader/mistakes/ch03.py), each caught by the test written for it --


@pytest.mark.parametrize("qid, answer, failing", [
    ("3.1", softmax_naive, "large logits (1000 and more) do not overflow"),
    ("3.1", softmax_in_place, "does not modify its input"),
    ("3.2", ce_log_of_softmax, "confidently wrong predictions give a large but finite loss"),
    ("3.3", bce_naive, "large logits of both signs (+-800)"),
    ("3.4", sigmoid_assigning_grad, "moderate inputs"),
    ("3.4", sigmoid_composed_overflow, "large negative w * x (about -800) does not overflow"),
    ("3.5", momentum_in_place, "does not modify its inputs"),
    ("3.6", adamw_l2_penalty, "the decay is decoupled: large gradients, strong weight decay"),
    ("3.7", minibatches_drop_last, "the last batch is smaller: no sample dropped"),
    ("3.8", frames_with_partial_last, "a partial last frame is dropped"),
], ids=lambda v: getattr(v, "__name__", None) if callable(v) else None)
def test_typical_mistakes_fail_the_test_made_for_them(qid, answer, failing):
    assert failing in failing_tests(qid, answer, seed=7)
