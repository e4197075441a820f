"""Chapter 5's question bank: the references agree with the chapter's models, and typical mistakes
are each caught by the test written for them.

The checks every chapter shares (sync, points, any seed, "not done") are in test_exercises.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from aibook.grader.banks import ch05, find_question
from aibook.grader.check import failing_tests

SOLUTION = Path(__file__).resolve().parents[1] / "solutions" / "ch05.ipynb"

# --- the references agree with the chapter's models --------------------------------------------


@pytest.mark.parametrize("shape", [(3, 32, 32), (1, 28, 28), (2, 17, 9)])
def test_flattened_size_reference_matches_seed_cnn(shape):
    assert ch05.flattened_size_reference(*shape, [64, 128]) == ch05.seed_cnn_flat_features(*shape)


def test_conv_pool_shape_reference_matches_a_real_forward_pass():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 64, 3, padding=1), torch.nn.MaxPool2d(2, 2),
                                torch.nn.Conv2d(64, 128, 3, padding=1), torch.nn.MaxPool2d(2, 2))
    with torch.no_grad():
        out = model(torch.zeros(2, 3, 32, 32))
    assert ch05.conv_pool_shape_reference((3, 32, 32), ch05.ARTICLE_STACK) == tuple(out.shape[1:])


def test_evaluation_model_gives_different_outputs_in_train_and_eval_mode():
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(4, 1, 8, 8)).astype(np.float32))
    model = ch05.build_eval_model(3, (1, 8, 8))
    with torch.no_grad():
        train_out = model.train()(x)
        eval_out = model.eval()(x)
    assert not torch.allclose(train_out, eval_out, rtol=1e-3, atol=1e-3)


# --- wrong answers for 5.3, through the given evaluation_report --------------------------------


def report_for(evaluate_logits):
    """The answer cell's given `evaluation_report` (read from the solution notebook), calling
    ``evaluate_logits`` instead of the solution's."""
    cell = next(c for c in nbformat.read(SOLUTION, as_version=4).cells
                if c.metadata.get("aibook", {}).get("question") == "5.3")
    namespace = {"torch": torch, "np": np}
    exec(cell.source, namespace)
    namespace["evaluate_logits"] = evaluate_logits  # looked up when the report runs
    report = namespace["evaluation_report"]
    report.__name__ = f"report_{evaluate_logits.__name__}"
    return report


def _check_batch(batch_size):
    if batch_size < 1:
        raise ValueError("batch_size")


def eval_without_eval_mode(model, x, batch_size):
    _check_batch(batch_size)
    with torch.inference_mode():
        return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def eval_not_restoring_mode(model, x, batch_size):
    _check_batch(batch_size)
    model.eval()
    with torch.inference_mode():
        return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def eval_with_autograd(model, x, batch_size):
    _check_batch(batch_size)
    was = model.training
    model.eval()
    out = torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
    model.train(was)
    return out


def eval_grad_switched_off(model, x, batch_size):
    _check_batch(batch_size)
    was = model.training
    model.eval()
    torch.set_grad_enabled(False)  # never switched back on
    out = torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
    model.train(was)
    return out


