"""Time series for Chapter 6.6: a simulated price series, lag features, walk-forward splits, backtests.

The simulated prices follow a geometric random walk, so by construction no strategy can predict
tomorrow's return from the past: any in-sample "edge" a model finds here is overfitting.
"""

from __future__ import annotations

import numpy as np


def simulate_prices(n: int, seed: int = 0, drift: float = 0.0002, volatility: float = 0.01,
                    start: float = 100.0) -> np.ndarray:
    """``n`` daily prices of a geometric random walk: log returns i.i.d. N(drift, volatility**2)."""
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    rng = np.random.default_rng(seed)
    log_returns = rng.normal(drift, volatility, size=n - 1)
    return start * np.exp(np.concatenate([[0.0], np.cumsum(log_returns)]))


def log_returns(prices: np.ndarray) -> np.ndarray:
    """r_t = ln(p_t / p_{t-1}), one fewer value than ``prices``."""
    return np.diff(np.log(np.asarray(prices, dtype=float)))


def lagged_features(series: np.ndarray, n_lags: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows (x_{t-1}, ..., x_{t-n_lags}) and targets x_t for t = n_lags, ..., len - 1."""
    series = np.asarray(series, dtype=float)
    if not 1 <= n_lags < len(series):
        raise ValueError(f"n_lags must be in 1..{len(series) - 1}, got {n_lags}")
    X = np.column_stack([series[n_lags - k : len(series) - k] for k in range(1, n_lags + 1)])
    return X, series[n_lags:]


def walk_forward_splits(n: int, train_size: int, test_size: int, step: int | None = None
                        ) -> np.ndarray:
    """Sliding-window walk-forward folds, rows (train_start, train_end, test_start, test_end).

    Ends are exclusive. Fold k trains on [k*step, k*step + train_size) and tests on the next
    ``test_size`` points; ``step`` defaults to ``test_size``. Folds that would run past ``n`` are
    dropped, so every test point lies strictly after every training point of its fold.
    """
    step = test_size if step is None else step
    if min(train_size, test_size, step) < 1:
        raise ValueError("train_size, test_size and step must all be at least 1")
    if train_size + test_size > n:
        raise ValueError(f"train_size + test_size = {train_size + test_size} exceeds n = {n}")
    starts = np.arange(0, n - train_size - test_size + 1, step)
    return np.column_stack([starts, starts + train_size, starts + train_size,
                            starts + train_size + test_size]).astype(int)


def strategy_returns(positions: np.ndarray, returns: np.ndarray, cost: float = 0.0) -> np.ndarray:
    """Log returns of holding ``positions`` (-1, 0, 1) over ``returns``, minus ``cost`` per trade.

    ``positions[t]`` must be decided before ``returns[t]`` is known; a change of position by 1
    costs ``cost`` (in log return), the first position counts as a change from 0.
    """
    positions = np.asarray(positions, dtype=float)
    returns = np.asarray(returns, dtype=float)
    if positions.shape != returns.shape:
        raise ValueError(f"positions {positions.shape} and returns {returns.shape} differ")
    trades = np.abs(np.diff(np.concatenate([[0.0], positions])))
    return positions * returns - cost * trades


def sharpe_ratio(returns: np.ndarray, periods_per_year: int = 252) -> float:
    """Annualised Sharpe ratio (risk-free rate 0): mean / std * sqrt(periods_per_year)."""
    returns = np.asarray(returns, dtype=float)
    std = returns.std(ddof=1)
    return float(returns.mean() / std * np.sqrt(periods_per_year)) if std > 0 else 0.0
