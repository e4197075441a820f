"""Chapter 5's models and data pipeline: shapes, batch-size independence, pipelines that agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from torch import nn

from aibook import data as datasets
from aibook import models
from aibook.device import seed_everything
from aibook.train import History


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


def test_channel_stats_match_numpy():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (50, 3, 8, 8), dtype=torch.uint8, generator=g)
    mean, std = models.channel_stats(images)
    ref = images.numpy().astype(np.float64) / 255
    np.testing.assert_allclose(mean.numpy(), ref.mean(axis=(0, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(std.numpy(), ref.std(axis=(0, 2, 3)), rtol=1e-5)
    x = models.normalize(images, mean, std)
    np.testing.assert_allclose(x.mean(dim=(0, 2, 3)).numpy(), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(dim=(0, 2, 3), correction=0).numpy(), 1, atol=1e-5)


def test_split_train_val_is_a_disjoint_seeded_partition():
    split = datasets.Split(torch.arange(100, dtype=torch.uint8).view(100, 1, 1, 1), torch.arange(100))
    train, val = models.split_train_val(split, 20, seed=3)
    assert len(val.labels) == 20 and len(train.labels) == 80
    assert sorted(torch.cat([train.labels, val.labels]).tolist()) == list(range(100))
    again, _ = models.split_train_val(split, 20, seed=3)
    assert torch.equal(train.labels, again.labels)
    with pytest.raises(ValueError):
        models.split_train_val(split, 100)


def small_split(n=40, channels=1, size=8):
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8, generator=g)
    return datasets.Split(images, torch.arange(n) % 10)


def test_tensor_loader_matches_the_per_sample_dataloader_batch_for_batch():
    split = small_split(43)
    mean, std = models.channel_stats(split.images)
    x = models.normalize(split.images, mean, std)
    ours = models.TensorLoader(x, split.labels, batch_size=8, shuffle=True, seed=5)
    article = models.article_loader(split, mean, std, batch_size=8, seed=5)
    assert len(ours) == len(article) == 6
    for _ in range(2):  # two epochs: the generators advance alike
        for (xa, ya), (xb, yb) in zip(ours, article, strict=True):
            assert torch.equal(ya, yb)
            torch.testing.assert_close(xa, xb, rtol=0, atol=1e-6)


def test_tensor_loader_partial_batch_drop_last_and_channels_last():
    x, y = torch.randn(10, 3, 4, 4), torch.arange(10)
    sizes = [len(b) for _, b in models.TensorLoader(x, y, 4)]
    assert sizes == [4, 4, 2]
    assert len(models.TensorLoader(x, y, 4, drop_last=True)) == 2
    xb, _ = next(iter(models.TensorLoader(x, y, 4, channels_last=True)))
    assert xb.is_contiguous(memory_format=torch.channels_last)
    with pytest.raises(ValueError):
        models.TensorLoader(x, y[:5], 4)


def test_flip_and_crop_moves_pixels_but_keeps_shape_and_content_when_padding_is_zero():
    g = torch.Generator().manual_seed(0)
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4)
    flipped = models.flip_and_crop(x, g, pad=0)
    for i in range(2):
        assert torch.equal(flipped[i], x[i]) or torch.equal(flipped[i], x[i].flip(2))
    image = torch.arange(64.0).view(1, 1, 8, 8).repeat(64, 3, 1, 1)
    out = models.flip_and_crop(image, g, pad=2, flip=False)
    assert out.shape == (64, 3, 8, 8)
    shifted = (out != image).flatten(1).any(1)
    assert shifted.any() and not shifted.all()  # some shifted, some (offset 0, 0) unchanged
    reflected = torch.nn.functional.pad(image[:1], (2, 2, 2, 2), mode="reflect")
    windows = {tuple(reflected[0, 0, dy : dy + 8, dx : dx + 8].flatten().tolist())
               for dy in range(5) for dx in range(5)}
    assert all(tuple(o[0].flatten().tolist()) in windows for o in out)  # every crop is a window


def test_confusion_matrix_matches_scikit_learn():
    g = torch.Generator().manual_seed(0)
    y, p = torch.randint(0, 4, (200,), generator=g), torch.randint(0, 4, (200,), generator=g)
    ours = models.confusion_matrix(y, p, 4).numpy()
    np.testing.assert_array_equal(ours, sk_confusion_matrix(y.numpy(), p.numpy(), labels=range(4)))


def test_predict_modes_agree_and_restore_training_mode():
    model = models.FastCNN(1, 10, 8, widths=(4, 8)).train()
    x = torch.randn(7, 1, 8, 8)
    a = models.predict(model, x, batch_size=3)
    b = models.predict(model, x, mode="no_grad")
    c = models.predict(model, x, mode="grad")
    assert model.training and a.shape == (7, 10)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, c)
    with pytest.raises(ValueError):
        models.predict(model, x, mode="fast")


def tiny_project_data(channels=1, size=8):
    train = small_split(64, channels, size)
    val, test = small_split(20, channels, size), small_split(30, channels, size)
    mean, std = models.channel_stats(train.images)
    return models.ProjectData("tiny", tuple(str(i) for i in range(10)), train, val, test, mean, std)


@pytest.mark.parametrize(
    "recipe",
    [
        models.Recipe("a", model="seed", pipeline="per-sample", batch_size=16, article_normalization=True),
        models.Recipe("b", model="fast", batch_size=16, optimizer="sgd", lr=0.05, schedule="onecycle",
                      channels_last=True, augment="flip+crop", label_smoothing=0.1),
        models.Recipe("c", model="fast-nobn", pipeline="per-sample", batch_size=10, augment="flip+crop"),
        models.Recipe("d", model="fast", batch_size=16, augment="crop", crop_pad=1),
    ],
    ids=lambda r: r.name,
)
def test_train_recipe_runs_and_reports(recipe):
    data = tiny_project_data()
    result = models.train_recipe(recipe, data, epochs=2, evals_per_epoch=2)
    assert isinstance(result.history, History) and result.history.epochs == 2
    assert len(result.checkpoints) == 4 and result.images == 2 * 64
    assert result.train_seconds > 0 and result.images_per_second > 0
    assert 0 <= result.final_accuracy <= 1
    assert result.seconds_to(0.0) == result.checkpoints[0][1] and result.seconds_to(1.01) is None


def test_train_recipe_is_reproducible_and_the_two_pipelines_agree():
    data = tiny_project_data()
    seed_everything(0)
    base = models.Recipe("x", model="fast", batch_size=16)
    a = models.train_recipe(base, data, epochs=1)
    b = models.train_recipe(base, data, epochs=1)
    c = models.train_recipe(models.Recipe("y", model="fast", batch_size=16, pipeline="per-sample"), data, 1)
    assert a.history.train_loss == b.history.train_loss
    np.testing.assert_allclose(a.history.train_loss, c.history.train_loss, rtol=1e-5)


def test_build_model_and_recipe_errors():
    data = tiny_project_data()
    with pytest.raises(ValueError, match="unknown model"):
        models.build_model(models.Recipe("z", model="resnet"), (1, 8, 8))
    bad_fields = [{"pipeline": "disk"}, {"optimizer": "lion"}, {"schedule": "cosine"}, {"augment": "mixup"}]
    for bad in bad_fields:
        with pytest.raises(ValueError, match="unknown"):
            models.train_recipe(models.Recipe("z", model="fast", **bad), data, epochs=1)
    with pytest.raises(ValueError, match="unknown dataset"):
        models.load_project_data("mnist")


def test_load_project_data_on_fashion_mnist():
    try:
        data = models.load_project_data("fashion-mnist", val_size=5000, train_size=1000)
    except datasets.DataError as e:  # pragma: no cover - only without the offline copy
        pytest.skip(str(e))
    assert data.input_shape == (1, 28, 28)
    assert len(data.train.labels) == 1000 and len(data.val.labels) == 5000 and len(data.test.labels) == 10000
    x, y = data.tensors("val")
    assert x.dtype == torch.float32 and x.shape == (5000, 1, 28, 28) and y.dtype == torch.int64
    mean, std = models.channel_stats(data.train.images)
    assert torch.equal(mean, data.mean) and torch.equal(std, data.std)
