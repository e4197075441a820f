"""aibook.tabular: the synthetic credit data follow their stated generating process."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from aibook.tabular import CREDIT_FEATURES, make_credit_data


def test_credit_data_shapes_rates_and_reproducibility():
    data = make_credit_data(20_000, seed=0)
    assert data.X.shape == (20_000, len(CREDIT_FEATURES))
    np.testing.assert_array_equal(data.X, make_credit_data(20_000, seed=0).X)
    assert 0.03 < data.y.mean() < 0.15  # imbalanced, as the chapter says
    assert abs(data.group.mean() - 0.3) < 0.02
    assert abs(data.y.mean() - data.p_default.mean()) < 0.01  # labels drawn from p_default


def test_group_enters_only_through_income():
    data = make_credit_data(40_000, seed=1)
    log_income = np.log(data.X[:, 0])
    gap = log_income[data.group == 0].mean() - log_income[data.group == 1].mean()
    assert gap == pytest.approx(0.35, abs=0.03)
    assert make_credit_data(40_000, seed=1, group_income_gap=0.0).group.mean() == data.group.mean()
    # given the features, the group adds nothing: its logistic coefficient is about 0
    features = np.column_stack([log_income, data.X[:, 1:], data.group])
    features = (features - features.mean(0)) / features.std(0)
    model = LogisticRegression(max_iter=1000).fit(features, data.y)
    assert abs(model.coef_[0, -1]) < 0.1
    with pytest.raises(ValueError, match="n must be"):
        make_credit_data(0)
