"""aibook.timeseries: simulated prices, lags, walk-forward folds, backtest arithmetic."""

import numpy as np
import pytest
from sklearn.model_selection import TimeSeriesSplit

from aibook import timeseries as ts


def test_simulated_prices_have_the_stated_log_returns():
    p = ts.simulate_prices(5000, seed=0, drift=0.001, volatility=0.02)
    r = ts.log_returns(p)
    assert p[0] == 100.0 and len(r) == 4999
    assert r.mean() == pytest.approx(0.001, abs=0.001) and r.std() == pytest.approx(0.02, rel=0.05)
    with pytest.raises(ValueError):
        ts.simulate_prices(1)


def test_lagged_features_use_only_the_past():
    X, y = ts.lagged_features(np.arange(6.0), 2)
    np.testing.assert_array_equal(X, [[1, 0], [2, 1], [3, 2], [4, 3]])
    np.testing.assert_array_equal(y, [2, 3, 4, 5])
    with pytest.raises(ValueError, match="n_lags"):
        ts.lagged_features(np.arange(3.0), 3)


@pytest.mark.parametrize("n,train,test", [(20, 8, 4), (100, 30, 10), (57, 20, 7)])
def test_walk_forward_matches_scikit_learn_sliding_window(n, train, test):
    folds = ts.walk_forward_splits(n, train, test)
    assert (folds[:, 1] <= folds[:, 2]).all() and (folds[:, 3] <= n).all()
    k = len(folds)
    # TimeSeriesSplit puts its folds at the end of the series; ours start at 0: align them
    offset = n - folds[-1, 3]
    sk = TimeSeriesSplit(n_splits=k, max_train_size=train, test_size=test).split(np.zeros(n))
    for (a, b, c, e), (tr, te) in zip(folds, sk, strict=True):
        assert (tr.min(), tr.max() + 1, te.min(), te.max() + 1) == (a + offset, b + offset, c + offset,
                                                                      e + offset)


def test_walk_forward_step_and_errors():
    np.testing.assert_array_equal(ts.walk_forward_splits(10, 4, 2, step=3), [[0, 4, 4, 6], [3, 7, 7, 9]])
    with pytest.raises(ValueError, match="exceeds"):
        ts.walk_forward_splits(5, 4, 2)
    with pytest.raises(ValueError, match="at least 1"):
        ts.walk_forward_splits(5, 0, 2)


def test_strategy_returns_and_sharpe():
    r = np.array([0.01, -0.02, 0.03])
    np.testing.assert_allclose(ts.strategy_returns(np.array([1, 1, -1]), r, cost=0.001),
                               [0.009, -0.02, -0.032])
    assert ts.sharpe_ratio(np.zeros(5)) == 0.0
    x = np.array([0.01, 0.02, 0.0])
    assert ts.sharpe_ratio(x, 1) == pytest.approx(x.mean() / x.std(ddof=1))
