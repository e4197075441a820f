"""Chapter 9's question bank: typical mistakes, each caught by the test written for it.

The checks every chapter shares (sync, points, any seed, "not done") are in test_exercises.py.
"""

from __future__ import annotations

import pytest

from aibook.grader.banks import ch09
from aibook.grader.check import failing_tests
from aibook.grader.mistakes.ch09 import (
    accumulated_equal_weights,
    auc_ranks_without_ties,
    auc_without_check,
    early_stopping_equal_counts,
    early_stopping_ignoring_min_delta,
    f1_with_accuracy,
    k_as_number_of_groups,
    prf_dividing_blindly,
    pseudonym_without_key_check,
    sha256_of_key_and_value,
)

# the wrong answers divide by zero on purpose
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")




@pytest.mark.parametrize("qid, answer, failing", [
    ("9.1", f1_with_accuracy, "imbalanced labels: F1 uses precision, not accuracy"),
    ("9.1", prf_dividing_blindly, "no predicted positives: precision is 0/0"),
    ("9.1", prf_dividing_blindly, "no positives at all: everything is 0/0"),
    ("9.2", auc_ranks_without_ties, "tied scores count one half"),
    ("9.2", auc_without_check, "only one class raises ValueError"),
    ("9.3", early_stopping_equal_counts, "a loss equal to the best is not an improvement"),
    ("9.3", early_stopping_ignoring_min_delta, "min_delta: tiny improvements do not count"),
    ("9.4", accumulated_equal_weights, "a smaller last micro-batch"),
    ("9.5", k_as_number_of_groups, "a small table"),
    ("9.6", sha256_of_key_and_value, "random identifiers and keys"),
    ("9.6", pseudonym_without_key_check, "an empty key raises ValueError"),
], ids=lambda v: v.__name__ if callable(v) else None)
def test_typical_mistakes_fail_the_test_made_for_them(qid, answer, failing):
    assert failing in failing_tests(qid, answer, seed=7)


@pytest.mark.parametrize("answer", [f1_with_accuracy, auc_ranks_without_ties, accumulated_equal_weights,
                                    k_as_number_of_groups])
def test_typical_mistakes_pass_the_easy_tests(answer):
    """The mistakes are subtle: each passes at least one test, so the failing test is what catches it."""
    qid = {f1_with_accuracy: "9.1", auc_ranks_without_ties: "9.2", accumulated_equal_weights: "9.4",
           k_as_number_of_groups: "9.5"}[answer]
    question = next(q for q in ch09.QUESTIONS if q.id == qid)
    assert len(failing_tests(qid, answer, seed=7)) < len(question.tests)


def test_early_stopping_worked_example_from_the_text():
    assert ch09.early_stopping_reference([1.0, 0.8, 0.85, 0.9, 0.7], 2) == (1, 3)
