"""aibook.gpt: size and FLOPs from the formula, attention against PyTorch's, KV cache, initial loss."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from aibook import gpt
from aibook.models import count_parameters

SMALL = gpt.GPTConfig(vocab_size=97, context=16, n_layers=2, d_model=32, n_heads=4)


def tokens(b: int, n: int, vocab: int = 97, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, vocab, (b, n), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("layers,d,heads,vocab,context",
                         [(2, 32, 4, 97, 16), (1, 8, 1, 5, 3), (6, 48, 6, 500, 64)])
def test_parameter_formula_equals_counted_parameters(layers, d, heads, vocab, context):
    cfg = gpt.GPTConfig(vocab, context, layers, d, heads)
    model = gpt.GPT(cfg)
    assert gpt.parameter_count(cfg) == count_parameters(model)
    assert gpt.parameter_count(cfg) == (vocab + context) * d + layers * (12 * d * d + 13 * d) + 2 * d
    assert gpt.non_embedding_count(cfg) == layers * (12 * d * d + 13 * d) + 2 * d
    assert model.head.weight is model.token.weight  # tied, counted once


def test_training_flops_per_token_match_the_flop_counter():
    # the from-scratch attention path: the counter sees its matrix products (it has no formula for
    # the fused CPU attention kernel of some torch versions)
    cfg = gpt.GPTConfig(vocab_size=97, context=16, n_layers=2, d_model=32, n_heads=4, fused_attention=False)
    model, b, n = gpt.GPT(cfg), 3, 16
    x, y = tokens(b, n), tokens(b, n, seed=1)
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x).flatten(0, 1), y.flatten()).backward()
    assert counter.get_total_flops() == gpt.flops_per_token(cfg) * b * n
    # 6N (N = weights used in products) plus the attention term 12·L·T·d
    assert gpt.flops_per_token(cfg, context=1) < gpt.flops_per_token(cfg)


def test_flops_are_about_6n_when_context_is_small_against_width():
    cfg = gpt.GPTConfig(vocab_size=4096, context=128, n_layers=4, d_model=256, n_heads=4)
    ratio = gpt.flops_per_token(cfg) / (6 * gpt.parameter_count(cfg))
    assert 0.9 < ratio < 1.2, ratio


def test_causal_attention_equals_pytorch_sdpa_and_offset_matches_full():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 7, 5, generator=g, dtype=torch.float64) for _ in range(3))
    ours = gpt.causal_attention(q, k, v)
    torch.testing.assert_close(ours, F.scaled_dot_product_attention(q, k, v, is_causal=True))
    # the last 2 queries with all 7 keys (offset 5) = the last 2 rows of the full computation
    torch.testing.assert_close(gpt.causal_attention(q[..., 5:, :], k, v, offset=5), ours[..., 5:, :])
    with pytest.raises(ValueError, match="need 6 keys, got 7"):
        gpt.causal_attention(q[..., 5:, :], k, v, offset=4)


def test_pytorch_is_causal_aligns_top_left_so_a_cache_needs_the_offset():
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(1, 1, n, 4, generator=g) for n in (2, 6, 6))
    wrong = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # query 0 sees key 0 only
    assert not torch.allclose(wrong, gpt.causal_attention(q, k, v, offset=4))


def test_fused_and_from_scratch_attention_give_the_same_model_output():
    torch.manual_seed(0)
    a = gpt.GPT(SMALL)
    b = gpt.GPT(gpt.GPTConfig(**{**SMALL.to_dict(), "fused_attention": False}))
    b.load_state_dict(a.state_dict())
    x = tokens(2, 16)
    torch.testing.assert_close(a(x), b(x), atol=1e-5, rtol=1e-5)


def test_kv_cache_logits_equal_full_forward_and_greedy_tokens_are_identical():
    torch.manual_seed(0)
    model = gpt.GPT(SMALL).double().eval()
    x = tokens(2, 10)
    cache = gpt.KVCache(SMALL.n_layers)
    first = model(x[:, :6], cache)
    steps = [model(x[:, i:i + 1], cache) for i in range(6, 10)]  # one token at a time, offset 6..9
    torch.testing.assert_close(torch.cat([first, *steps], dim=1), model(x))
    assert cache.length == 10
    prompt = tokens(3, 4, seed=2)
    cached = gpt.generate(model, prompt, 12, use_cache=True)
    plain = gpt.generate(model, prompt, 12, use_cache=False)
    assert torch.equal(cached, plain) and cached.shape == (3, 16)


def test_cache_beyond_the_context_is_refused_with_advice():
    model = gpt.GPT(SMALL)
    with pytest.raises(ValueError, match="use_cache=False"):
        gpt.generate(model, tokens(1, 10), 10)
    out = gpt.generate(model, tokens(1, 10), 10, use_cache=False)  # sliding window works
    assert out.shape == (1, 20)
    with pytest.raises(ValueError, match="crop the input"):
        model(tokens(1, 17))


def test_initial_loss_is_ln_v_with_small_init_and_far_larger_with_pytorch_default():
    cfg = gpt.GPTConfig(vocab_size=2000, context=32, n_layers=2, d_model=64, n_heads=4)
    torch.manual_seed(0)
    model = gpt.GPT(cfg)
    x, y = tokens(8, 32, 2000), tokens(8, 32, 2000, seed=1)
    loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten()).item()
    assert abs(loss - math.log(2000)) < 0.05
    torch.nn.init.normal_(model.token.weight)  # nn.Embedding's default N(0, 1)
    big = F.cross_entropy(model(x).flatten(0, 1), y.flatten()).item()
    assert big > math.log(2000) + 10


def test_filter_logits_top_k_and_top_p_boundaries():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isinf(gpt.filter_logits(logits, top_k=2)).tolist() == [[False, False, True, True]]
    # 0.5 < 0.8, 0.5 + 0.3 = 0.8 reaches p exactly: keep the first two only
    assert torch.isinf(gpt.filter_logits(logits, top_p=0.8)).tolist() == [[False, False, True, True]]
    assert torch.isinf(gpt.filter_logits(logits, top_p=0.81)).tolist() == [[False, False, False, True]]
    assert torch.isinf(gpt.filter_logits(logits, top_p=0.4)).tolist() == [[False, True, True, True]]
    shuffled = logits[:, [2, 0, 3, 1]]  # order in the vocabulary does not matter
    assert torch.isinf(gpt.filter_logits(shuffled, top_p=0.8)).tolist() == [[True, False, True, False]]
    with pytest.raises(ValueError, match="top_p"):
        gpt.filter_logits(logits, top_p=0)


def test_sampling_follows_the_filtered_distribution():
    model = gpt.GPT(gpt.GPTConfig(vocab_size=5, context=4, n_layers=1, d_model=8, n_heads=2))
    prompt = torch.zeros(4000, 1, dtype=torch.long)
    g = torch.Generator().manual_seed(0)
    out = gpt.generate(model, prompt, 1, temperature=1.0, top_k=2, generator=g)[:, 1]
    logits = model(prompt[:1])[0, -1]
    want = torch.softmax(gpt.filter_logits(logits, top_k=2), dim=-1)
    freq = torch.bincount(out, minlength=5).double() / len(out)
    assert set(out.unique().tolist()) == set(torch.topk(logits, 2).indices.tolist())
    assert (freq - want.double()).abs().max() < 0.03  # 4000 draws: standard error < 0.008


def test_bad_configs_give_one_line_errors():
    with pytest.raises(ValueError, match="divisible"):
        gpt.GPTConfig(vocab_size=10, d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="vocab_size"):
        gpt.GPTConfig(vocab_size=0)


def test_without_the_causal_mask_a_position_sees_later_tokens():
    torch.manual_seed(0)
    causal = gpt.GPT(SMALL)
    both = gpt.GPT(gpt.GPTConfig(**{**SMALL.to_dict(), "causal": False}))
    both.load_state_dict(causal.state_dict())
    x = tokens(1, 8)
    y = x.clone()
    y[0, -1] = (y[0, -1] + 1) % 97  # change only the last token
    torch.testing.assert_close(causal(x)[:, :-1], causal(y)[:, :-1])  # earlier positions unaffected
    assert not torch.allclose(both(x)[:, :-1], both(y)[:, :-1])


def test_next_token_is_argmax_at_temperature_zero_and_refuses_negative():
    logits = torch.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5]])
    assert gpt.next_token(logits).tolist() == [[1], [0]]
    with pytest.raises(ValueError, match="temperature"):
        gpt.next_token(logits, temperature=-1.0)


@pytest.mark.parametrize("seed", range(5))
def test_top_p_sampling_keeps_the_token_that_crosses_p(seed):
    # probabilities 0.4, 0.3, 0.2, 0.1 and p = 0.6: 0.4 < 0.6, 0.4 + 0.3 >= 0.6, so tokens 0 and 1 are
    # the nucleus (token 1 crosses p and is kept), renormalised to 4/7 and 3/7
    logits = torch.log(torch.tensor([0.4, 0.3, 0.2, 0.1])).expand(20_000, 4)
    g = torch.Generator().manual_seed(seed)
    draws = gpt.next_token(logits, temperature=1.0, top_p=0.6, generator=g).flatten()
    counts = torch.bincount(draws, minlength=4)
    assert counts[2:].sum() == 0 and counts[1] > 0
    assert abs(counts[0].item() / 20_000 - 4 / 7) < 4 * math.sqrt((4 / 7) * (3 / 7) / 20_000)  # 4 s.e.


def test_left_pad_right_aligns_prompts_and_marks_the_pads():
    idx, padding = gpt.left_pad([[5, 6, 7], [8]], pad_id=0)
    assert idx.tolist() == [[5, 6, 7], [0, 0, 8]]
    assert padding.tolist() == [[False, False, False], [True, True, False]]
    with pytest.raises(ValueError, match="at least one token"):
        gpt.left_pad([[1], []], pad_id=0)


def test_padded_forward_gives_each_row_its_own_logits():
    torch.manual_seed(0)
    model = gpt.GPT(SMALL).double().eval()
    prompts = [tokens(1, n, seed=n)[0].tolist() for n in (7, 3, 5)]
    idx, padding = gpt.left_pad(prompts, pad_id=11)
    batched = model(idx, padding=padding)
    for row, p in enumerate(prompts):
        alone = model(torch.tensor([p]))
        torch.testing.assert_close(batched[row, -len(p):], alone[0])
    other = model(idx.masked_fill(padding, 3), padding=padding)  # what the pads hold does not matter
    torch.testing.assert_close(other[~padding], batched[~padding])
    assert not torch.allclose(model(idx)[1, -1], batched[1, -1])  # without the mask row 1 changes


@pytest.mark.parametrize("use_cache", [True, False])
def test_batched_generation_equals_each_prompt_alone(use_cache):
    torch.manual_seed(0)
    model = gpt.GPT(SMALL).double().eval()
    prompts = [tokens(1, n, seed=10 + n)[0].tolist() for n in (1, 6, 3, 4)]
    idx, padding = gpt.left_pad(prompts, pad_id=0)
    new = 16 - idx.shape[1] if use_cache else 14  # without the cache the window slides past the context
    out = gpt.generate(model, idx, new, use_cache=use_cache, padding=padding)
    for row, p in enumerate(prompts):
        alone = gpt.generate(model, torch.tensor([p]), new, use_cache=use_cache)
        assert out[row, idx.shape[1]:].tolist() == alone[0, len(p):].tolist()


def test_cache_keeps_the_padding_of_a_batch_fed_in_pieces():
    torch.manual_seed(0)
    model = gpt.GPT(SMALL).double().eval()
    idx, padding = gpt.left_pad([[1, 2, 3, 4], [5, 6]], pad_id=0)
    cache = gpt.KVCache(SMALL.n_layers)
    first = model(idx[:, :2], cache, padding[:, :2])
    second = model(idx[:, 2:], cache, padding[:, 2:])
    third = model(torch.tensor([[7], [8]]), cache)  # later tokens are real; the cache remembers the pads
    all_padding = torch.cat([padding, torch.zeros(2, 1, dtype=torch.bool)], dim=1)
    full = model(torch.cat([idx, torch.tensor([[7], [8]])], dim=1), padding=all_padding)
    pieces = torch.cat([first, second, third], dim=1)
    torch.testing.assert_close(pieces[~all_padding], full[~all_padding])
    assert cache.padding.tolist() == all_padding.tolist()


def test_repetition_penalty_equals_transformers_processor():
    generation = pytest.importorskip("transformers.generation",
                                     reason="transformers is the reference: pip install -r requirements.txt")
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 97, generator=g, dtype=torch.float64)
    idx = tokens(4, 12)  # with repeats inside each row
    for penalty in (1.3, 0.7):
        theirs = generation.RepetitionPenaltyLogitsProcessor(penalty)(idx, logits.clone())
        torch.testing.assert_close(gpt.penalize_repeats(logits, idx, penalty), theirs)
    assert torch.equal(gpt.penalize_repeats(logits, idx, 1.0), logits)
    with pytest.raises(ValueError, match="must be > 0"):
        gpt.penalize_repeats(logits, idx, 0.0)


def test_repetition_penalty_lowers_seen_tokens_only_and_skips_pads():
    logits = torch.tensor([[2.0, -1.0, 0.5, 3.0]])
    idx = torch.tensor([[0, 1, 3]])
    padding = torch.tensor([[False, False, True]])  # token 3 is a pad here: not seen
    out = gpt.penalize_repeats(logits, idx, 2.0, padding)
    assert out.tolist() == [[1.0, -2.0, 0.5, 3.0]]  # both seen tokens less likely, the pad's id untouched
    padded_and_real = gpt.penalize_repeats(logits, torch.tensor([[3, 3]]), 2.0, torch.tensor([[True, False]]))
    assert padded_and_real.tolist() == [[2.0, -1.0, 0.5, 1.5]]  # the pad id also occurs as a real token
    exempt = torch.tensor([False, True, False, False])
    assert gpt.penalize_repeats(logits, idx, 2.0, exempt=exempt).tolist() == [[1.0, -1.0, 0.5, 1.5]]


@pytest.mark.parametrize("use_cache", [True, False])
def test_generate_with_repetition_penalty_equals_a_step_by_step_decode(use_cache):
    torch.manual_seed(0)
    model = gpt.GPT(SMALL).double().eval()
    prompts = [tokens(1, n, seed=20 + n)[0].tolist() for n in (2, 5)]
    idx, padding = gpt.left_pad(prompts, pad_id=0)
    exempt = torch.zeros(SMALL.vocab_size, dtype=torch.bool)
    exempt[::3] = True
    out = gpt.generate(model, idx, 8, use_cache=use_cache, padding=padding, repetition_penalty=1.5,
                       penalty_exempt=exempt)
    for row, p in enumerate(prompts):
        seq = torch.tensor([p])
        for _ in range(8):  # no cache, no batch: the definition
            last = gpt.penalize_repeats(model(seq)[:, -1], seq, 1.5, exempt=exempt)
            seq = torch.cat([seq, last.argmax(-1, keepdim=True)], dim=1)
        assert out[row, idx.shape[1]:].tolist() == seq[0, len(p):].tolist()
    plain = gpt.generate(model, idx, 8, use_cache=use_cache, padding=padding)
    assert not torch.equal(out, plain)  # the penalty changed something, so the comparison above has teeth
