"""The NumPy building blocks against PyTorch, the independent reference."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from aibook import numpy_nn as nn_np

rng = np.random.default_rng(0)


def test_relu_and_dense():
    z = np.array([-1.0, 0.0, 2.5])
    np.testing.assert_array_equal(nn_np.relu(z), [0, 0, 2.5])
    W, b, x = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(5, 3))
    ref = F.linear(torch.tensor(x), torch.tensor(W), torch.tensor(b)).numpy()
    np.testing.assert_allclose(nn_np.dense(x, W, b), ref, rtol=1e-12)
    np.testing.assert_allclose(nn_np.dense(x[0], W, b), ref[0], rtol=1e-12)


def test_mlp_forward_matches_torch_sequential():
    layers = [(rng.normal(size=(4, 3)), rng.normal(size=4)), (rng.normal(size=(2, 4)), rng.normal(size=2))]
    x = rng.normal(size=(6, 3))
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2), torch.nn.ReLU()
    ).double()
    with torch.no_grad():
        for lin, (W, b) in zip([model[0], model[2]], layers, strict=True):
            lin.weight.copy_(torch.tensor(W))
            lin.bias.copy_(torch.tensor(b))
        ref = model(torch.tensor(x)).numpy()
    cache = nn_np.mlp_forward(x, layers)
    assert len(cache) == 2
    np.testing.assert_allclose(cache[-1][1], ref, rtol=1e-12)


@pytest.mark.parametrize(
    "n,k,s,p,d", [(32, 3, 1, 0, 1), (32, 5, 2, 2, 1), (7, 3, 2, 1, 2), (28, 2, 2, 0, 1), (5, 5, 1, 0, 1)]
)
def test_conv_output_size_matches_torch(n, k, s, p, d):
    out = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d)
    assert nn_np.conv_output_size(n, k, s, p, d) == out.shape[-1]


def test_conv_output_size_rejects_impossible_shapes():
    with pytest.raises(ValueError, match="does not fit"):
        nn_np.conv_output_size(2, 5)
    with pytest.raises(ValueError):
        nn_np.conv_output_size(10, 3, stride=0)


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), (3, 2)])
def test_conv2d_matches_torch(stride, padding):
    x, w, b = rng.normal(size=(2, 3, 9, 7)), rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4)
    ref = F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=stride, padding=padding)
    np.testing.assert_allclose(nn_np.conv2d(x, w, b, stride, padding), ref.numpy(), rtol=1e-10, atol=1e-12)


def test_conv2d_rejects_channel_mismatch():
    with pytest.raises(ValueError, match="equal C"):
        nn_np.conv2d(np.zeros((1, 2, 5, 5)), np.zeros((1, 3, 3, 3)))


@pytest.mark.parametrize("kernel,stride", [(2, None), (3, 2), (2, 1)])
def test_max_pool2d_matches_torch(kernel, stride):
    x = rng.normal(size=(2, 3, 8, 7))
    ref = F.max_pool2d(torch.tensor(x), kernel, stride=stride)
    np.testing.assert_array_equal(nn_np.max_pool2d(x, kernel, stride), ref.numpy())


def test_rnn_step_matches_rnncell():
    cell = torch.nn.RNNCell(3, 4).double()
    x, h = rng.normal(size=(5, 3)), rng.normal(size=(5, 4))
    with torch.no_grad():
        ref = cell(torch.tensor(x), torch.tensor(h)).numpy()
    # RNNCell keeps two biases; the textbook formula has their sum
    b = (cell.bias_ih + cell.bias_hh).detach().numpy()
    got = nn_np.rnn_step(x, h, cell.weight_hh.detach().numpy(), cell.weight_ih.detach().numpy(), b)
    np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_sgd_and_adam_match_torch_optim_over_many_steps():
    theta0 = rng.normal(size=5)
    target = rng.normal(size=5)
    for name in ("sgd", "adam"):
        p = torch.tensor(theta0.copy(), requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.05) if name == "sgd" else torch.optim.Adam([p], lr=0.05)
        theta, m, v = theta0.copy(), np.zeros(5), np.zeros(5)
        for t in range(1, 101):
            opt.zero_grad()
            loss = ((p - torch.tensor(target)) ** 4).sum()
            loss.backward()
            grad = 4 * (theta - target) ** 3
            np.testing.assert_allclose(grad, p.grad.numpy(), rtol=1e-9, atol=1e-12)
            opt.step()
            if name == "sgd":
                theta = nn_np.sgd_step(theta, grad, 0.05)
            else:
                theta, m, v = nn_np.adam_step(theta, grad, m, v, t, lr=0.05)
        np.testing.assert_allclose(theta, p.detach().numpy(), rtol=1e-6, atol=1e-9)


def test_adam_step_rejects_t_zero_and_keeps_inputs():
    theta, g, m, v = np.ones(2), np.ones(2), np.zeros(2), np.zeros(2)
    with pytest.raises(ValueError, match="starts at 1"):
        nn_np.adam_step(theta, g, m, v, 0)
    new, _, _ = nn_np.adam_step(theta, g, m, v, 1, lr=0.1)
    np.testing.assert_array_equal(theta, [1, 1])
    # at t=1 bias correction makes the step exactly lr * sign(g)
    np.testing.assert_allclose(new, [0.9, 0.9], rtol=1e-7)
