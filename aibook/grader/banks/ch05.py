"""Chapter 5 (项目实战) exercises: shapes through a conv/pool stack, the flattened size of a CNN,
a correct evaluation loop, the confusion matrix, per-class accuracy, learning-rate scaling with the
batch size, the one-cycle schedule and normalisation statistics from the training split only
(8 questions, 80 points; ``tests/test_exercises_ch05.py`` checks that the notebook says the same).

Every reference is independent of the learner's arithmetic: shapes come from running
``torch.nn.Conv2d``/``MaxPool2d`` (on the meta device, so no memory is used), the flattened size
from ``aibook.models.FastCNN``/``SeedCNN``'s layers, the evaluation loop from
``aibook.train.predict``, the confusion matrix and per-class accuracy from ``sklearn.metrics``
and the one-cycle learning rate from stepping ``aibook.recipes.one_cycle``'s torch scheduler.
The exercise text in ``solutions/ch05.ipynb`` states each test and its points.

Tensors and models cannot cross the grader's JSON channel, so question 5.3 grades
``evaluation_report``: a given function (in the answer cell, outside the solution markers) that
builds a small CNN from a seed, calls the learner's ``evaluate_logits`` on it and returns the
logits with what the loop left behind (train/eval mode, grad mode, ``requires_grad``) and the
batch sizes the model saw. Likewise 5.4 grades the given ``confusion_report``, which adds whether
the learner's counts are integers (the comparison of values alone would accept 3.0 for 3).
"""

# Over 300 lines on purpose: a question bank is data, and one source per exercise set keeps each
# question's text, reference answer and tests together.

from __future__ import annotations

import math

import numpy as np

from aibook.grader.questions import Call, Question, Test, call

# --- 5.1 shape through a conv/pool stack -------------------------------------------------------


def conv_pool_shape_reference(input_shape, layers):
    """(C, H, W) after ``layers``, by running torch's Conv2d/MaxPool2d on a meta-device zero tensor."""
    import torch
    from torch import nn

    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f"input_shape must be (C, H, W) with sizes >= 1, got {input_shape}")
    modules: list[nn.Module] = []
    channels = input_shape[0]
    for layer in layers:
        if layer[0] not in ("conv", "pool") or min(layer[1:]) < 0 or min(layer[1:3]) < 1:
            raise ValueError(f"bad layer {layer!r}")
        if layer[0] == "conv":
            _, out_channels, kernel, stride, padding = layer
            modules.append(nn.Conv2d(channels, out_channels, kernel, stride=stride, padding=padding))
            channels = out_channels
        else:
            _, kernel, stride = layer
            modules.append(nn.MaxPool2d(kernel, stride=stride))
    if any(layer[0] == "conv" and layer[3] < 1 or layer[0] == "pool" and layer[2] < 1
           for layer in layers):
        raise ValueError("strides must be >= 1")
    try:
        with torch.device("meta"):
            out = nn.Sequential(*modules).to("meta")(torch.zeros(1, *input_shape))
    except RuntimeError as exc:  # torch's message for a kernel larger than its input
        raise ValueError(str(exc)) from None
    if min(out.shape[2:]) < 1:
        raise ValueError("the output is empty")
    return tuple(int(n) for n in out.shape[1:])


ARTICLE_STACK = [("conv", 64, 3, 1, 1), ("pool", 2, 2), ("conv", 128, 3, 1, 1), ("pool", 2, 2)]


def _random_stack_calls(rng: np.random.Generator) -> list[Call]:
    """10 random stacks of 1-4 layers whose every layer fits its input."""
    calls: list[Call] = []
    while len(calls) < 10:
        shape = (int(rng.integers(1, 5)), int(rng.integers(8, 65)), int(rng.integers(8, 65)))
        h, w = shape[1:]
        layers: list[tuple] = []
        for _ in range(int(rng.integers(1, 5))):
            if rng.uniform() < 0.6:
                k, s, p = int(rng.integers(1, 6)), int(rng.integers(1, 3)), int(rng.integers(0, 3))
                layers.append(("conv", int(rng.integers(1, 33)), k, s, p))
            else:
                k = int(rng.integers(2, 4))
                s, p = int(rng.integers(1, k + 1)), 0
                layers.append(("pool", k, s))
            h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        if min(h, w) >= 1:
            calls.append(call(shape, layers))
    return calls


