"""Chapter 3's additions to aibook.numpy_nn (stable losses, MLP backward) against PyTorch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from aibook import numpy_nn as nn_np
from aibook.autograd import finite_difference

rng = np.random.default_rng(3)


@pytest.mark.parametrize("scale", [1.0, 1e3, 1e5])
def test_logsumexp_softmax_and_log_softmax_match_torch_for_huge_logits(scale):
    z = rng.normal(size=(4, 6)) * scale
    t = torch.tensor(z)
    np.testing.assert_allclose(nn_np.logsumexp(z), torch.logsumexp(t, dim=-1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(nn_np.log_softmax(z), F.log_softmax(t, dim=-1).numpy(), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(nn_np.softmax(z), F.softmax(t, dim=-1).numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(nn_np.softmax(z, axis=0), F.softmax(t, dim=0).numpy(), rtol=1e-12,
                               atol=1e-300)
    assert nn_np.logsumexp(z, keepdims=True).shape == (4, 1)


def test_logsumexp_of_minus_infinity_and_dtype():
    np.testing.assert_array_equal(nn_np.logsumexp(np.array([[-np.inf, -np.inf], [0.0, -np.inf]])),
                                  [-np.inf, 0.0])
    assert nn_np.softmax(np.zeros(3, dtype=np.float32)).dtype == np.float32
    np.testing.assert_allclose(nn_np.softmax(np.array([1, 2, 3])), F.softmax(torch.tensor([1.0, 2, 3]), 0))


def test_cross_entropy_matches_torch_and_checks_shapes():
    logits, y = rng.normal(size=(7, 5)) * 50, rng.integers(0, 5, size=7)
    ref = F.cross_entropy(torch.tensor(logits), torch.tensor(y)).item()
    assert nn_np.cross_entropy(logits, y) == pytest.approx(ref, rel=1e-12)
    with pytest.raises(ValueError, match="expected logits"):
        nn_np.cross_entropy(logits[0], y[:1])


def test_binary_cross_entropy_with_logits_matches_torch_at_extremes():
    z = np.array([-800.0, -30.0, -1.0, 0.0, 2.0, 40.0, 900.0])
    y = np.array([1.0, 0.0, 1.0, 0.5, 0.0, 1.0, 0.0])
    ref = F.binary_cross_entropy_with_logits(torch.tensor(z), torch.tensor(y)).item()
    assert nn_np.binary_cross_entropy_with_logits(z, y) == pytest.approx(ref, rel=1e-12)


def test_mse_loss_matches_torch():
    p, t = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    assert nn_np.mse_loss(p, t) == pytest.approx(F.mse_loss(torch.tensor(p), torch.tensor(t)).item())


def random_layers(sizes):
    return [(rng.normal(size=(o, i)) / np.sqrt(i), rng.normal(size=o) * 0.1)
            for i, o in zip(sizes[:-1], sizes[1:], strict=True)]


def torch_loss_and_grads(x, y, layers, loss):
    params = [torch.tensor(a, requires_grad=True) for layer in layers for a in layer]
    a = torch.tensor(x)
    for i in range(0, len(params), 2):
        a = a @ params[i].T + params[i + 1]
        if i < len(params) - 2:
            a = torch.relu(a)
    value = F.cross_entropy(a, torch.tensor(y)) if loss == "cross_entropy" else F.mse_loss(a, torch.tensor(y))
    value.backward()
    return value.item(), [p.grad.numpy() for p in params], a.detach().numpy()


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("sizes", [[3, 4], [5, 8, 3], [4, 6, 5, 2]], ids=str)
def test_mlp_backward_matches_torch_autograd(loss, sizes):
    x = rng.normal(size=(9, sizes[0]))
    y = rng.integers(0, sizes[-1], size=9) if loss == "cross_entropy" else rng.normal(size=(9, sizes[-1]))
    layers = random_layers(sizes)
    value, grads = nn_np.mlp_backward(x, y, layers, loss=loss)
    ref_value, ref_grads, ref_out = torch_loss_and_grads(x, y, layers, loss)
    assert value == pytest.approx(ref_value, rel=1e-12)
    np.testing.assert_allclose(nn_np.mlp_output(x, layers), ref_out, rtol=1e-12, atol=1e-12)
    ours = [g for pair in grads for g in pair]
    assert len(ours) == len(ref_grads)
    for g, r in zip(ours, ref_grads, strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)


def test_mlp_backward_matches_finite_differences_on_one_weight():
    x, y = rng.normal(size=(4, 3)), rng.integers(0, 2, size=4)
    layers = random_layers([3, 5, 2])
    _, grads = nn_np.mlp_backward(x, y, layers)

    def loss_of(w):
        W = layers[0][0].copy()
        W[1, 2] = w[0]
        return nn_np.cross_entropy(nn_np.mlp_output(x, [(W, layers[0][1]), layers[1]]), y)

    assert grads[0][0][1, 2] == pytest.approx(finite_difference(loss_of, [layers[0][0][1, 2]])[0], rel=1e-6)


def test_mlp_backward_rejects_bad_arguments():
    layers = random_layers([3, 2])
    with pytest.raises(ValueError, match="batch"):
        nn_np.mlp_backward(np.zeros(3), np.array([0]), layers)
    with pytest.raises(ValueError, match="loss must be"):
        nn_np.mlp_backward(np.zeros((1, 3)), np.array([0]), layers, loss="hinge")
