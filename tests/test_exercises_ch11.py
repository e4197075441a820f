"""Chapter 11's question bank: every reference equals an independent implementation on the inputs the
grader draws (seeds 0-4), and typical mistakes fail the test made for them.

The checks every chapter shares (sync, points, any seed, "not done", every catalogued mistake loses
points and is named) are in test_exercises.py and test_mistakes.py.
"""

from __future__ import annotations

import math
import os
from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from aibook import bpe
from aibook.compression import quantize_weight_int8
from aibook.gpt import CausalSelfAttention, GPTConfig
from aibook.grader.banks import ch11, find_question
from aibook.grader.check import failing_tests
from aibook.grader.integrity import library_answers
from aibook.grader.mistakes import ch11 as mistakes
from aibook.grader.questions import inputs_rng

# the wrong answers divide by zero and overflow on purpose
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

SEEDS = range(5)


def grader_calls(question_id: str):
    """Every call the grader makes for this question's value tests, on seeds 0-4."""
    question = find_question(question_id)
    for seed in SEEDS:
        for index, test in enumerate(question.tests):
            if not test.raises:
                yield from test.calls(inputs_rng(seed, question.id, index))


def t64(a) -> torch.Tensor:
    return torch.tensor(np.asarray(a), dtype=torch.float64)


# --- references against independent implementations -------------------------------------------------


def test_bpe_merge_steps_repeat_the_tokenizers_training():
    """Merging step by step from the pieces and their counts gives aibook.bpe.train_merges' merges
    (itself equal to Hugging Face tokenizers), ties included: on printable ASCII without spaces the
    tokenizers' byte order is the byte values' order, so both tie rules pick the same pair."""
    words = ["low"] * 5 + ["lower"] * 2 + ["newest"] * 6 + ["widest"] * 3 + ["slow", "slower!", "lowest?"]
    texts = [",".join(words), "newer;wider;lowly"]
    counts = Counter(p for text in texts for p in bpe.split_pieces(text))
    assert all(0x21 <= b <= 0x7E for p in counts for b in p.encode())
    pieces, weights = [list(p.encode()) for p in counts], list(counts.values())
    expected = bpe.train_merges(texts, 12)
    assert len(expected) == 12
    for step, pair in enumerate(expected):
        merged, pieces = ch11.bpe_merge_step_reference(pieces, weights, 256 + step)
        assert merged == pair, step


def test_causal_self_attention_equals_the_gpt_layer_with_fused_sdpa():
    for x, W_qkv, b_qkv, W_proj, b_proj, heads in (c.args for c in grader_calls("11.2")):
        d = x.shape[-1]
        layer = CausalSelfAttention(GPTConfig(vocab_size=2, d_model=d, n_heads=heads, fused_attention=True))
        layer = layer.double()
        with torch.no_grad():
            layer.qkv.weight.copy_(t64(W_qkv))
            layer.qkv.bias.copy_(t64(b_qkv))
            layer.proj.weight.copy_(t64(W_proj))
            layer.proj.bias.copy_(t64(b_proj))
            theirs = layer(t64(x).reshape(-1, *x.shape[-2:])).reshape(x.shape).numpy()
        ours = ch11.causal_self_attention_reference(x, W_qkv, b_qkv, W_proj, b_proj, heads)
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_sft_loss_equals_cross_entropy_on_a_boolean_response_mask():
    for logits, tokens, prompts, lengths in (c.args for c in grader_calls("11.3")):
        position = np.arange(1, tokens.shape[1])[None, :]  # positions of the targets tokens[:, 1:]
        counted = torch.tensor((position >= prompts[:, None]) & (position < lengths[:, None]))
        losses = F.cross_entropy(t64(logits[:, :-1]).transpose(1, 2), torch.tensor(tokens[:, 1:]),
                                 reduction="none")
        expected = float(losses[counted].sum() / counted.sum())
        assert ch11.sft_loss_reference(logits, tokens, prompts, lengths) == pytest.approx(expected, rel=1e-12)


