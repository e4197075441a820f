"""aibook.train's evaluation helpers: predict and the torch confusion matrix."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from aibook import models, train


def test_confusion_matrix_matches_scikit_learn():
    g = torch.Generator().manual_seed(0)
    y, p = torch.randint(0, 4, (200,), generator=g), torch.randint(0, 4, (200,), generator=g)
    ours = train.confusion_matrix(y, p, 4).numpy()
    np.testing.assert_array_equal(ours, sk_confusion_matrix(y.numpy(), p.numpy(), labels=range(4)))


def test_predict_modes_agree_and_restore_training_mode():
    model = models.FastCNN(1, 10, 8, widths=(4, 8)).train()
    x = torch.randn(7, 1, 8, 8)
    a = train.predict(model, x, batch_size=3)
    b = train.predict(model, x, mode="no_grad")
    c = train.predict(model, x, mode="grad")
    assert model.training and a.shape == (7, 10)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, c)
    with pytest.raises(ValueError):
        train.predict(model, x, mode="fast")


