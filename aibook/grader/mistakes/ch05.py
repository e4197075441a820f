"""Chapter 5: plausible wrong answers, each a learner's typical mistake (see ``__init__``).

Questions 5.3 and 5.4 grade a given wrapper around the learner's function (``evaluation_report``,
``confusion_report``), so their mistakes are the learner's wrong function inside that wrapper.
"""

# Over 300 lines on purpose: a catalogue is data, one short wrong answer per entry.

from __future__ import annotations

import math

import numpy as np

from aibook.grader.banks.ch05 import build_eval_model, conv_pool_shape_reference
from aibook.grader.mistakes import Mistake

# --- 5.1 shape through a conv/pool stack ---------------------------------------------------------


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


def shape_conv_keeps_channels(input_shape, layers):
    c, h, w = input_shape
    _, h, w = conv_pool_shape_reference(input_shape, layers)
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


# --- 5.2 flattened size of a CNN -----------------------------------------------------------------


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


# --- 5.3 evaluation loop (graded through the given evaluation_report) ----------------------------


def _check_batch(batch_size):
    if batch_size < 1:
        raise ValueError("batch_size")


def eval_without_eval_mode(model, x, batch_size):
    import torch

    _check_batch(batch_size)
    with torch.inference_mode():
        return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def eval_not_restoring_mode(model, x, batch_size):
    import torch

    _check_batch(batch_size)
    model.eval()
    with torch.inference_mode():
        return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def eval_with_autograd(model, x, batch_size):
    import torch

    _check_batch(batch_size)
    was = model.training
    model.eval()
    out = torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
    model.train(was)
    return out


def eval_grad_switched_off(model, x, batch_size):
    import torch

    _check_batch(batch_size)
    was = model.training
    model.eval()
    torch.set_grad_enabled(False)  # never switched back on
    out = torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
    model.train(was)
    return out


