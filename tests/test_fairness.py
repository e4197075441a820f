"""aibook.fairness against rates counted by hand on small tables."""

import numpy as np
import pytest

from aibook.fairness import (
    demographic_parity_gap,
    equal_opportunity_gap,
    selection_rates,
    true_positive_rates,
)

Y_TRUE = np.array([1, 1, 0, 0, 1, 1, 1, 0])
Y_PRED = np.array([1, 0, 0, 1, 1, 1, 1, 0])
GROUP = np.array(["a", "a", "a", "a", "b", "b", "b", "b"])


def test_selection_rates_and_gap():
    assert selection_rates(Y_PRED, GROUP) == {"a": 0.5, "b": 0.75}
    assert demographic_parity_gap(Y_PRED, GROUP) == pytest.approx(0.25)


def test_true_positive_rates_and_gap():
    # group a: positives at 0, 1 -> predicted 1, 0; group b: positives at 4, 5, 6 -> all 1
    assert true_positive_rates(Y_TRUE, Y_PRED, GROUP) == {"a": 0.5, "b": 1.0}
    assert equal_opportunity_gap(Y_TRUE, Y_PRED, GROUP) == pytest.approx(0.5)


def test_equal_treatment_gives_zero_and_a_group_without_positives_is_skipped():
    group = np.array([0, 0, 1, 1, 2, 2])
    assert demographic_parity_gap([1, 0, 0, 1, 1, 0], group) == 0.0
    tpr = true_positive_rates([1, 0, 1, 0, 0, 0], [1, 0, 1, 1, 0, 1], group)
    assert tpr[0] == 1.0 and tpr[1] == 1.0 and np.isnan(tpr[2])
    assert equal_opportunity_gap([1, 0, 1, 0, 0, 0], [1, 0, 1, 1, 0, 1], group) == 0.0


def test_a_single_group_has_no_gap():
    assert demographic_parity_gap([1, 0, 1], [7, 7, 7]) == 0.0


@pytest.mark.parametrize("args, message", [
    (([0.2, 0.9], [0, 1]), "only 0 and 1"),
    (([1, 0], [0, 1, 1]), "one group label per sample"),
    (([[1, 0]], [0]), "one-dimensional"),
])
def test_bad_input_says_what_to_do(args, message):
    with pytest.raises(ValueError, match=message):
        demographic_parity_gap(*args)