CONV_POOL_SHAPE = Question(
    "5.1", "conv_pool_shape", "shape (C, H, W) after a stack of convolutions and max poolings",
    params=("input_shape", "layers"), outputs=("channels", "height", "width"),
    reference=conv_pool_shape_reference,
    tests=(
        Test("the chapter's two blocks on a 3x32x32 CIFAR-10 image", 2,
             lambda rng: [call((3, 32, 32), ARTICLE_STACK)],
             hint="two 2x2 poolings halve 32 twice: 32 -> 16 -> 8, not 6"),
        Test("the same blocks on a 1x28x28 Fashion-MNIST image", 1,
             lambda rng: [call((1, 28, 28), ARTICLE_STACK)]),
        Test("odd sizes: convolution without padding, pooling rounds down", 2,
             lambda rng: [call((1, 7, 7), [("conv", 4, 3, 1, 0), ("pool", 2, 2)]),
                          call((2, 15, 15), [("pool", 2, 2), ("conv", 3, 3, 1, 0), ("pool", 2, 2)]),
                          call((1, 9, 9), [("pool", 3, 2)])],
             hint="size = (n + 2 * padding - kernel) // stride + 1, rounded down at every layer"),
        Test("strided convolution with padding on a non-square image", 2,
             lambda rng: [call((3, 224, 160), [("conv", 64, 7, 2, 3), ("pool", 3, 2)]),
                          call((3, 31, 20), [("conv", 16, 5, 2, 2), ("conv", 8, 3, 2, 1)])],
             hint="height and width are computed separately; padding is added on both sides"),
        Test("channels come from the last convolution; no layers keep the input shape", 1,
             lambda rng: [call((5, 12, 10), [("conv", 7, 1, 1, 0), ("pool", 2, 2)]),
                          call((3, 8, 8), [("pool", 2, 2)]), call((4, 6, 5), [])],
             hint="pooling keeps the number of channels"),
        Test("10 random stacks", 1, _random_stack_calls),
        Test("a layer that does not fit or an unknown layer raises ValueError", 1,
             lambda rng: [call((1, 4, 4), [("conv", 8, 5, 1, 0)]),
                          call((1, 28, 28), [("pool", 2, 2)] * 5),
                          call((1, 8, 8), [("conv", 8, 3, 0, 1)]),
                          call((1, 8, 8), [("dense", 10)])],
             raises="ValueError",
             hint="raise ValueError when a size drops below 1, a stride is < 1 or a kind is unknown"),
    ),
)


# --- 5.2 flattened size of a CNN ---------------------------------------------------------------


def flattened_size_reference(in_channels, height, width, widths):
    """Features after flatten: a real (meta-device) forward pass through FastCNN's blocks."""
    import torch

    from aibook.models import FastCNN

    if min(in_channels, height, width, *widths) < 1:
        raise ValueError("sizes must be >= 1")
    with torch.device("meta"):  # FastCNN raises ValueError when a pooling does not fit
        model = FastCNN(in_channels, 10, (height, width), tuple(widths), batch_norm=False)
        features = model.features(torch.zeros(1, in_channels, height, width))
    size = int(features[0].numel())
    assert size == model.flat_features  # the model's own bookkeeping agrees with the forward pass
    return size


def seed_cnn_flat_features(in_channels: int, height: int, width: int) -> int:
    """``SeedCNN``'s fc1 input size, read from the model itself (a check of the 5.2 reference)."""
    import torch

    from aibook.models import SeedCNN

    with torch.device("meta"):
        return SeedCNN(in_channels, 10, (height, width)).fc1.in_features


def _random_cnns(rng: np.random.Generator) -> list[Call]:
    calls: list[Call] = []
    for _ in range(20):
        blocks = int(rng.integers(1, 5))
        widths = [int(w) for w in rng.integers(1, 129, size=blocks)]
        low = 2**blocks
        calls.append(call(int(rng.integers(1, 5)), int(rng.integers(low, 97)),
                          int(rng.integers(low, 97)), widths))
    return calls