def eval_drop_last(model, x, batch_size):
    import torch

    _check_batch(batch_size)
    was = model.training
    model.eval()
    with torch.inference_mode():
        out = [model(x[b * batch_size : (b + 1) * batch_size]) for b in range(len(x) // batch_size)]
    model.train(was)
    return torch.cat(out)


def eval_normalising_in_place(model, x, batch_size):
    import torch

    _check_batch(batch_size)
    was = model.training
    model.eval()
    with torch.inference_mode():
        x.sub_(0.0).mul_(2.0)  # "rescale the inputs" in place, through the shared memory
        out = torch.cat([model(x[i : i + batch_size] / 2) for i in range(0, len(x), batch_size)])
    model.train(was)
    return out


def eval_whole_input_at_once(model, x, batch_size):
    """Right numbers, but one call on everything: a real test set would not fit in memory."""
    import torch

    _check_batch(batch_size)
    was = model.training
    model.eval()
    with torch.inference_mode():
        out = model(x)
    model.train(was)
    return out


def report_with(evaluate_logits):
    """The answer cell's given ``evaluation_report`` (solutions/ch05.ipynb; a test checks that the
    two agree), calling ``evaluate_logits``. Unlike the given one it runs with autograd on, as a
    fresh kernel does, restores the caller's grad mode and returns the logits as an array: a
    mistake tried in the grader's process (or in the learner's, by ``check``, after an answer that
    left autograd off) gives the outcome it gives in a fresh kernel and leaves nothing behind."""

    def evaluation_report(seed, x, batch_size, training):
        import torch

        model = build_eval_model(seed, x.shape[1:])
        model.train(training)
        sizes = []  # the batch size of every call of the model
        model.register_forward_pre_hook(lambda module, args: sizes.append(int(args[0].shape[0])))
        with torch.enable_grad():  # restores the caller's grad mode on exit
            logits = evaluate_logits(model, torch.from_numpy(x), batch_size)  # x's memory is shared
            grad_mode_unchanged = torch.is_grad_enabled()
        return (logits.detach().numpy(), model.training, grad_mode_unchanged, logits.requires_grad,
                sizes)

    evaluation_report.__name__ = evaluate_logits.__name__
    evaluation_report.inner = evaluate_logits
    return evaluation_report


# --- 5.4 confusion matrix (graded through the given confusion_report) ----------------------------


def _valid_labels(y_true, y_pred, num_classes):
    if len(y_true) != len(y_pred) or min(y_true.min(), y_pred.min()) < 0 or max(
            y_true.max(), y_pred.max()) >= num_classes:
        raise ValueError("labels")


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


def confusion_report_with(confusion_matrix):
    """The answer cell's given ``confusion_report`` (solutions/ch05.ipynb), calling
    ``confusion_matrix``."""

    def confusion_report(y_true, y_pred, num_classes):
        counts = np.asarray(confusion_matrix(y_true, y_pred, num_classes))
        return counts, bool(np.issubdtype(counts.dtype, np.integer))

    confusion_report.__name__ = confusion_matrix.__name__
    confusion_report.inner = confusion_matrix
    return confusion_report


# --- 5.5 per-class accuracy ----------------------------------------------------------------------


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


def accuracy_unchecked(cm):
    total = cm.sum(axis=1).astype(float)
    return np.divide(np.diag(cm), total, out=np.zeros_like(total), where=total > 0)


# --- 5.6 learning rate for another batch size ----------------------------------------------------


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


def lr_inverted_ratio(base_lr, base_batch, batch_size, rule="linear"):
    _valid_lr(base_lr, base_batch, batch_size, rule)
    k = base_batch / batch_size
    return base_lr * (k if rule == "linear" else math.sqrt(k))


def lr_sqrt_of_everything(base_lr, base_batch, batch_size, rule="linear"):
    _valid_lr(base_lr, base_batch, batch_size, rule)
    k = batch_size / base_batch
    return base_lr * k if rule == "linear" else math.sqrt(base_lr * k)


# --- 5.7 one-cycle learning rate -----------------------------------------------------------------


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


# --- 5.8 normalisation statistics ----------------------------------------------------------------


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


MISTAKES = {
    "5.1": (
        Mistake("忽略了 padding（padding ignored）", shape_without_padding),
        Mistake("池化向上取整，应向下取整（ceil instead of floor in pooling）", shape_pool_rounds_up),
        Mistake("卷积后通道数没有换成 out_channels（channels not updated by the convolution）",
                shape_conv_keeps_channels),
        Mistake("padding 只加了一边，应为 2 * padding（padding counted once）", shape_padding_one_side),
        Mistake("没有检查放不下的层、小于 1 的 stride 或未知的层（no ValueError for invalid layers）",
                shape_unchecked),
    ),
    "5.2": (
        Mistake("把输入通道数也乘了进去（input channels multiplied in）", flattened_times_channels),
        Mistake("用 round(n / 2**blocks) 代替每次池化向下取整（round() instead of floor at every pooling）",
                flattened_rounding),
        Mistake("没有检查尺寸，图像太小时不报错（no ValueError for invalid sizes）", flattened_unchecked),
        Mistake("没有卷积块时返回 0，应为 C * H * W（no blocks: flattened size 0）",
                flattened_no_blocks_is_zero),
        Mistake("用 / 而不是 //，得到小数（true division instead of floor division）",
                flattened_true_division),
    ),
    "5.3": (
        Mistake("没有调用 model.eval()，BatchNorm 仍用批统计量（missing model.eval()）",
                report_with(eval_without_eval_mode)),
        Mistake("评估后没有恢复原来的训练模式（training mode not restored）",
                report_with(eval_not_restoring_mode)),
        Mistake("没有用 torch.inference_mode() 或 no_grad()，仍在记录梯度（autograd not disabled）",
                report_with(eval_with_autograd)),
        Mistake("torch.set_grad_enabled(False) 后没有恢复全局梯度模式（global grad mode left off）",
                report_with(eval_grad_switched_off)),
        Mistake("丢掉了最后一个不满的批次（last partial batch dropped）", report_with(eval_drop_last)),
        Mistake("原地修改了输入 x（in-place change of the input）", report_with(eval_normalising_in_place)),
        Mistake("一次把整个输入送进模型，没有分批（no batching: the whole input at once）",
                report_with(eval_whole_input_at_once)),
    ),
    "5.4": (
        Mistake("行列反了：行是真实类别，列是预测类别（transposed confusion matrix）",
                confusion_report_with(confusion_transposed)),
        Mistake("矩阵大小按出现过的标签而不是 num_classes 定（matrix sized by the labels seen）",
                confusion_report_with(confusion_sized_by_labels)),
        Mistake("没有检查标签范围和长度（no ValueError for invalid labels）",
                confusion_report_with(confusion_unchecked)),
        Mistake("计数用了浮点数，应为整数（float counts instead of integers）",
                confusion_report_with(confusion_float_counts)),
        Mistake("counts[y_true, y_pred] += 1 对重复的 (i, j) 只加一次，应用 np.add.at"
                "（fancy-index += drops repeats）",
                confusion_report_with(confusion_fancy_index_increment)),
    ),
    "5.5": (
        Mistake("除以列和（那是精确率），应除以行和（precision instead of per-class recall）",
                accuracy_by_columns),
        Mistake("没有样本的类别得到 nan，应为 0（division by zero gives nan）", accuracy_with_nan),
        Mistake("用 // 整数除法（integer division）", accuracy_integer_division),
        Mistake("原地归一化，修改了输入矩阵（in-place normalisation of the input）",
                accuracy_normalising_in_place),
        Mistake("没有检查非方阵或负计数（no ValueError for invalid matrices）", accuracy_unchecked),
    ),
    "5.6": (
        Mistake("批量之比用了 // 整数除法（integer division of the batch ratio）", lr_floor_ratio),
        Mistake("忽略了 rule，总按线性规则缩放（rule ignored: always linear）", lr_always_linear),
        Mistake("没有检查非法输入（no ValueError for bad inputs）", lr_unchecked),
        Mistake("比值倒了：base_batch / batch_size（inverted batch ratio）", lr_inverted_ratio),
        Mistake("平方根规则把学习率也开了方：sqrt(lr * k)（square root of the learning rate too）",
                lr_sqrt_of_everything),
    ),
    "5.7": (
        Mistake("预热从 0 开始，第 0 步学习率为 0（warm-up from zero: step instead of step + 1）",
                cycle_from_zero),
        Mistake("最后一步衰减到 0，应为 max_lr / (total - warm)（decays to zero: off by one）",
                cycle_to_zero),
        Mistake("预热步数用 int() 截断，应为 round()（int() instead of round()）", cycle_truncated_warmup),
        Mistake("没有检查越界的步数和非法设置（no ValueError for bad inputs）", cycle_unchecked),
        Mistake("用 int(x + 0.5) 四舍五入，而 Python 的 round() 是银行家舍入"
                "（round half up instead of half to even）",
                cycle_round_half_up),
        Mistake("峰值晚了一步（peak one step late）", cycle_peak_one_step_late),
    ),
    "5.8": (
        Mistake("统计量里混入了测试集（data leakage: test statistics used）",
                normalize_with_test_statistics_too),
        Mistake("训练集和测试集各用自己的统计量（each split normalised by its own statistics）",
                normalize_each_split_by_itself),
        Mistake("所有通道共用一个均值和标准差（one mean and std for all channels）",
                normalize_one_mean_for_all_channels),
        Mistake("用了样本标准差 ddof=1，应为总体标准差（sample std instead of population std）",
                normalize_sample_std),
        Mistake("在 uint8 上相减，结果溢出回绕（uint8 overflow: no conversion to float）",
                normalize_in_uint8),
        Mistake("原地修改了输入图像（in-place change of the inputs）", normalize_in_place),
    ),
}
