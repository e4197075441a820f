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


@pytest.mark.parametrize("qid, answer, failing", [
    ("5.1", shape_without_padding, "the chapter's two blocks on a 3x32x32 CIFAR-10 image"),
    ("5.1", shape_pool_rounds_up, "odd sizes: convolution without padding, pooling rounds down"),
    ("5.2", flattened_times_channels, "the number of input channels does not matter"),
    ("5.2", flattened_rounding, "three blocks on 28x28: pooling rounds down (28 -> 14 -> 7 -> 3)"),
    ("5.3", report_for(eval_without_eval_mode),
     "a model in training mode: evaluate in eval mode, then switch it back"),
    ("5.3", report_for(eval_not_restoring_mode),
     "a model in training mode: evaluate in eval mode, then switch it back"),
    ("5.3", report_for(eval_with_autograd), "a model in eval mode, batches that divide the data"),
    ("5.3", report_for(eval_grad_switched_off), "a model in eval mode, batches that divide the data"),
    ("5.3", report_for(eval_drop_last), "the last batch is smaller: no sample dropped"),
    ("5.3", report_for(eval_normalising_in_place), "does not modify its input"),
    ("5.4", confusion_transposed, "rows are true classes, columns predicted classes"),
    ("5.4", confusion_sized_by_labels, "a class absent from both labels still has a row and a column"),
    ("5.4", confusion_unchecked,
     "labels outside 0..num_classes-1 or lengths that differ raise ValueError"),
    ("5.5", accuracy_by_columns, "divide by the row sums (true classes), not the column sums"),
    ("5.5", accuracy_with_nan, "a class with no samples gets 0.0 (no nan, no warning)"),
    ("5.5", accuracy_integer_division, "a 3x3 matrix of counts"),
    ("5.5", accuracy_normalising_in_place, "does not modify its input"),
    ("5.6", lr_floor_ratio, "ratios that are not whole numbers, integer inputs"),
    ("5.6", lr_always_linear, "the square-root rule on random batch sizes"),
    ("5.6", lr_unchecked, "bad inputs raise ValueError"),
    ("5.7", cycle_from_zero, "the first step already has a small positive learning rate"),
    ("5.7", cycle_to_zero,
     "after the peak the rate falls linearly; the last step is max_lr / (total - warm)"),
    ("5.7", cycle_truncated_warmup, "20 random schedules, warm-up share rounded with round()"),
    ("5.7", cycle_unchecked, "steps outside the schedule and bad settings raise ValueError"),
], ids=lambda v: v.__name__ if callable(v) else None)
def test_typical_mistakes_fail_the_test_made_for_them(qid, answer, failing):
    assert find_question(qid) is not None
    assert failing in failing_tests(qid, answer, seed=7)