FLATTENED_SIZE = Question(
    "5.2", "flattened_size", "number of features a CNN's first linear layer receives",
    params=("in_channels", "height", "width", "widths"), outputs=("size",),
    reference=flattened_size_reference,
    tests=(
        Test("SeedCNN on CIFAR-10 (3x32x32) and on Fashion-MNIST (1x28x28)", 2,
             lambda rng: [call(3, 32, 32, [64, 128]), call(1, 28, 28, [64, 128])],
             hint="channels of the last block times the final height times the final width"),
        Test("the number of input channels does not matter", 1,
             lambda rng: [call(1, 32, 32, [16, 32]), call(3, 32, 32, [16, 32]),
                          call(7, 32, 32, [16, 32])],
             hint="the first convolution maps any number of input channels to widths[0]"),
        Test("three blocks on 28x28: pooling rounds down (28 -> 14 -> 7 -> 3)", 2,
             lambda rng: [call(1, 28, 28, [16, 32, 64]), call(3, 30, 30, [8, 8, 8])],
             hint="round down after every pooling (//), never round(n / 8)"),
        Test("a non-square image", 1, lambda rng: [call(3, 32, 20, [8, 16]), call(1, 9, 40, [4])]),
        Test("no blocks: the image itself is flattened", 1,
             lambda rng: [call(3, 32, 32, []), call(1, 5, 7, [])],
             hint="with no blocks the flattened size is in_channels * height * width"),
        Test("20 random CNNs", 1, _random_cnns),
        Test("an image too small for the blocks, or sizes < 1, raise ValueError", 2,
             lambda rng: [call(1, 3, 32, [8, 16]), call(1, 28, 28, [8] * 5), call(0, 8, 8, [4]),
                          call(1, 8, 8, [4, 0])],
             raises="ValueError",
             hint="each pooling needs a map of at least 2x2; check the sizes before computing"),
    ),
)


# --- 5.3 an evaluation loop --------------------------------------------------------------------

EVAL_WIDTHS = (4, 8)  # the small FastCNN (with BatchNorm) that ``evaluation_report`` builds
# what the given code of the answer cells imports from here: the only part of this bank the grading
# kernel gets (aibook.grader.sandbox copies these definitions, never the references)
KERNEL_HELPERS = ("EVAL_WIDTHS", "build_eval_model")


def build_eval_model(seed: int, input_shape: tuple[int, int, int]):
    """The model ``evaluation_report`` builds: a seeded FastCNN with BatchNorm, so train and eval
    mode give different outputs."""
    import torch

    from aibook.models import FastCNN

    torch.manual_seed(seed)
    c, h, w = input_shape
    return FastCNN(c, 10, (h, w), widths=EVAL_WIDTHS)


def evaluation_report_reference(seed, x, batch_size, training):
    """aibook.train.predict's logits on the same model, the model's mode unchanged, grad mode
    unchanged, logits without autograd, and the batches the model saw: ``batch_size`` samples
    each, the last one smaller."""
    import torch

    from aibook.train import predict

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    model = build_eval_model(seed, x.shape[1:])
    model.train(training)
    logits = predict(model, torch.from_numpy(x), batch_size=batch_size).numpy()
    sizes = [min(batch_size, len(x) - i) for i in range(0, len(x), batch_size)]
    return logits, training, True, False, sizes


def _images(rng: np.random.Generator, n: int, size: tuple[int, int] = (8, 8)) -> np.ndarray:
    return rng.normal(size=(n, 1, *size)).astype(np.float32)


def _eval_case(rng: np.random.Generator, n: int, batch_size: int, training: bool) -> Call:
    return call(int(rng.integers(0, 1000)), _images(rng, n), batch_size, training)


