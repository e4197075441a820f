"""aibook.scaling: parameter counts against torch.nn models, 6ND, time, energy and the power-law fit."""

import numpy as np
import pytest

from aibook import scaling
from aibook.scaling import (
    TransformerConfig,
    count_parameters,
    emissions_tonnes,
    fit_power_law,
    non_embedding_params,
    power_law,
    torch_transformer,
    training_days,
    training_energy_kwh,
    training_flops,
    transformer_params,
)

SMALL = [
    TransformerConfig(1, 8, 2, 11, 5),
    TransformerConfig(3, 16, 4, 50, 7, d_ff=24),
    TransformerConfig(2, 12, 3, 9, 4, kind="bert"),
    TransformerConfig(1, 6, 1, 13, 3, d_ff=10, kind="bert", type_vocab=3),
]


@pytest.mark.parametrize("cfg", SMALL, ids=str)
def test_formula_counts_the_weights_of_the_torch_model(cfg):
    assert transformer_params(cfg) == count_parameters(torch_transformer(cfg))


def test_gpt2_small_and_bert_base_counts():
    # the released checkpoints hold 124,439,808 (GPT-2) and 109,482,240 (BERT-base with pooler) weights
    assert transformer_params(TransformerConfig(12, 768, 12, 50257, 1024)) == 124_439_808
    assert transformer_params(TransformerConfig(12, 768, 12, 30522, 512, kind="bert")) == 109_482_240


def test_non_embedding_params_is_twelve_l_d_squared_plus_small_terms():
    cfg = TransformerConfig(4, 64, 4, 1000, 128)
    n = non_embedding_params(cfg)
    assert n == 4 * (12 * 64**2 + 13 * 64) + 2 * 64


def test_bad_configurations_are_rejected_in_one_line():
    with pytest.raises(ValueError, match="divisible"):
        TransformerConfig(1, 10, 3, 5, 5)
    with pytest.raises(ValueError, match="kind"):
        TransformerConfig(1, 8, 2, 5, 5, kind="t5")
    with pytest.raises(ValueError, match="positive"):
        TransformerConfig(0, 8, 2, 5, 5)


def test_compute_time_and_energy():
    assert training_flops(175e9, 300e9) == pytest.approx(3.15e23)
    # 1e18 FLOPs on 10 GPUs of 1e12 FLOP/s at 50 %: 2e5 s
    assert training_days(1e18, 10, 1e12, 0.5) == pytest.approx(2e5 / 86_400)
    assert training_energy_kwh(400, 8, 10, pue=1.5) == pytest.approx(48.0)
    assert emissions_tonnes(1000, 500) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="utilisation"):
        training_days(1e18, 1, 1e12, 1.5)
    with pytest.raises(ValueError, match="PUE"):
        training_energy_kwh(300, 1, 1, pue=0.9)


def test_fit_power_law_recovers_known_parameters():
    n = np.geomspace(100, 1e5, 7)
    a, alpha, c = fit_power_law(n, power_law(n, 5.0, 0.4, 0.3), n_grid=3000)
    assert alpha == pytest.approx(0.4, rel=0.02)
    assert c == pytest.approx(0.3, abs=0.01)
    np.testing.assert_allclose(power_law(n, a, alpha, c), power_law(n, 5.0, 0.4, 0.3), rtol=1e-3)


def test_fit_power_law_needs_three_positive_points():
    with pytest.raises(ValueError, match="at least 3"):
        fit_power_law([1, 2], [1.0, 0.5])
    with pytest.raises(ValueError, match="positive"):
        fit_power_law([1, 2, 3], [1.0, 0.0, 0.5])


def test_fit_power_law_matches_scipy_on_noisy_data():
    from scipy.optimize import curve_fit

    rng = np.random.default_rng(0)
    n = np.geomspace(20, 2e4, 8)
    loss = power_law(n, 3.0, 0.5, 0.2) * np.exp(0.02 * rng.normal(size=n.size))
    ours = fit_power_law(n, loss)
    theirs, _ = curve_fit(power_law, n, loss, p0=ours, bounds=([0, 0, 0], [np.inf, 5, loss.min()]))
    error = [float(((power_law(n, *p) - loss) ** 2).sum()) for p in (ours, theirs)]
    assert error[0] <= error[1] * 1.001
    np.testing.assert_allclose(power_law(n, *ours), power_law(n, *theirs), rtol=1e-3)


def test_torch_transformer_runs_and_returns_logits_over_the_vocabulary():
    import torch

    for kind in ("gpt", "bert"):
        model = torch_transformer(TransformerConfig(2, 16, 4, 30, 10, kind=kind))
        assert model(torch.randint(0, 30, (3, 7))).shape == (3, 7, 30)


def test_fit_chinchilla_recovers_known_parameters_and_optimum_matches_a_grid():
    true = (1.7, 400.0, 0.34, 410.0, 0.28)
    n = np.repeat([1e4, 3e4, 1e5, 3e5, 1e6], 3)
    d = np.tile([1e5, 1e6, 1e7], 5)
    loss = scaling.chinchilla_loss(n, d, *true)
    got = scaling.fit_chinchilla(n, d, loss)
    np.testing.assert_allclose(got, true, rtol=1e-3)
    c = 1e15
    n_opt, d_opt = scaling.compute_optimal(c, *true[1:])
    assert abs(6 * n_opt * d_opt - c) < 1e-6 * c
    grid = np.logspace(3, 9, 20001)
    numeric = grid[np.argmin(scaling.chinchilla_loss(grid, c / 6 / grid, *true))]
    assert abs(np.log(numeric / n_opt)) < 1e-3
    with pytest.raises(ValueError, match="at least 5"):
        scaling.fit_chinchilla(n[:3], d[:3], loss[:3])


def test_fit_chinchilla_with_a_fixed_floor_fits_the_other_four():
    true = (1.7, 400.0, 0.34, 410.0, 0.28)
    n = np.repeat([1e4, 3e4, 1e5, 3e5, 1e6], 3)
    d = np.tile([1e5, 1e6, 1e7], 5)
    loss = scaling.chinchilla_loss(n, d, *true)
    np.testing.assert_allclose(scaling.fit_chinchilla(n, d, loss, e=1.7), true, rtol=1e-3)
    wrong = scaling.fit_chinchilla(n, d, loss, e=0.5)  # a floor too low: the power terms absorb it
    assert wrong[0] == 0.5 and np.abs(scaling.chinchilla_loss(n, d, *wrong) - loss).max() > 1e-3
    with pytest.raises(ValueError, match="fixed E"):
        scaling.fit_chinchilla(n, d, loss, e=float(loss.min()))