def test_lora_forward_equals_peft():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    peft = pytest.importorskip("peft", reason="peft is the test's reference: pip install -r requirements.txt")
    for x, W, b, A, B, alpha in (c.args for c in grader_calls("11.4")):
        base = torch.nn.Sequential(torch.nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64))
        with torch.no_grad():
            base[0].weight.copy_(t64(W))
            base[0].bias.copy_(t64(b))
        config = peft.LoraConfig(r=A.shape[0], lora_alpha=alpha, target_modules=["0"], lora_dropout=0.0)
        model = peft.get_peft_model(base, config)
        layer = model.base_model.model[0]
        with torch.no_grad():
            layer.lora_A["default"].weight.copy_(t64(A))
            layer.lora_B["default"].weight.copy_(t64(B))
            y = model(t64(x)).numpy()
            merged = model.merge_and_unload()[0].weight.numpy()
        ours = ch11.lora_forward_reference(x, W, b, A, B, alpha)
        np.testing.assert_allclose(ours[0], y, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours[1], merged, rtol=1e-10, atol=1e-12)


def test_dpo_loss_equals_the_papers_formula_and_is_ln_2_at_the_start():
    for pc, pr, rc, rr, beta in (c.args for c in grader_calls("11.5")):
        margin = beta * ((pc - rc) - (pr - rr))
        loss, chosen, rejected = ch11.dpo_loss_reference(pc, pr, rc, rr, beta)
        assert loss == pytest.approx(float(np.mean(np.logaddexp(0.0, -margin))), rel=1e-12)
        np.testing.assert_allclose(chosen - rejected, margin, rtol=1e-9, atol=1e-9)
    same = np.array([-12.0, -30.5])
    assert ch11.dpo_loss_reference(same, same - 1, same, same - 1, 0.3)[0] == pytest.approx(math.log(2))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("m, n", [(0, 3), (5, 1), (4, 3), (9, 3)])