EVALUATION = Question(
    "5.3", "evaluation_report", "an evaluation loop: eval mode, no autograd, every sample once",
    params=("seed", "x", "batch_size", "training"),
    outputs=("logits", "training_after", "grad_mode_unchanged", "requires_grad", "batch_sizes"),
    reference=evaluation_report_reference,
    tests=(
        Test("a model in eval mode, batches that divide the data", 2,
             lambda rng: [_eval_case(rng, 12, 4, False)], rtol=1e-4, atol=1e-5,
             hint="wrap the loop in torch.inference_mode() (or torch.no_grad()) and call the model "
                  "on batch_size samples at a time (a large input at once may not fit in memory)"),
        Test("a model in training mode: evaluate in eval mode, then switch it back", 3,
             lambda rng: [_eval_case(rng, 12, 4, True)], rtol=1e-4, atol=1e-5,
             hint="remember model.training, call model.eval(), restore with model.train(was_training)"),
        Test("the last batch is smaller: no sample dropped", 2,
             lambda rng: [_eval_case(rng, 10, 4, False), _eval_case(rng, 5, 8, True)],
             rtol=1e-4, atol=1e-5, hint="loop over range(0, len(x), batch_size) and slice x[i:i + b]"),
        Test("batch size 1", 1, lambda rng: [_eval_case(rng, 3, 1, True)], rtol=1e-4, atol=1e-5),
        Test("batch_size < 1 raises ValueError", 1,
             lambda rng: [_eval_case(rng, 4, 0, False), _eval_case(rng, 4, -2, False)],
             raises="ValueError"),
        Test("does not modify its input", 1, lambda rng: [_eval_case(rng, 6, 4, False)],
             unmodified=True, rtol=1e-4, atol=1e-5),
    ),
)


# --- 5.4 confusion matrix ----------------------------------------------------------------------


def confusion_matrix_reference(y_true, y_pred, num_classes):
    """sklearn.metrics.confusion_matrix with every class listed (rows: true, columns: predicted),
    and True: counts are integers."""
    from sklearn.metrics import confusion_matrix

    if len(y_true) != len(y_pred):
        raise ValueError("y_true and y_pred have different lengths")
    labels = np.concatenate([y_true, y_pred])
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be in 0..{num_classes - 1}")
    return confusion_matrix(y_true, y_pred, labels=np.arange(num_classes)), True


