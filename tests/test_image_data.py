"""aibook.image_data: normalisation, splits, TensorLoader vs the per-sample pipeline, augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aibook import data as datasets
from aibook import image_data


def test_channel_stats_match_numpy():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (50, 3, 8, 8), dtype=torch.uint8, generator=g)
    mean, std = image_data.channel_stats(images)
    ref = images.numpy().astype(np.float64) / 255
    np.testing.assert_allclose(mean.numpy(), ref.mean(axis=(0, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(std.numpy(), ref.std(axis=(0, 2, 3)), rtol=1e-5)
    x = image_data.normalize(images, mean, std)
    np.testing.assert_allclose(x.mean(dim=(0, 2, 3)).numpy(), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(dim=(0, 2, 3), correction=0).numpy(), 1, atol=1e-5)


def test_split_train_val_is_a_disjoint_seeded_partition():
    split = datasets.Split(torch.arange(100, dtype=torch.uint8).view(100, 1, 1, 1), torch.arange(100))
    train, val = image_data.split_train_val(split, 20, seed=3)
    assert len(val.labels) == 20 and len(train.labels) == 80
    assert sorted(torch.cat([train.labels, val.labels]).tolist()) == list(range(100))
    again, _ = image_data.split_train_val(split, 20, seed=3)
    assert torch.equal(train.labels, again.labels)
    with pytest.raises(ValueError):
        image_data.split_train_val(split, 100)


def small_split(n=40, channels=1, size=8):
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8, generator=g)
    return datasets.Split(images, torch.arange(n) % 10)


def test_tensor_loader_matches_the_per_sample_dataloader_batch_for_batch():
    split = small_split(43)
    mean, std = image_data.channel_stats(split.images)
    x = image_data.normalize(split.images, mean, std)
    ours = image_data.TensorLoader(x, split.labels, batch_size=8, shuffle=True, seed=5)
    article = image_data.article_loader(split, mean, std, batch_size=8, seed=5)
    assert len(ours) == len(article) == 6
    for _ in range(2):  # two epochs: the generators advance alike
        for (xa, ya), (xb, yb) in zip(ours, article, strict=True):
            assert torch.equal(ya, yb)
            torch.testing.assert_close(xa, xb, rtol=0, atol=1e-6)


def test_tensor_loader_partial_batch_drop_last_and_channels_last():
    x, y = torch.randn(10, 3, 4, 4), torch.arange(10)
    sizes = [len(b) for _, b in image_data.TensorLoader(x, y, 4)]
    assert sizes == [4, 4, 2]
    assert len(image_data.TensorLoader(x, y, 4, drop_last=True)) == 2
    xb, _ = next(iter(image_data.TensorLoader(x, y, 4, channels_last=True)))
    assert xb.is_contiguous(memory_format=torch.channels_last)
    with pytest.raises(ValueError):
        image_data.TensorLoader(x, y[:5], 4)


def test_flip_and_crop_moves_pixels_but_keeps_shape_and_content_when_padding_is_zero():
    g = torch.Generator().manual_seed(0)
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4)
    flipped = image_data.flip_and_crop(x, g, pad=0)
    for i in range(2):
        assert torch.equal(flipped[i], x[i]) or torch.equal(flipped[i], x[i].flip(2))
    image = torch.arange(64.0).view(1, 1, 8, 8).repeat(64, 3, 1, 1)
    out = image_data.flip_and_crop(image, g, pad=2, flip=False)
    assert out.shape == (64, 3, 8, 8)
    shifted = (out != image).flatten(1).any(1)
    assert shifted.any() and not shifted.all()  # some shifted, some (offset 0, 0) unchanged
    reflected = torch.nn.functional.pad(image[:1], (2, 2, 2, 2), mode="reflect")
    windows = {tuple(reflected[0, 0, dy : dy + 8, dx : dx + 8].flatten().tolist())
               for dy in range(5) for dx in range(5)}
    assert all(tuple(o[0].flatten().tolist()) in windows for o in out)  # every crop is a window



def test_load_project_data_on_fashion_mnist():
    try:
        data = image_data.load_project_data("fashion-mnist", val_size=5000, train_size=1000)
    except datasets.DataError as e:  # pragma: no cover - only without the offline copy
        pytest.skip(str(e))
    assert data.input_shape == (1, 28, 28)
    assert len(data.train.labels) == 1000 and len(data.val.labels) == 5000 and len(data.test.labels) == 10000
    x, y = data.tensors("val")
    assert x.dtype == torch.float32 and x.shape == (5000, 1, 28, 28) and y.dtype == torch.int64
    mean, std = image_data.channel_stats(data.train.images)
    assert torch.equal(mean, data.mean) and torch.equal(std, data.std)
