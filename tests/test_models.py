"""aibook.models: SeedCNN, FastCNN, shape tracing."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aibook import models


@pytest.mark.parametrize(
    ("in_channels", "image_size", "flat"),
    [(3, 32, 128 * 8 * 8), (1, 28, 128 * 7 * 7), (3, (32, 24), 128 * 8 * 6)],
)
@pytest.mark.parametrize("batch", [1, 9, 16, 64])
def test_seed_cnn_output_shape_for_every_batch_size(in_channels, image_size, flat, batch):
    model = models.SeedCNN(in_channels=in_channels, num_classes=10, image_size=image_size)
    assert model.flat_features == flat
    h, w = (image_size, image_size) if isinstance(image_size, int) else image_size
    out = model(torch.randn(batch, in_channels, h, w))
    assert out.shape == (batch, 10)


def test_seed_cnn_defaults_are_cifar10_and_names_match_the_article():
    model = models.SeedCNN()
    assert model.input_shape == (3, 32, 32) and model.fc2.out_features == 10
    assert [n for n, _ in model.named_children()] == ["conv1", "conv2", "fc1", "fc2", "relu", "pool"]
    assert model.fc1.in_features == 8192


def test_seed_cnn_samples_are_independent_of_the_batch():
    """Each sample's logits depend on that sample only (the article's view() broke this)."""
    torch.manual_seed(0)
    model = models.SeedCNN(1, 10, 28).eval()
    x = torch.randn(9, 1, 28, 28)
    with torch.no_grad():
        whole = model(x)
        one_by_one = torch.cat([model(x[i : i + 1]) for i in range(9)])
    torch.testing.assert_close(whole, one_by_one, rtol=1e-5, atol=1e-5)


def test_seed_cnn_matches_lazy_linear_reference():
    lazy = nn.Sequential(
        nn.Conv2d(1, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.LazyLinear(1024),
    )  # fmt: skip
    lazy(torch.zeros(1, 1, 28, 28))
    assert lazy[-1].in_features == models.SeedCNN(1, 10, 28).flat_features


def test_wrong_input_shape_gives_one_clear_line():
    with pytest.raises(ValueError, match=r"built for N×3×32×32 inputs, got 1×28×28"):
        models.SeedCNN()(torch.zeros(2, 1, 28, 28))
    with pytest.raises(ValueError, match="3-D tensor"):
        models.SeedCNN()(torch.zeros(3, 32, 32))


@pytest.mark.parametrize("batch_norm", [True, False])
@pytest.mark.parametrize(("in_channels", "size"), [(3, 32), (1, 28)])
def test_fast_cnn_shapes(batch_norm, in_channels, size):
    model = models.FastCNN(in_channels, 10, size, batch_norm=batch_norm)
    for n in (1, 5):
        model.train(n > 1)  # BatchNorm needs more than one value per channel to train
        assert model(torch.randn(n, in_channels, size, size)).shape == (n, 10)
    has_bn = any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert has_bn == batch_norm


def test_trace_shapes_records_calls_and_keeps_the_error():
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.pool = nn.MaxPool2d(2)

        def forward(self, x):
            return self.pool(self.pool(self.conv(x))).view(-1, 4 * 6 * 6)

    trace = models.trace_shapes(Broken(), torch.zeros(2, 3, 32, 32))
    assert [r[0] for r in trace.rows] == ["input", "conv", "pool", "pool"]
    assert trace.rows[-1][2] == (2, 4, 8, 8)
    assert trace.error is not None and trace.error.startswith("RuntimeError: shape")
    assert "error" in str(trace)
    ok = models.trace_shapes(models.SeedCNN(1, 10, 28), torch.zeros(1, 1, 28, 28))
    assert ok.error is None and ok.rows[-1] == ("fc2", "Linear", (1, 10))
    assert [r[0] for r in ok.rows].count("relu") == 3