def _labels(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def _random_labels(rng: np.random.Generator, n: int, k: int) -> Call:
    y = rng.integers(0, k, size=n)
    wrong = rng.uniform(size=n) < 0.3  # 70% correct, as a half-trained classifier
    return call(y, np.where(wrong, rng.integers(0, k, size=n), y), k)


CONFUSION_MATRIX = Question(
    "5.4", "confusion_report", "confusion matrix from true and predicted labels",
    params=("y_true", "y_pred", "num_classes"), outputs=("counts", "integer_counts"),
    reference=confusion_matrix_reference,
    tests=(
        Test("three classes, six samples, integer counts", 2,
             lambda rng: [call(_labels(0, 0, 1, 1, 2, 2), _labels(0, 1, 1, 1, 2, 0), 3)],
             hint="counts are integers: np.zeros(..., dtype=np.int64), not the float default"),
        Test("rows are true classes, columns predicted classes", 2,
             lambda rng: [call(_labels(0, 0, 0, 1), _labels(1, 1, 2, 1), 3)],
             hint="C[i, j] counts samples of true class i predicted as class j"),
        Test("a class that is never predicted has a zero column", 1,
             lambda rng: [call(_labels(0, 1, 2, 2), _labels(0, 1, 1, 0), 3)]),
        Test("a class absent from both labels still has a row and a column", 1,
             lambda rng: [call(_labels(0, 1, 1), _labels(0, 1, 0), 4)],
             hint="the shape is (num_classes, num_classes), not set by the largest label"),
        Test("200 random samples of 10 classes", 1, lambda rng: [_random_labels(rng, 200, 10)]),
        Test("labels outside 0..num_classes-1 or lengths that differ raise ValueError", 2,
             lambda rng: [call(_labels(0, 3), _labels(0, 1), 3), call(_labels(0, 1), _labels(-1, 1), 3),
                          call(_labels(0, 1, 2), _labels(0, 1), 3)],
             raises="ValueError",
             hint="a label of -1 would silently count in the last row with NumPy indexing"),
        Test("does not modify its inputs", 1, lambda rng: [_random_labels(rng, 50, 5)],
             unmodified=True),
    ),
)


# --- 5.5 per-class accuracy --------------------------------------------------------------------


def per_class_accuracy_reference(cm):
    """sklearn.metrics.recall_score per class on the labels the matrix counts; 0 for empty classes."""
    from sklearn.metrics import recall_score

    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or (cm < 0).any():
        raise ValueError("cm must be a square matrix of counts >= 0")
    k = cm.shape[0]
    rows, cols = np.nonzero(cm)
    counts = cm[rows, cols].astype(int)
    y_true, y_pred = np.repeat(rows, counts), np.repeat(cols, counts)
    return recall_score(y_true, y_pred, labels=np.arange(k), average=None, zero_division=0.0)


def _random_cm(rng: np.random.Generator, k: int) -> np.ndarray:
    return rng.integers(0, 20, size=(k, k)) + np.diag(rng.integers(20, 80, size=k))


PER_CLASS_ACCURACY = Question(
    "5.5", "per_class_accuracy", "per-class accuracy (recall) from a confusion matrix",
    params=("cm",), outputs=("accuracy",),
    reference=per_class_accuracy_reference,
    tests=(
        Test("a 3x3 matrix of counts", 2,
             lambda rng: [call(np.array([[5, 1, 0], [2, 6, 2], [0, 3, 1]]))],
             hint="accuracy of class i = C[i, i] / C[i, :].sum(), with / (not //) on integer counts"),
        Test("divide by the row sums (true classes), not the column sums", 2,
             lambda rng: [call(np.array([[8, 2], [6, 4]]))],
             hint="accuracy of class i = C[i, i] / C[i, :].sum(); the column sum gives precision"),
        Test("a class with no samples gets 0.0 (no nan, no warning)", 2,
             lambda rng: [call(np.array([[3, 1, 0], [0, 0, 0], [1, 0, 2]]))],
             hint="divide only where the row sum is > 0, e.g. np.divide(..., where=total > 0)"),
        Test("a random 10x10 matrix", 1, lambda rng: [call(_random_cm(rng, 10))]),
        Test("a matrix that is not square or has negative counts raises ValueError", 2,
             lambda rng: [call(np.ones((2, 3), dtype=int)), call(np.array([[1, -1], [0, 2]])),
                          call(np.ones(3, dtype=int))],
             raises="ValueError"),
        Test("does not modify its input", 1, lambda rng: [call(_random_cm(rng, 4).astype(float))],
             unmodified=True),
    ),
)


# --- 5.6 learning rate for another batch size --------------------------------------------------


def scaled_lr_reference(base_lr, base_batch, batch_size, rule="linear"):
    """lr * k (linear rule, SGD) or lr * sqrt(k) (square-root rule, Adam), with k = B / B0."""
    if base_lr <= 0 or min(base_batch, batch_size) < 1 or rule not in ("linear", "sqrt"):
        raise ValueError("need base_lr > 0, batch sizes >= 1 and rule 'linear' or 'sqrt'")
    k = batch_size / base_batch
    return base_lr * (k if rule == "linear" else math.sqrt(k))


SCALED_LR = Question(
    "5.6", "scaled_lr", "learning rate for a new batch size: linear or square-root rule",
    params=("base_lr", "base_batch", "batch_size", "rule"), outputs=("lr",),
    reference=scaled_lr_reference,
    tests=(
        Test("the chapter's Adam run 64 -> 256 (square root); SGD 256 -> 1024 (linear)", 2,
             lambda rng: [call(0.1, 256, 1024), call(1e-3, 64, 256, "sqrt")]),
        Test("the same batch size keeps the learning rate", 1,
             lambda rng: [call(0.05, 128, 128), call(3e-4, 32, 32, "sqrt")]),
        Test("a smaller batch lowers the learning rate", 1,
             lambda rng: [call(0.4, 1024, 256), call(1e-3, 256, 64, "sqrt")]),
        Test("ratios that are not whole numbers, integer inputs", 2,
             lambda rng: [call(0.1, 64, 100), call(1, 3, 2), call(1, 3, 4, "sqrt"),
                          call(2e-3, 96, 500, "sqrt")],
             hint="compute batch_size / base_batch as a float: 2 // 3 is 0"),
        Test("the square-root rule on random batch sizes", 2,
             lambda rng: [call(float(rng.uniform(1e-4, 1e-2)), int(rng.integers(8, 512)),
                               int(rng.integers(1, 4096)), "sqrt") for _ in range(10)],
             hint="the square-root rule multiplies by sqrt(batch_size / base_batch)"),
        Test("bad inputs raise ValueError", 2,
             lambda rng: [call(0.0, 64, 128), call(-0.1, 64, 128), call(0.1, 0, 128),
                          call(0.1, 64, 0), call(0.1, 64, 128, "cubic")],
             raises="ValueError",
             hint="lr must be > 0, batch sizes >= 1, rule 'linear' or 'sqrt'"),
    ),
)


# --- 5.7 one-cycle learning rate ---------------------------------------------------------------


def one_cycle_lr_reference(step, total_steps, max_lr, warmup=0.25):
    """The learning rate after ``step`` scheduler steps of aibook.recipes.one_cycle (torch LambdaLR)."""
    import torch

    from aibook.recipes import one_cycle

    if not (0 <= step < total_steps and max_lr > 0 and 0 < warmup < 1):
        raise ValueError("need 0 <= step < total_steps, max_lr > 0 and 0 < warmup < 1")
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=max_lr)
    scheduler = one_cycle(optimizer, total_steps, warmup)
    for _ in range(step):
        optimizer.step()
        scheduler.step()
    return float(optimizer.param_groups[0]["lr"])


