"""aibook.recipes: training recipes run, reproduce, and reject bad settings with one clear line."""

from __future__ import annotations

import numpy as np
import pytest

from aibook import image_data, recipes
from aibook.device import seed_everything
from aibook.train import History
from tests.test_image_data import small_split


def tiny_project_data(channels=1, size=8):
    train = small_split(64, channels, size)
    val, test = small_split(20, channels, size), small_split(30, channels, size)
    mean, std = image_data.channel_stats(train.images)
    return image_data.ProjectData("tiny", tuple(str(i) for i in range(10)), train, val, test, mean, std)


@pytest.mark.parametrize(
    "recipe",
    [
        recipes.Recipe("a", model="seed", pipeline="per-sample", batch_size=16, article_normalization=True),
        recipes.Recipe("b", model="fast", batch_size=16, optimizer="sgd", lr=0.05, schedule="onecycle",
                      channels_last=True, augment="flip+crop", label_smoothing=0.1),
        recipes.Recipe("c", model="fast-nobn", pipeline="per-sample", batch_size=10, augment="flip+crop"),
        recipes.Recipe("d", model="fast", batch_size=16, augment="crop", crop_pad=1),
    ],
    ids=lambda r: r.name,
)
def test_train_recipe_runs_and_reports(recipe):
    data = tiny_project_data()
    result = recipes.train_recipe(recipe, data, epochs=2, evals_per_epoch=2)
    assert isinstance(result.history, History) and result.history.epochs == 2
    assert len(result.checkpoints) == 4 and result.images == 2 * 64
    assert result.train_seconds > 0 and result.images_per_second > 0
    assert 0 <= result.final_accuracy <= 1
    assert result.seconds_to(0.0) == result.checkpoints[0][1] and result.seconds_to(1.01) is None


def test_train_recipe_is_reproducible_and_the_two_pipelines_agree():
    data = tiny_project_data()
    seed_everything(0)
    base = recipes.Recipe("x", model="fast", batch_size=16)
    a = recipes.train_recipe(base, data, epochs=1)
    b = recipes.train_recipe(base, data, epochs=1)
    c = recipes.train_recipe(recipes.Recipe("y", model="fast", batch_size=16, pipeline="per-sample"), data, 1)
    assert a.history.train_loss == b.history.train_loss
    np.testing.assert_allclose(a.history.train_loss, c.history.train_loss, rtol=1e-5)


def test_build_model_and_recipe_errors():
    data = tiny_project_data()
    with pytest.raises(ValueError, match="unknown model"):
        recipes.build_model(recipes.Recipe("z", model="resnet"), (1, 8, 8))
    bad_fields = [{"pipeline": "disk"}, {"optimizer": "lion"}, {"schedule": "cosine"}, {"augment": "mixup"}]
    for bad in bad_fields:
        with pytest.raises(ValueError, match="unknown"):
            recipes.train_recipe(recipes.Recipe("z", model="fast", **bad), data, epochs=1)
    with pytest.raises(ValueError, match="unknown dataset"):
        image_data.load_project_data("mnist")




@pytest.mark.parametrize("pipeline", ["per-sample", "tensors"])
def test_evaluation_normalises_as_training_does(pipeline):
    # The article's recipe trains on (x - 0.5) / 0.5; evaluating it on inputs normalised with the
    # training split's statistics instead was a silent train/test shift.
    import torch

    from aibook.train import evaluate

    data = tiny_project_data()
    recipe = recipes.Recipe("a", model="fast", pipeline=pipeline, batch_size=16, article_normalization=True)
    mean, std = recipes.input_statistics(recipe, data)
    assert mean.tolist() == [0.5] and std.tolist() == [0.5]
    x, _ = data.tensors("train", mean=mean, std=std)
    assert x.min().item() >= -1 and x.max().item() <= 1
    loader = image_data.article_loader(data.train, mean, std, batch_size=64, shuffle=False)
    first_batch = next(iter(loader))[0]
    torch.testing.assert_close(first_batch, x)
    result = recipes.train_recipe(recipe, data, epochs=1)
    x_val, y_val = data.tensors("val", mean=mean, std=std)
    loader = image_data.TensorLoader(x_val, y_val, batch_size=1000)
    assert evaluate(result.model, loader, torch.nn.CrossEntropyLoss())[1] == result.history.val_acc[-1]
    plain = recipes.Recipe("b", model="fast", pipeline=pipeline, batch_size=16)
    plain_mean, plain_std = recipes.input_statistics(plain, data)
    assert torch.equal(plain_mean, data.mean) and torch.equal(plain_std, data.std)
