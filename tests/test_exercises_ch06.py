"""Chapter 6's question bank: typical mistakes, each caught by the test written for it.

The checks every chapter shares (sync, points, any seed, "not done") are in test_exercises.py.
"""

from __future__ import annotations

import pytest

from aibook.grader.check import failing_tests
from aibook.grader.mistakes.ch06 import (
    folds_expanding,
    folds_keep_partial,
    folds_step_ignored,
    iou_nan,
    iou_plus_one,
    iou_unclipped,
    ppl_in_place,
    ppl_mean_of_exp,
    ppl_naive,
    recall_no_checks,
    recall_rounds_down,
    recall_strictly_greater,
    tfidf_binary,
    tfidf_divides_by_zero,
    tfidf_key_error,
    top_k_ascending,
    top_k_sorts_in_place,
    top_k_unstable,
)

# the typical wrong answers below divide by zero or overflow on purpose
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.mark.parametrize("qid, answer, failing", [
    ("6.1", iou_plus_one, "boxes that only touch along an edge have IoU 0"),
    ("6.1", iou_unclipped, "identical, nested and disjoint boxes"),
    ("6.1", iou_nan, "two empty boxes give 0, not nan"),
    ("6.2", tfidf_binary, "a repeated token counts twice"),
    ("6.2", tfidf_key_error, "unknown tokens are ignored"),
    ("6.2", tfidf_divides_by_zero, "only unknown tokens (or none) give the zero vector"),
    ("6.3", top_k_ascending, "top-1 and top-2 on a small example"),
    ("6.3", top_k_unstable, "ties go to the lower document index"),
    ("6.3", top_k_sorts_in_place, "does not modify its inputs"),
    ("6.4", recall_strictly_greater, "a small example: recall 0.5 and 1.0"),
    ("6.4", recall_rounds_down, "a target between two achievable recalls rounds up"),
    ("6.4", recall_no_checks, "no positives, or a target outside (0, 1], raise ValueError"),
    ("6.5", folds_keep_partial, "an incomplete last fold is dropped"),
    ("6.5", folds_expanding, "n = 20, train 8, test 4"),
    ("6.5", folds_step_ignored, "an explicit step (overlapping test windows)"),
    ("6.6", ppl_naive, "large logits (stable log-softmax)"),
    ("6.6", ppl_mean_of_exp, "random logits over 10 tokens"),
    ("6.6", ppl_in_place, "does not modify its inputs"),
], ids=lambda v: v.__name__ if callable(v) else None)
def test_typical_mistakes_fail_the_test_made_for_them(qid, answer, failing):
    assert failing in failing_tests(qid, answer, seed=7)