def _random_cycles(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(20):
        total = int(rng.integers(2, 300))
        calls.append(call(int(rng.integers(0, total)), total, float(rng.uniform(1e-4, 1.0)),
                          float(rng.uniform(0.05, 0.6))))
    return calls


ONE_CYCLE_LR = Question(
    "5.7", "one_cycle_lr", "learning rate of the triangular one-cycle schedule at a step",
    params=("step", "total_steps", "max_lr", "warmup"), outputs=("lr",),
    reference=one_cycle_lr_reference,
    tests=(
        Test("the first step already has a small positive learning rate", 2,
             lambda rng: [call(0, 16, 2e-3), call(0, 100, 0.4)],
             hint="during warm-up lr = max_lr * (step + 1) / warm, so step 0 gives max_lr / warm"),
        Test("the peak is reached at the last warm-up step", 1,
             lambda rng: [call(3, 16, 2e-3), call(24, 100, 0.4)]),
        Test("after the peak the rate falls linearly; the last step is max_lr / (total - warm)", 2,
             lambda rng: [call(4, 16, 2e-3), call(15, 16, 2e-3), call(99, 100, 0.4), call(60, 100, 0.4)],
             hint="after warm-up lr = max_lr * (total_steps - step) / (total_steps - warm)"),
        Test("the chapter's schedule: peak 2e-3, 16 steps, every step", 1,
             lambda rng: [call(t, 16, 2e-3) for t in range(16)]),
        Test("20 random schedules, warm-up share rounded with round()", 1, _random_cycles,
             hint="warm = max(1, round(warmup * total_steps))"),
        Test("a warm-up of exactly half a step more: round() rounds half to even", 1,
             lambda rng: [call(1, 10, 0.1), call(3, 18, 0.1), call(2, 42, 0.1)],
             hint="Python's round(2.5) == 2 and round(4.5) == 4: do not use int(x + 0.5) or math.floor"),
        Test("steps outside the schedule and bad settings raise ValueError", 2,
             lambda rng: [call(-1, 16, 0.1), call(16, 16, 0.1), call(0, 0, 0.1), call(0, 16, 0.0),
                          call(0, 16, 0.1, 0.0), call(0, 16, 0.1, 1.5)],
             raises="ValueError",
             hint="0 <= step < total_steps, max_lr > 0, 0 < warmup < 1"),
    ),
)


# --- 5.8 normalisation statistics from the training split only ----------------------------------


def normalize_splits_reference(train_images, test_images):
    """aibook.image_data.channel_stats on the training images alone, applied to both splits
    with aibook.image_data.normalize."""
    import torch

    from aibook.image_data import channel_stats, normalize

    for name, images in (("train_images", train_images), ("test_images", test_images)):
        if images.ndim != 4 or images.dtype != np.uint8 or len(images) < 1:
            raise ValueError(f"{name} must be a non-empty uint8 array N x C x H x W")
    if train_images.shape[1] != test_images.shape[1]:
        raise ValueError("train and test images have different numbers of channels")
    mean, std = channel_stats(torch.from_numpy(train_images))
    return (normalize(torch.from_numpy(train_images), mean, std).numpy(),
            normalize(torch.from_numpy(test_images), mean, std).numpy())


def _uint8_images(rng: np.random.Generator, n: int, c: int, h: int, w: int, low: int = 0,
                  high: int = 256) -> np.ndarray:
    return rng.integers(low, high, size=(n, c, h, w), dtype=np.uint8)


def _shifted_splits(rng: np.random.Generator) -> list[Call]:
    """A test split much brighter than the training split: its own statistics would hide that."""
    return [call(_uint8_images(rng, 6, 1, 5, 5, 0, 128), _uint8_images(rng, 4, 1, 5, 5, 100, 256)),
            call(_uint8_images(rng, 3, 3, 4, 4, 20, 120), _uint8_images(rng, 5, 3, 4, 4, 60, 250))]


NORMALIZE_SPLITS = Question(
    "5.8", "normalize_splits", "normalise both splits with per-channel statistics of the training split",
    params=("train_images", "test_images"), outputs=("train", "test"),
    reference=normalize_splits_reference,
    tests=(
        Test("one grey channel, the test split brighter than the training split", 3, _shifted_splits,
             rtol=1e-4, atol=1e-5,
             hint="compute mean and std on train_images only and apply the same numbers to test_images"),
        Test("three channels with different brightness: statistics per channel", 2,
             lambda rng: [call(np.concatenate([_uint8_images(rng, 4, 1, 6, 6, 0, 60),
                                               _uint8_images(rng, 4, 1, 6, 6, 100, 200),
                                               _uint8_images(rng, 4, 1, 6, 6, 200, 256)], axis=1),
                               _uint8_images(rng, 2, 3, 6, 6))],
             rtol=1e-4, atol=1e-5,
             hint="average over the images and the pixels (axes 0, 2, 3), not the channels"),
        Test("few pixels: the population std (divide by n, not n - 1)", 1,
             lambda rng: [call(_uint8_images(rng, 2, 1, 2, 2), _uint8_images(rng, 1, 1, 2, 2))],
             rtol=1e-4, atol=1e-5,
             hint="np.std's default (ddof=0); torch.std divides by n - 1 unless correction=0"),
        Test("random sizes", 2,
             lambda rng: [call(_uint8_images(rng, int(rng.integers(1, 8)), c, int(rng.integers(2, 9)),
                                             int(rng.integers(2, 9))),
                               _uint8_images(rng, int(rng.integers(1, 8)), c, int(rng.integers(2, 9)),
                                             int(rng.integers(2, 9))))
                          for c in (1, 3, 2)],
             rtol=1e-4, atol=1e-5, hint="uint8 arithmetic wraps around: convert to float before subtracting"),
        Test("bad inputs raise ValueError", 1,
             lambda rng: [call(_uint8_images(rng, 2, 1, 4, 4), _uint8_images(rng, 2, 3, 4, 4)),
                          call(np.zeros((2, 4, 4), dtype=np.uint8), _uint8_images(rng, 2, 1, 4, 4)),
                          call(np.zeros((2, 1, 4, 4)), _uint8_images(rng, 2, 1, 4, 4))],
             raises="ValueError",
             hint="4-D uint8 arrays with the same number of channels; anything else is a ValueError"),
        Test("does not modify its inputs", 1, _shifted_splits, unmodified=True, rtol=1e-4, atol=1e-5),
    ),
)


QUESTIONS = [CONV_POOL_SHAPE, FLATTENED_SIZE, EVALUATION, CONFUSION_MATRIX, PER_CLASS_ACCURACY,
             SCALED_LR, ONE_CYCLE_LR, NORMALIZE_SPLITS]
