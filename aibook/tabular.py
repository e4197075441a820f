"""Synthetic tabular data for Chapter 6.6's credit-scoring case: the generating process is the code.

Nothing here is real customer data. ``make_credit_data`` draws applicants from stated
distributions and a stated logistic default model, so the reader can see exactly why a model
behaves as it does, including the group gap that a proxy feature creates.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

CREDIT_FEATURES = ("income", "debt_ratio", "late_payments", "years_of_history", "utilisation")
# log-odds of default per unit of each feature (standardised where noted), and the intercept
CREDIT_WEIGHTS = {"income": -0.8, "debt_ratio": 1.0, "late_payments": 0.6, "years_of_history": -0.4,
                  "utilisation": 0.9}
CREDIT_INTERCEPT = -3.5


class CreditData(NamedTuple):
    """Features (N, 5) in CREDIT_FEATURES order, default label (N,), group 0/1 (N,), true P(default)."""

    X: np.ndarray
    y: np.ndarray
    group: np.ndarray
    p_default: np.ndarray


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def make_credit_data(n: int, seed: int = 0, group_income_gap: float = 0.35) -> CreditData:
    """Draw ``n`` synthetic loan applicants and whether each defaults.

    group ~ Bernoulli(0.3); log-income ~ N(10.5 - gap * group, 0.5) (group 1 earns less on
    average: the only way the group enters); debt_ratio ~ Beta(2, 5); late_payments ~
    Poisson(0.4 + 0.6 * debt_ratio); years_of_history ~ Uniform(0, 25); utilisation ~ Beta(2, 3).
    P(default) = sigmoid(CREDIT_INTERCEPT + sum of CREDIT_WEIGHTS * features), with each feature
    centred and scaled by its mean and standard deviation; the label is a Bernoulli draw from it.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    group = (rng.uniform(size=n) < 0.3).astype(int)
    log_income = rng.normal(10.5 - group_income_gap * group, 0.5)
    debt_ratio = rng.beta(2, 5, size=n)
    late = rng.poisson(0.4 + 0.6 * debt_ratio)
    years = rng.uniform(0, 25, size=n)
    utilisation = rng.beta(2, 3, size=n)
    z = (CREDIT_INTERCEPT
         + CREDIT_WEIGHTS["income"] * (log_income - 10.5) / 0.5
         + CREDIT_WEIGHTS["debt_ratio"] * (debt_ratio - 2 / 7) / 0.16
         + CREDIT_WEIGHTS["late_payments"] * (late - 0.57)
         + CREDIT_WEIGHTS["years_of_history"] * (years - 12.5) / 7.2
         + CREDIT_WEIGHTS["utilisation"] * (utilisation - 0.4) / 0.2)
    p = _sigmoid(z)
    y = (rng.uniform(size=n) < p).astype(int)
    X = np.column_stack([np.exp(log_income), debt_ratio, late, years, utilisation])
    return CreditData(X, y, group, p)