def eval_drop_last(model, x, batch_size):
    _check_batch(batch_size)
    was = model.training
    model.eval()
    with torch.inference_mode():
        out = [model(x[b * batch_size : (b + 1) * batch_size]) for b in range(len(x) // batch_size)]
    model.train(was)
    return torch.cat(out)


def eval_normalising_in_place(model, x, batch_size):
    _check_batch(batch_size)
    was = model.training
    model.eval()
    with torch.inference_mode():
        x.sub_(0.0).mul_(2.0)  # "rescale the inputs" in place, through the shared memory
        out = torch.cat([model(x[i : i + batch_size] / 2) for i in range(0, len(x), batch_size)])
    model.train(was)
    return out


@pytest.fixture(autouse=True)
def _restore_grad_mode():
    yield
    torch.set_grad_enabled(True)


# --- wrong answers for the other questions ------------------------------------------------------


def shape_without_padding(input_shape, layers):
    c, h, w = input_shape
    for layer in layers:
        if layer[0] not in ("conv", "pool"):
            raise ValueError("kind")
        kernel, stride = (layer[2], layer[3]) if layer[0] == "conv" else (layer[1], layer[2])
        if stride < 1:
            raise ValueError("stride")
        h, w = (h - kernel) // stride + 1, (w - kernel) // stride + 1
        if min(h, w) < 1:
            raise ValueError("fit")
        c = layer[1] if layer[0] == "conv" else c
    return c, h, w


def shape_pool_rounds_up(input_shape, layers):
    c, h, w = input_shape
    for layer in layers:
        if layer[0] not in ("conv", "pool"):
            raise ValueError("kind")
        if layer[0] == "conv":
            _, c, k, s, p = layer
            if s < 1:
                raise ValueError("stride")
            h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        else:
            _, k, s = layer
            h, w = math.ceil((h - k) / s) + 1, math.ceil((w - k) / s) + 1
        if min(h, w) < 1:
            raise ValueError("fit")
    return c, h, w


def flattened_times_channels(in_channels, height, width, widths):
    if min(in_channels, height, width, *widths) < 1 or min(height, width) < 2 ** len(widths):
        raise ValueError("sizes")
    size = in_channels * (height >> len(widths)) * (width >> len(widths))
    return size * widths[-1] if widths else size


def flattened_rounding(in_channels, height, width, widths):
    if min(in_channels, height, width, *widths) < 1 or min(height, width) < 2 ** len(widths):
        raise ValueError("sizes")
    f = 2 ** len(widths)
    return (widths[-1] if widths else in_channels) * round(height / f) * round(width / f)


def confusion_transposed(y_true, y_pred, num_classes):
    if len(y_true) != len(y_pred) or min(y_true.min(), y_pred.min()) < 0 or max(
            y_true.max(), y_pred.max()) >= num_classes:
        raise ValueError("labels")
    counts = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(counts, (y_pred, y_true), 1)
    return counts


def confusion_sized_by_labels(y_true, y_pred, num_classes):
    if len(y_true) != len(y_pred) or min(y_true.min(), y_pred.min()) < 0 or max(
            y_true.max(), y_pred.max()) >= num_classes:
        raise ValueError("labels")
    k = int(max(y_true.max(), y_pred.max())) + 1
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def confusion_unchecked(y_true, y_pred, num_classes):
    counts = np.zeros((num_classes, num_classes), dtype=int)
    # -1 counts in the last row; unequal lengths are cut to the shorter one
    for t, p in zip(y_true, y_pred, strict=False):
        counts[t, p] += 1
    return counts


def _valid_cm(cm):
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or (cm < 0).any():
        raise ValueError("cm")


def accuracy_by_columns(cm):
    _valid_cm(cm)
    total = cm.sum(axis=0).astype(float)
    return np.divide(np.diag(cm), total, out=np.zeros_like(total), where=total > 0)


def accuracy_with_nan(cm):
    _valid_cm(cm)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.diag(cm) / cm.sum(axis=1)


def accuracy_integer_division(cm):
    _valid_cm(cm)
    total = cm.sum(axis=1)
    return np.diag(cm) // np.maximum(total, 1)


def accuracy_normalising_in_place(cm):
    _valid_cm(cm)
    total = cm.sum(axis=1, keepdims=True)
    np.divide(cm, total, out=cm, where=total > 0)
    return np.diag(cm).copy()


def _valid_lr(base_lr, base_batch, batch_size, rule):
    if base_lr <= 0 or min(base_batch, batch_size) < 1 or rule not in ("linear", "sqrt"):
        raise ValueError("bad input")


def lr_floor_ratio(base_lr, base_batch, batch_size, rule="linear"):
    _valid_lr(base_lr, base_batch, batch_size, rule)
    k = batch_size // base_batch
    return base_lr * (k if rule == "linear" else math.sqrt(k))


def lr_always_linear(base_lr, base_batch, batch_size, rule="linear"):
    _valid_lr(base_lr, base_batch, batch_size, rule)
    return base_lr * batch_size / base_batch


def lr_unchecked(base_lr, base_batch, batch_size, rule="linear"):
    k = batch_size / base_batch
    return base_lr * (math.sqrt(k) if rule == "sqrt" else k)


def _valid_cycle(step, total_steps, max_lr, warmup):
    if not (0 <= step < total_steps and max_lr > 0 and 0 < warmup < 1):
        raise ValueError("bad input")


def cycle_from_zero(step, total_steps, max_lr, warmup=0.25):
    _valid_cycle(step, total_steps, max_lr, warmup)
    warm = max(1, round(warmup * total_steps))
    if step < warm:
        return max_lr * step / warm
    return max_lr * (total_steps - step) / (total_steps - warm)


def cycle_to_zero(step, total_steps, max_lr, warmup=0.25):
    _valid_cycle(step, total_steps, max_lr, warmup)
    warm = max(1, round(warmup * total_steps))
    if step < warm:
        return max_lr * (step + 1) / warm
    return max_lr * (total_steps - 1 - step) / (total_steps - 1 - warm + 1e-12)


def cycle_truncated_warmup(step, total_steps, max_lr, warmup=0.25):
    _valid_cycle(step, total_steps, max_lr, warmup)
    warm = max(1, int(warmup * total_steps))
    if step < warm:
        return max_lr * (step + 1) / warm
    return max_lr * (total_steps - step) / (total_steps - warm)


def cycle_unchecked(step, total_steps, max_lr, warmup=0.25):
    warm = max(1, round(warmup * total_steps))
    if step < warm:
        return max_lr * (step + 1) / warm
    return max_lr * max(0.0, (total_steps - step) / max(1, total_steps - warm))


def eval_whole_input_at_once(model, x, batch_size):
    """Right numbers, but one call on everything: a real test set would not fit in memory."""
    _check_batch(batch_size)
    was = model.training
    model.eval()
    with torch.inference_mode():
        out = model(x)
    model.train(was)
    return out


def report_for_confusion(confusion_matrix):
    """The answer cell's given `confusion_report`, calling ``confusion_matrix``."""
    cell = next(c for c in nbformat.read(SOLUTION, as_version=4).cells
                if c.metadata.get("aibook", {}).get("question") == "5.4")
    namespace = {"np": np}
    exec(cell.source, namespace)
    namespace["confusion_matrix"] = confusion_matrix
    report = namespace["confusion_report"]
    report.__name__ = f"report_{confusion_matrix.__name__}"
    return report


def _valid_labels(y_true, y_pred, num_classes):
    if len(y_true) != len(y_pred) or min(y_true.min(), y_pred.min()) < 0 or max(
            y_true.max(), y_pred.max()) >= num_classes:
        raise ValueError("labels")


def confusion_float_counts(y_true, y_pred, num_classes):
    _valid_labels(y_true, y_pred, num_classes)
    counts = np.zeros((num_classes, num_classes))  # float64: 3.0 instead of 3
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def confusion_fancy_index_increment(y_true, y_pred, num_classes):
    _valid_labels(y_true, y_pred, num_classes)
    counts = np.zeros((num_classes, num_classes), dtype=int)
    counts[y_true, y_pred] += 1  # a repeated (i, j) pair is counted once
    return counts


def shape_conv_keeps_channels(input_shape, layers):
    c, h, w = input_shape
    _, h, w = ch05.conv_pool_shape_reference(input_shape, layers)
    return c, h, w


def shape_padding_one_side(input_shape, layers):
    c, h, w = input_shape
    for layer in layers:
        if layer[0] not in ("conv", "pool"):
            raise ValueError("kind")
        if layer[0] == "conv":
            _, c, k, s, p = layer
        else:
            (_, k, s), p = layer, 0
        if s < 1:
            raise ValueError("stride")
        h, w = (h + p - k) // s + 1, (w + p - k) // s + 1
        if min(h, w) < 1:
            raise ValueError("fit")
    return c, h, w


def shape_unchecked(input_shape, layers):
    c, h, w = input_shape
    for layer in layers:
        if layer[0] == "conv":
            _, c, k, s, p = layer
        else:
            (_, k, s), p = layer[:3], 0
        s = max(s, 1)
        h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    return c, h, w


def flattened_unchecked(in_channels, height, width, widths):
    for _ in widths:
        height, width = height // 2, width // 2
    return (widths[-1] if widths else in_channels) * height * width


def flattened_no_blocks_is_zero(in_channels, height, width, widths):
    if min(in_channels, height, width, *widths) < 1 or min(height, width) < 2 ** len(widths):
        raise ValueError("sizes")
    if not widths:
        return 0
    return widths[-1] * (height >> len(widths)) * (width >> len(widths))


def flattened_true_division(in_channels, height, width, widths):
    if min(in_channels, height, width, *widths) < 1 or min(height, width) < 2 ** len(widths):
        raise ValueError("sizes")
    f = 2 ** len(widths)
    return (widths[-1] if widths else in_channels) * (height / f) * (width / f)


def accuracy_unchecked(cm):
    total = cm.sum(axis=1).astype(float)
    return np.divide(np.diag(cm), total, out=np.zeros_like(total), where=total > 0)


def lr_inverted_ratio(base_lr, base_batch, batch_size, rule="linear"):
    _valid_lr(base_lr, base_batch, batch_size, rule)
    k = base_batch / batch_size
    return base_lr * (k if rule == "linear" else math.sqrt(k))


def lr_sqrt_of_everything(base_lr, base_batch, batch_size, rule="linear"):
    _valid_lr(base_lr, base_batch, batch_size, rule)
    k = batch_size / base_batch
    return base_lr * k if rule == "linear" else math.sqrt(base_lr * k)


def cycle_round_half_up(step, total_steps, max_lr, warmup=0.25):
    _valid_cycle(step, total_steps, max_lr, warmup)
    warm = max(1, int(warmup * total_steps + 0.5))  # "rounding" as taught at school
    if step < warm:
        return max_lr * (step + 1) / warm
    return max_lr * (total_steps - step) / max(1, total_steps - warm)


def cycle_peak_one_step_late(step, total_steps, max_lr, warmup=0.25):
    _valid_cycle(step, total_steps, max_lr, warmup)
    warm = max(1, round(warmup * total_steps))
    if step <= warm:
        return max_lr * step / warm if step else max_lr / warm
    return max_lr * (total_steps - step) / (total_steps - warm)


def _valid_splits(train_images, test_images):
    for images in (train_images, test_images):
        if not isinstance(images, np.ndarray) or images.ndim != 4 or images.dtype != np.uint8:
            raise ValueError("images")
    if train_images.shape[1] != test_images.shape[1]:
        raise ValueError("channels")


def _apply(images, mean, std):
    return (images.astype(np.float64) / 255 - mean) / std


def normalize_with_test_statistics_too(train_images, test_images):
    _valid_splits(train_images, test_images)
    c = train_images.shape[1]
    pixels = np.concatenate([train_images.transpose(1, 0, 2, 3).reshape(c, -1),
                             test_images.transpose(1, 0, 2, 3).reshape(c, -1)], axis=1) / 255
    mean, std = pixels.mean(axis=1).reshape(1, c, 1, 1), pixels.std(axis=1).reshape(1, c, 1, 1)
    return _apply(train_images, mean, std), _apply(test_images, mean, std)


def normalize_each_split_by_itself(train_images, test_images):
    _valid_splits(train_images, test_images)
    out = []
    for images in (train_images, test_images):
        x = images.astype(np.float64) / 255
        out.append((x - x.mean(axis=(0, 2, 3), keepdims=True)) / x.std(axis=(0, 2, 3), keepdims=True))
    return tuple(out)


def normalize_one_mean_for_all_channels(train_images, test_images):
    _valid_splits(train_images, test_images)
    x = train_images.astype(np.float64) / 255
    return _apply(train_images, x.mean(), x.std()), _apply(test_images, x.mean(), x.std())


def normalize_sample_std(train_images, test_images):
    _valid_splits(train_images, test_images)
    x = train_images.astype(np.float64) / 255
    mean, std = x.mean(axis=(0, 2, 3), keepdims=True), x.std(axis=(0, 2, 3), keepdims=True, ddof=1)
    return _apply(train_images, mean, std), _apply(test_images, mean, std)


def normalize_in_uint8(train_images, test_images):
    _valid_splits(train_images, test_images)
    x = train_images.astype(np.float64)
    mean = x.mean(axis=(0, 2, 3), keepdims=True).astype(np.uint8)  # rounded, and uint8 wraps around
    std = x.std(axis=(0, 2, 3), keepdims=True)
    return (train_images - mean) / std, (test_images - mean) / std


def normalize_in_place(train_images, test_images):
    _valid_splits(train_images, test_images)
    x = train_images.astype(np.float64) / 255
    mean, std = x.mean(axis=(0, 2, 3), keepdims=True), x.std(axis=(0, 2, 3), keepdims=True)
    out = _apply(train_images, mean, std), _apply(test_images, mean, std)
    train_images //= 2  # "free memory" by shrinking the input
    return out


WRONG_ANSWERS = [
    ("5.1", shape_without_padding, "the chapter's two blocks on a 3x32x32 CIFAR-10 image"),
    ("5.1", shape_pool_rounds_up, "odd sizes: convolution without padding, pooling rounds down"),
    ("5.1", shape_conv_keeps_channels, "the chapter's two blocks on a 3x32x32 CIFAR-10 image"),
    ("5.1", shape_padding_one_side, "strided convolution with padding on a non-square image"),
    ("5.1", shape_unchecked, "a layer that does not fit or an unknown layer raises ValueError"),
    ("5.2", flattened_times_channels, "the number of input channels does not matter"),
    ("5.2", flattened_rounding, "three blocks on 28x28: pooling rounds down (28 -> 14 -> 7 -> 3)"),
    ("5.2", flattened_unchecked, "an image too small for the blocks, or sizes < 1, raise ValueError"),
    ("5.2", flattened_no_blocks_is_zero, "no blocks: the image itself is flattened"),
    ("5.2", flattened_true_division, "three blocks on 28x28: pooling rounds down (28 -> 14 -> 7 -> 3)"),
    ("5.3", report_for(eval_without_eval_mode),
     "a model in training mode: evaluate in eval mode, then switch it back"),
    ("5.3", report_for(eval_not_restoring_mode),
     "a model in training mode: evaluate in eval mode, then switch it back"),
    ("5.3", report_for(eval_with_autograd), "a model in eval mode, batches that divide the data"),
    ("5.3", report_for(eval_grad_switched_off), "a model in eval mode, batches that divide the data"),
    ("5.3", report_for(eval_drop_last), "the last batch is smaller: no sample dropped"),
    ("5.3", report_for(eval_normalising_in_place), "does not modify its input"),
    ("5.3", report_for(eval_whole_input_at_once), "a model in eval mode, batches that divide the data"),
    ("5.4", report_for_confusion(confusion_transposed), "rows are true classes, columns predicted classes"),
    ("5.4", report_for_confusion(confusion_sized_by_labels),
     "a class absent from both labels still has a row and a column"),
    ("5.4", report_for_confusion(confusion_unchecked),
     "labels outside 0..num_classes-1 or lengths that differ raise ValueError"),
    ("5.4", report_for_confusion(confusion_float_counts), "three classes, six samples, integer counts"),
    ("5.4", report_for_confusion(confusion_fancy_index_increment),
     "three classes, six samples, integer counts"),
    ("5.5", accuracy_by_columns, "divide by the row sums (true classes), not the column sums"),
    ("5.5", accuracy_with_nan, "a class with no samples gets 0.0 (no nan, no warning)"),
    ("5.5", accuracy_integer_division, "a 3x3 matrix of counts"),
    ("5.5", accuracy_normalising_in_place, "does not modify its input"),
    ("5.5", accuracy_unchecked, "a matrix that is not square or has negative counts raises ValueError"),
    ("5.6", lr_floor_ratio, "ratios that are not whole numbers, integer inputs"),
    ("5.6", lr_always_linear, "the square-root rule on random batch sizes"),
    ("5.6", lr_unchecked, "bad inputs raise ValueError"),
    ("5.6", lr_inverted_ratio, "a smaller batch lowers the learning rate"),
    ("5.6", lr_sqrt_of_everything, "the square-root rule on random batch sizes"),
    ("5.7", cycle_from_zero, "the first step already has a small positive learning rate"),
    ("5.7", cycle_to_zero,
     "after the peak the rate falls linearly; the last step is max_lr / (total - warm)"),
    ("5.7", cycle_truncated_warmup, "20 random schedules, warm-up share rounded with round()"),
    ("5.7", cycle_unchecked, "steps outside the schedule and bad settings raise ValueError"),
    ("5.7", cycle_round_half_up, "a warm-up of exactly half a step more: round() rounds half to even"),
    ("5.7", cycle_peak_one_step_late, "the peak is reached at the last warm-up step"),
    ("5.8", normalize_with_test_statistics_too,
     "one grey channel, the test split brighter than the training split"),
    ("5.8", normalize_each_split_by_itself,
     "one grey channel, the test split brighter than the training split"),
    ("5.8", normalize_one_mean_for_all_channels,
     "three channels with different brightness: statistics per channel"),
    ("5.8", normalize_sample_std, "few pixels: the population std (divide by n, not n - 1)"),
    ("5.8", normalize_in_uint8, "random sizes"),
    ("5.8", normalize_in_place, "does not modify its inputs"),
]
SEEDS = (0, 7)  # every seed these tests use


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("qid, answer, failing", WRONG_ANSWERS,
                         ids=lambda v: v.__name__ if callable(v) else None)
def test_typical_mistakes_fail_the_test_made_for_them(qid, answer, failing, seed):
    question = find_question(qid)
    assert question is not None and failing in {t.name for t in question.tests}
    assert failing in failing_tests(qid, answer, seed=seed)


def test_every_question_has_at_least_five_plausible_wrong_answers():
    per_question = {q.id: sum(qid == q.id for qid, _, _ in WRONG_ANSWERS) for q in ch05.QUESTIONS}
    assert min(per_question.values()) >= 5, per_question


def test_points_stated_in_the_notebook_and_the_bank_agree_with_the_tests():
    total = sum(q.points for q in ch05.QUESTIONS)
    cells = nbformat.read(SOLUTION, as_version=4).cells
    intro = next(c.source for c in cells if "# 第 5 章练习" in c.source)
    assert f"共 {len(ch05.QUESTIONS)} 题，{total} 分" in intro
    assert f"{len(ch05.QUESTIONS)} questions, {total} points" in ch05.__doc__
    for q in ch05.QUESTIONS:
        assert f"| {q.id} |" in intro and q.points == 10