def test_kv_cache_step_equals_decoding_without_a_cache(m, n, seed):
    """The cached step's output is the last n rows of causal attention over the whole sequence
    (F.scaled_dot_product_attention with is_causal=True), and its cache the whole sequence's keys."""
    rng = np.random.default_rng(seed)
    d, d_k, context = 6, 4, 12
    x, position = rng.normal(size=(m + n, d)), rng.normal(size=(context, d))
    W_q, W_k, W_v = (rng.normal(size=(d_k, d)) for _ in range(3))
    h = t64(x + position[: m + n])
    q, k, v = (h @ t64(w).T for w in (W_q, W_k, W_v))
    full = F.scaled_dot_product_attention(q, k, v, is_causal=True).numpy()
    cache_k, cache_v = k[:m].numpy(), v[:m].numpy()
    out, k_all, v_all = ch11.kv_cache_step_reference(x[m:], cache_k, cache_v, position, W_q, W_k, W_v)
    np.testing.assert_allclose(out, full[m:], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(k_all, k.numpy(), rtol=1e-12)
    np.testing.assert_allclose(v_all, v.numpy(), rtol=1e-12)


def test_top_p_equals_transformers_top_p_warper():
    from transformers import TopPLogitsWarper

    calls = list(grader_calls("11.7"))
    assert any(c.args[1] == 1.0 for c in calls)
    for logits, p in (c.args for c in calls):
        scores = t64(np.atleast_2d(logits))
        theirs = torch.softmax(TopPLogitsWarper(top_p=p)(None, scores), dim=-1).numpy()
        np.testing.assert_allclose(ch11.top_p_probs_reference(logits, p), theirs.reshape(np.shape(logits)),
                                   rtol=1e-12, atol=1e-15)


def test_top_p_keeps_the_token_that_crosses_p():
    probs = ch11.top_p_probs_reference(np.log([0.5, 0.3, 0.15, 0.05]), 0.7)
    np.testing.assert_allclose(probs, [0.625, 0.375, 0.0, 0.0], atol=1e-12)


@pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning")  # deprecated, still the reference
def test_int8_equals_torch_per_channel_quantization_and_the_library():
    for (w,) in (c.args for c in grader_calls("11.8")):
        q, scale, w_hat = ch11.int8_roundtrip_reference(w)
        zero_points = torch.zeros(len(w), dtype=torch.long)
        quantized = torch.quantize_per_channel(t64(w).float(), t64(scale), zero_points, 0, torch.qint8)
        np.testing.assert_array_equal(q, quantized.int_repr().numpy())
        np.testing.assert_allclose(w_hat, quantized.dequantize().numpy(), rtol=1e-6)
        library_q, library_scale = quantize_weight_int8(t64(w))
        np.testing.assert_array_equal(q, library_q.numpy())
        np.testing.assert_allclose(scale, library_scale.numpy(), rtol=1e-6)
        assert np.all(np.abs(w - w_hat) <= scale[:, None] / 2 + 1e-12)
        ratio = np.abs(w) / scale[:, None]
        assert np.all(np.abs(ratio - np.floor(ratio) - 0.5) > 1e-6), "a test input sits on a rounding tie"


def test_the_library_functions_that_are_answers_are_flagged():
    """A learner's call of these (statically or seen in the kernel) scores the question 0."""
    assert [library_answers(q) for q in ch11.QUESTIONS] == [
        ("aibook.bpe.merge_pair",), ("aibook.gpt.causal_attention",),
        ("aibook.finetune.sft_example", "aibook.finetune.sft_loss"),
        ("aibook.finetune.add_lora", "aibook.finetune.merge_lora"), ("aibook.finetune.dpo_loss",),
        ("aibook.gpt.causal_attention",), ("aibook.gpt.filter_logits",),
        ("aibook.compression.dequantize_weight_int8",)]


# --- typical mistakes, each caught by the test written for it ---------------------------------------


REPEATED = "repeated tokens: pairs overlap when counted, not when merged"
SHIFTED = "3 new tokens after 4 cached ones: the mask is shifted by the offset"


@pytest.mark.parametrize("qid, answer, failing", [
    ("11.1", mistakes.bpe_unweighted, "each piece counts as often as it occurs in the corpus"),
    ("11.1", mistakes.bpe_non_overlapping_count, REPEATED),
    ("11.1", mistakes.bpe_merge_right_to_left, REPEATED),
    ("11.1", mistakes.bpe_tie_first_seen, "a tie goes to the smallest pair"),
    ("11.1", mistakes.bpe_across_pieces, "pairs never cross from one piece into the next"),
    ("11.2", mistakes.attention_scaled_by_model_width, "4 heads, 6 tokens of width 8"),
    ("11.2", mistakes.attention_heads_by_reshape, "4 heads, 6 tokens of width 8"),
    ("11.3", mistakes.sft_padding_counted, "a padded batch of 3 examples"),
    ("11.3", mistakes.sft_mean_per_sequence, "the mean is over all response tokens of the batch"),
    ("11.3", mistakes.sft_log_of_softmax, "large logits do not overflow"),
    ("11.4", mistakes.lora_scaled_by_alpha, "r = 4, alpha = 16: the update is scaled by alpha / r = 4"),
    ("11.5", mistakes.dpo_log_of_sigmoid, "huge margins stay finite"),
    ("11.5", mistakes.dpo_without_reference, "the policy equals the reference: loss ln 2, rewards 0"),
    ("11.6", mistakes.kv_positions_from_zero, "one new token after 5 cached ones"),
    ("11.6", mistakes.kv_mask_without_offset, SHIFTED),
    ("11.7", mistakes.top_p_drops_crossing_token, "the most likely token alone passes p"),
    ("11.7", mistakes.top_p_left_sorted, "the vocabulary is not sorted by probability"),
    ("11.8", mistakes.int8_per_tensor_scale, "rows of very different sizes: each row gets its own scale"),
    ("11.8", mistakes.int8_zero_row_unguarded, "an all-zero row gets scale 1 and q = 0"),
], ids=lambda v: v if isinstance(v, str) and v.startswith("11.") else None)
def test_typical_mistakes_fail_the_test_made_for_them(qid, answer, failing):
    assert failing in failing_tests(qid, answer, seed=7)


@pytest.mark.parametrize("answer, qid", [
    (mistakes.kv_no_mask, "11.6"), (mistakes.kv_mask_without_offset, "11.6"),
    (mistakes.top_p_unsorted_cumsum, "11.7"), (mistakes.bpe_tie_largest, "11.1")])
def test_subtle_mistakes_pass_the_easy_tests(answer, qid):
    """A mask without the offset is right when one token is decoded at a time: only the test with
    several new tokens after a cache catches it (likewise sorting and ties)."""
    question = find_question(qid)
    assert 0 < len(failing_tests(qid, answer, seed=7)) < len(question.tests)
