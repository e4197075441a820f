"""Chapter 5's question bank: the references agree with the chapter's models, and typical mistakes
are each caught by the test written for them.

The checks every chapter shares (sync, points, any seed, "not done") are in test_exercises.py.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from aibook.grader.banks import ch05, find_question
from aibook.grader.check import failing_tests, local_runner
from aibook.grader.mistakes import mistakes_for
from aibook.grader.mistakes.ch05 import (
    accuracy_by_columns,
    accuracy_integer_division,
    accuracy_normalising_in_place,
    accuracy_unchecked,
    accuracy_with_nan,
    confusion_fancy_index_increment,
    confusion_float_counts,
    confusion_report_with,
    confusion_sized_by_labels,
    confusion_transposed,
    confusion_unchecked,
    cycle_from_zero,
    cycle_peak_one_step_late,
    cycle_round_half_up,
    cycle_to_zero,
    cycle_truncated_warmup,
    cycle_unchecked,
    eval_drop_last,
    eval_grad_switched_off,
    eval_normalising_in_place,
    eval_not_restoring_mode,
    eval_whole_input_at_once,
    eval_with_autograd,
    eval_without_eval_mode,
    flattened_no_blocks_is_zero,
    flattened_rounding,
    flattened_times_channels,
    flattened_true_division,
    flattened_unchecked,
    lr_always_linear,
    lr_floor_ratio,
    lr_inverted_ratio,
    lr_sqrt_of_everything,
    lr_unchecked,
    normalize_each_split_by_itself,
    normalize_in_place,
    normalize_in_uint8,
    normalize_one_mean_for_all_channels,
    normalize_sample_std,
    normalize_with_test_statistics_too,
    report_with,
    shape_conv_keeps_channels,
    shape_padding_one_side,
    shape_pool_rounds_up,
    shape_unchecked,
    shape_without_padding,
)
from aibook.grader.questions import inputs_rng, run_question

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


# --- 5.3 and 5.4 grade a given wrapper: the catalogue's copy agrees with the notebook's ---------


def _given(question_id, inner):
    """The answer cell's given wrapper (read from the solution notebook), calling ``inner``
    instead of the solution's function."""
    cell = next(c for c in nbformat.read(SOLUTION, as_version=4).cells
                if c.metadata.get("aibook", {}).get("question") == question_id)
    namespace = {"torch": torch, "np": np}
    exec(cell.source, namespace)
    namespace["evaluate_logits" if question_id == "5.3" else "confusion_matrix"] = inner
    return namespace[find_question(question_id).name]


def _outcome(function, c):
    """What ``function`` gives on call ``c``: the error type, or the values with tensors as arrays,
    and the arguments afterwards; the global grad mode is restored."""
    args = copy.deepcopy(c.args)
    try:
        value = function(*args, **copy.deepcopy(c.kwargs))
    except Exception as exc:  # a wrong answer may raise anything
        return type(exc).__name__, args
    finally:
        torch.set_grad_enabled(True)
    return [v.detach().numpy() if isinstance(v, torch.Tensor) else v for v in value], args


@pytest.mark.parametrize("mistake", mistakes_for("5.3") + mistakes_for("5.4"),
                         ids=lambda m: m.answer.__name__)
def test_the_catalogue_wraps_a_mistake_as_the_notebook_does(mistake):
    qid = "5.3" if mistake in mistakes_for("5.3") else "5.4"
    question = find_question(qid)
    for index, test in enumerate(question.tests):
        for c in test.calls(inputs_rng(0, qid, index)):
            given, ours = _outcome(_given(qid, mistake.answer.inner), c), _outcome(mistake.answer, c)
            assert repr(given) == repr(ours), (test.name, given, ours)


@pytest.mark.parametrize("seed", (0, 7))
@pytest.mark.parametrize("mistake", mistakes_for("5.3") + mistakes_for("5.4"),
                         ids=lambda m: m.answer.__name__)
def test_a_mistake_inside_the_notebook_s_wrapper_is_named_as_check_names_it(mistake, seed):
    """``check`` runs the answer in the learner's process, where a wrong loop may leave autograd
    off before the catalogue is tried: the mistake is still named."""
    qid = "5.3" if mistake in mistakes_for("5.3") else "5.4"
    question = find_question(qid)
    result = run_question(question, local_runner(_given(qid, mistake.answer.inner), question.name),
                          seed)
    assert result.points < result.max_points and mistake.name in result.message, result.message


@pytest.fixture(autouse=True)
def _restore_grad_mode():
    yield
    torch.set_grad_enabled(True)


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
    ("5.3", report_with(eval_without_eval_mode),
     "a model in training mode: evaluate in eval mode, then switch it back"),
    ("5.3", report_with(eval_not_restoring_mode),
     "a model in training mode: evaluate in eval mode, then switch it back"),
    ("5.3", report_with(eval_with_autograd), "a model in eval mode, batches that divide the data"),
    ("5.3", report_with(eval_grad_switched_off), "a model in eval mode, batches that divide the data"),
    ("5.3", report_with(eval_drop_last), "the last batch is smaller: no sample dropped"),
    ("5.3", report_with(eval_normalising_in_place), "does not modify its input"),
    ("5.3", report_with(eval_whole_input_at_once), "a model in eval mode, batches that divide the data"),
    ("5.4", confusion_report_with(confusion_transposed), "rows are true classes, columns predicted classes"),
    ("5.4", confusion_report_with(confusion_sized_by_labels),
     "a class absent from both labels still has a row and a column"),
    ("5.4", confusion_report_with(confusion_unchecked),
     "labels outside 0..num_classes-1 or lengths that differ raise ValueError"),
    ("5.4", confusion_report_with(confusion_float_counts), "three classes, six samples, integer counts"),
    ("5.4", confusion_report_with(confusion_fancy_index_increment),
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
