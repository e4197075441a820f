"""Chapter 11 (项目实战（二）：从零构建中文小语言模型) exercises: one BPE merge step, multi-head causal
self-attention, the prompt-masked SFT loss, LoRA's forward pass and merge, the DPO loss, one KV-cache
decoding step with its position offset, top-p filtering and per-row int8 quantisation (8 questions).

The references use the chapter's own library where it has the answer (``aibook.bpe.merge_pair``,
``aibook.gpt.causal_attention`` and ``filter_logits``, ``aibook.finetune``'s ``sft_example``,
``sft_loss``, ``LoRALinear`` and ``dpo_loss``), run in float64; int8 is a float64 NumPy formula (the
library works in float32, whose rounding may differ at a .5 boundary). ``tests/test_exercises_ch11.py``
checks each reference against an independent one: ``F.scaled_dot_product_attention``, ``peft``,
``transformers``' top-p warper, ``torch.quantize_per_channel``, the paper's DPO formula, decoding
without a cache and ``aibook.bpe.train_merges``. The text in ``solutions/ch11.ipynb`` states each test
and its points.
"""

# Over 300 lines on purpose: a question bank is data, and one source per exercise set keeps each
# question's text, reference answer and tests together.

from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from aibook import bpe, compression, finetune, gpt
from aibook.grader.questions import Call, Question, Test, call

# --- 11.1 one BPE merge step -------------------------------------------------------------------


def bpe_merge_step_reference(pieces, counts, new_id):
    """(pair, pieces): the most frequent adjacent pair inside the pieces (weighted by ``counts``;
    ties: the smallest pair), and every piece with that pair merged by ``aibook.bpe.merge_pair``."""
    if len(pieces) != len(counts):
        raise ValueError(f"{len(pieces)} pieces but {len(counts)} counts")
    pair_counts: Counter = Counter()
    for ids, count in zip(pieces, counts, strict=True):
        for a, b in zip(ids, ids[1:], strict=False):
            pair_counts[(int(a), int(b))] += int(count)
    if not pair_counts:
        raise ValueError("no piece has two tokens: nothing to merge")
    best = max(pair_counts.values())
    pair = min(p for p, c in pair_counts.items() if c == best)
    return pair, [bpe.merge_pair([int(t) for t in ids], pair, new_id) for ids in pieces]


def _utf8(*words: str) -> list[list[int]]:
    return [list(w.encode("utf-8")) for w in words]


def _random_pieces(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(5):
        n = int(rng.integers(3, 9))
        pieces = [[int(t) for t in rng.integers(0, 6, size=int(rng.integers(1, 8)))] for _ in range(n)]
        pieces[0] += [int(rng.integers(0, 6))] * 2  # at least one pair
        calls.append(call(pieces, [int(c) for c in rng.integers(1, 20, size=n)], 256))
    return calls


BPE_MERGE_STEP = Question(
    "11.1", "bpe_merge_step", "one training step of byte-pair encoding (count pairs, merge the best)",
    params=("pieces", "counts", "new_id"), outputs=("pair", "pieces"),
    reference=bpe_merge_step_reference,
    tests=(
        Test("a small example: one pair is clearly the most frequent", 2,
             lambda rng: [call([[1, 2, 3, 1, 2], [2, 3, 1, 2]], [1, 1], 4)],
             hint="count every adjacent pair (a, b) with zip(ids, ids[1:])"),
        Test("each piece counts as often as it occurs in the corpus", 2,
             lambda rng: [call(_utf8("低头", "思故乡", "乡"), [1, 7, 2], 256),
                          call([[5, 6, 5, 6, 5, 6], [7, 8]], [1, 4], 300)],
             hint="a piece that occurs `count` times adds `count` to each of its pairs"),
        Test("repeated tokens: pairs overlap when counted, not when merged", 2,
             lambda rng: [call([[5, 5, 5], [1, 2], [5, 5, 5, 5]], [3, 6, 1], 9)],
             hint="[5, 5, 5] holds the pair (5, 5) twice, but merges left to right into [9, 5]"),
        Test("a tie goes to the smallest pair", 1,
             lambda rng: [call(_utf8("low", "lower", "newest", "widest"), [5, 2, 6, 3], 256),
                          call([[9, 8], [3, 4], [2, 7]], [2, 2, 2], 10)],
             hint="among equally frequent pairs take min(...), comparing (a, b) as tuples"),
        Test("pairs never cross from one piece into the next", 1,
             lambda rng: [call([[4, 1], [2, 9], [4, 1], [2, 8], [3, 3]], [1, 1, 1, 1, 1], 50)],
             hint="count pairs inside each piece only: pieces are split at spaces and punctuation"),
        Test("5 random corpora", 1, _random_pieces),
        Test("nothing to merge raises ValueError", 1,
             lambda rng: [call([[1], [2], [3]], [4, 5, 6], 7), call([], [], 7)],
             raises="ValueError", hint="when no piece has two tokens, raise ValueError"),
    ),
)


# --- 11.2 multi-head causal self-attention -----------------------------------------------------


def causal_self_attention_reference(x, W_qkv, b_qkv, W_proj, b_proj, n_heads):
    """The GPT's attention layer in float64: q, k, v from one projection, split into heads,
    ``aibook.gpt.causal_attention`` per head, heads joined, output projection."""
    t = torch.tensor(np.asarray(x), dtype=torch.float64)
    d = t.shape[-1]
    if d % n_heads:
        raise ValueError(f"d_model {d} is not divisible by n_heads {n_heads}")
    qkv = t @ torch.tensor(W_qkv).T + torch.tensor(b_qkv)
    heads = [h.unflatten(-1, (n_heads, d // n_heads)).transpose(-3, -2) for h in qkv.split(d, dim=-1)]
    out = gpt.causal_attention(*heads).transpose(-3, -2).flatten(-2)
    return (out @ torch.tensor(W_proj).T + torch.tensor(b_proj)).numpy()


def _attention_case(rng: np.random.Generator, batch: tuple, t: int, d: int, heads: int,
                    scale: float = 1.0) -> Call:
    w = 1 / np.sqrt(d)
    return call(rng.normal(size=(*batch, t, d)) * scale, rng.normal(size=(3 * d, d)) * w,
                rng.normal(size=3 * d) * 0.1, rng.normal(size=(d, d)) * w, rng.normal(size=d) * 0.1, heads)


CAUSAL_SELF_ATTENTION = Question(
    "11.2", "causal_self_attention", "multi-head causal self-attention of a GPT block",
    params=("x", "W_qkv", "b_qkv", "W_proj", "b_proj", "n_heads"), outputs=("out",),
    reference=causal_self_attention_reference,
    tests=(
        Test("one head, 4 tokens of width 4", 2, lambda rng: [_attention_case(rng, (), 4, 4, 1)],
             hint="scores q @ k.T / sqrt(d_head); position i sees positions 0..i (itself included)"),
        Test("4 heads, 6 tokens of width 8", 2, lambda rng: [_attention_case(rng, (), 6, 8, 4)],
             hint="reshape (T, d) to (T, h, d/h), then move the head axis first: (h, T, d/h)"),
        Test("a batch of 2 sequences (2, 5, 6), 3 heads", 1,
             lambda rng: [_attention_case(rng, (2,), 5, 6, 3)],
             hint="keep the batch axis in front: k.swapaxes(-1, -2), not k.T"),
        Test("one token sees only itself", 1, lambda rng: [_attention_case(rng, (), 1, 6, 2)]),
        Test("large scores do not overflow", 1, lambda rng: [_attention_case(rng, (), 5, 4, 2, scale=30.0)],
             hint="subtract the row maximum before np.exp; masked scores are -inf"),
        Test("does not modify its inputs", 1, lambda rng: [_attention_case(rng, (), 3, 4, 2)],
             unmodified=True),
    ),
)


# --- 11.3 the prompt-masked SFT loss -------------------------------------------------------------


def sft_loss_reference(logits, tokens, prompt_lengths, lengths):
    """Mean cross-entropy over the response targets of the batch: targets from
    ``aibook.finetune.sft_example`` (prompt masked), loss by ``aibook.finetune.sft_loss``."""
    tokens = np.asarray(tokens)
    targets = np.full(tokens.shape, finetune.IGNORE_INDEX)
    for row, (p, n) in enumerate(zip(prompt_lengths, lengths, strict=True)):
        if not 1 <= p < n <= tokens.shape[1]:
            raise ValueError(f"row {row}: need 1 <= prompt length < length <= {tokens.shape[1]}")
        ids = [int(t) for t in tokens[row, :n]]
        _, row_targets = finetune.sft_example(ids[:p], ids[p:])
        targets[row, : n - 1] = row_targets
    return float(finetune.sft_loss(torch.tensor(np.asarray(logits), dtype=torch.float64),
                                   torch.tensor(targets)))


def _sft_case(rng: np.random.Generator, prompts: list[int], lengths: list[int], vocab: int = 7,
              scale: float = 2.0, pad: int = 0) -> Call:
    width = max(lengths) + pad
    tokens = rng.integers(1, vocab, size=(len(lengths), width))
    for row, n in enumerate(lengths):
        tokens[row, n:] = 0  # padding
    return call(rng.normal(size=(len(lengths), width, vocab)) * scale, tokens, np.array(prompts),
                np.array(lengths))


SFT_LOSS = Question(
    "11.3", "sft_loss", "next-token loss of supervised fine-tuning, counted on the response only",
    params=("logits", "tokens", "prompt_lengths", "lengths"), outputs=("loss",),
    reference=sft_loss_reference,
    tests=(
        Test("one example: a 3-token prompt and a 3-token response", 2,
             lambda rng: [_sft_case(rng, [3], [6])],
             hint="logits[b, t] predicts tokens[b, t + 1]; count a target when prompt_length <= t + 1"),
        Test("a padded batch of 3 examples", 2, lambda rng: [_sft_case(rng, [2, 4, 3], [5, 7, 4], pad=1)],
             hint="targets at t + 1 >= length are padding: do not count them"),
        Test("a one-token prompt: every later token is a target", 1, lambda rng: [_sft_case(rng, [1], [5])]),
        Test("the mean is over all response tokens of the batch", 2,
             lambda rng: [_sft_case(rng, [2, 9], [4, 30], vocab=5)],
             hint="sum the losses of every counted target, then divide by how many there are"),
        Test("large logits do not overflow", 1, lambda rng: [_sft_case(rng, [2, 3], [6, 5], scale=1000.0)],
             hint="log-softmax: logits - max - log(sum(exp(logits - max)))"),
        Test("does not modify its inputs", 1, lambda rng: [_sft_case(rng, [2, 2], [4, 5])], unmodified=True),
    ),
)


# --- 11.4 LoRA: forward pass and merged weight -------------------------------------------------


def lora_forward_reference(x, W, b, A, B, alpha):
    """(y, W_merged) with ``aibook.finetune.add_lora`` and ``merge_lora`` on one float64 layer:
    y = x Wᵀ + b + (α/r) x Aᵀ Bᵀ, W_merged = W + (α/r) B A."""
    W, A, B = (torch.tensor(np.asarray(a), dtype=torch.float64) for a in (W, A, B))
    model = torch.nn.Sequential(torch.nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64))
    with torch.no_grad():
        model[0].weight.copy_(W)
        model[0].bias.copy_(torch.tensor(np.asarray(b), dtype=torch.float64))
        finetune.add_lora(model, ("0",), r=A.shape[0], alpha=alpha)
        model[0].lora_A.copy_(A)
        model[0].lora_B.copy_(B)
        y = model(torch.tensor(np.asarray(x), dtype=torch.float64))
        return y.numpy(), finetune.merge_lora(model)[0].weight.detach().numpy()


def _lora_case(rng: np.random.Generator, batch: tuple, n_in: int, n_out: int, r: int, alpha: float,
               zero_b: bool = False) -> Call:
    B = np.zeros((n_out, r)) if zero_b else rng.normal(size=(n_out, r))
    return call(rng.normal(size=(*batch, n_in)), rng.normal(size=(n_out, n_in)) / np.sqrt(n_in),
                rng.normal(size=n_out), rng.normal(size=(r, n_in)), B, alpha)


LORA_FORWARD = Question(
    "11.4", "lora_forward", "a LoRA layer: output and merged weight W + (alpha / r) B A",
    params=("x", "W", "b", "A", "B", "alpha"), outputs=("y", "W_merged"),
    reference=lora_forward_reference,
    tests=(
        Test("one input vector, r = 2, alpha = 2", 2, lambda rng: [_lora_case(rng, (), 5, 3, 2, 2.0)],
             hint="y = x @ W.T + b + (alpha / r) * (x @ A.T) @ B.T"),
        Test("r = 4, alpha = 16: the update is scaled by alpha / r = 4", 2,
             lambda rng: [_lora_case(rng, (3,), 6, 4, 4, 16.0)],
             hint="r is the number of rows of A; the scale is alpha / r, in y and in W_merged"),
        Test("B = 0 at the start: the layer is the base layer", 1,
             lambda rng: [_lora_case(rng, (2,), 4, 6, 2, 8.0, zero_b=True)]),
        Test("r = 1 on a batch of sequences (2, 3, in)", 1,
             lambda rng: [_lora_case(rng, (2, 3), 7, 5, 1, 4.0)],
             hint="x @ A.T works for any number of leading axes"),
        Test("a wide layer (in < out), alpha = 1", 1, lambda rng: [_lora_case(rng, (4,), 3, 8, 2, 1.0)]),
        Test("does not modify its inputs", 1, lambda rng: [_lora_case(rng, (2,), 4, 3, 2, 4.0)],
             unmodified=True, hint="W_merged = W + ..., not W += ..."),
    ),
)


# --- 11.5 the DPO loss ---------------------------------------------------------------------------


def dpo_loss_reference(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta):
    """(loss, chosen rewards, rejected rewards) by ``aibook.finetune.dpo_loss`` in float64."""
    t = [torch.tensor(np.asarray(a), dtype=torch.float64)
         for a in (policy_chosen, policy_rejected, ref_chosen, ref_rejected)]
    loss, chosen, rejected = finetune.dpo_loss(*t, beta)
    return float(loss), chosen.numpy(), rejected.numpy()


def _logps(rng: np.random.Generator, n: int, spread: float = 5.0) -> list[np.ndarray]:
    """Sequence log-probabilities (negative) of n pairs under the policy and the reference."""
    ref = -rng.uniform(10, 40, size=(2, n))
    return [ref[0] + rng.normal(size=n) * spread, ref[1] + rng.normal(size=n) * spread, ref[0], ref[1]]


def _dpo_equal(rng: np.random.Generator) -> list[Call]:
    ref = -rng.uniform(10, 40, size=(2, 6))
    return [call(ref[0], ref[1], ref[0].copy(), ref[1].copy(), 0.1)]


def _dpo_extreme(rng: np.random.Generator) -> list[Call]:
    pc, pr, rc, rr = _logps(rng, 4)
    return [call(pc + 20_000.0, pr, rc, rr, 0.1), call(pc - 20_000.0, pr, rc, rr, 0.1)]


DPO_LOSS = Question(
    "11.5", "dpo_loss", "the DPO loss and the implicit rewards of a batch of preference pairs",
    params=("policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected", "beta"),
    outputs=("loss", "chosen_rewards", "rejected_rewards"),
    reference=dpo_loss_reference,
    tests=(
        Test("the policy equals the reference: loss ln 2, rewards 0", 1, _dpo_equal,
             hint="the rewards are beta * (policy - reference) log-probabilities"),
        Test("8 random pairs, beta = 0.1", 2, lambda rng: [call(*_logps(rng, 8), 0.1)],
             hint="loss = mean(-log sigmoid(chosen_reward - rejected_reward))"),
        Test("beta = 0.5 scales the rewards inside the sigmoid", 1, lambda rng: [call(*_logps(rng, 5), 0.5)],
             hint="beta multiplies the log-ratios before the sigmoid, not the loss after it"),
        Test("huge margins stay finite", 2, _dpo_extreme,
             hint="-log sigmoid(z) = log(1 + exp(-z)) = np.logaddexp(0, -z)"),
        Test("beta <= 0 raises ValueError", 1,
             lambda rng: [call(*_logps(rng, 3), 0.0), call(*_logps(rng, 3), -0.1)], raises="ValueError"),
        Test("does not modify its inputs", 1, lambda rng: [call(*_logps(rng, 4), 0.2)], unmodified=True),
    ),
)


# --- 11.6 one decoding step with a KV cache ------------------------------------------------------


def kv_cache_step_reference(x_new, k_cache, v_cache, position, W_q, W_k, W_v):
    """(out, k_all, v_all): positions continue at the cache length m, and query i attends to keys
    0..m+i (``aibook.gpt.causal_attention`` with offset m), in float64."""
    m, n = len(k_cache), len(x_new)
    if m + n > len(position):
        raise ValueError(f"{m} cached + {n} new positions exceed the context of {len(position)}")
    t = {k: torch.tensor(np.asarray(a), dtype=torch.float64) for k, a in
         dict(x=x_new, kc=k_cache, vc=v_cache, pos=position, wq=W_q, wk=W_k, wv=W_v).items()}
    h = t["x"] + t["pos"][m : m + n]
    k_all = torch.cat([t["kc"].reshape(m, len(t["wk"])), h @ t["wk"].T])
    v_all = torch.cat([t["vc"].reshape(m, len(t["wv"])), h @ t["wv"].T])
    out = gpt.causal_attention(h @ t["wq"].T, k_all, v_all, offset=m)
    return out.numpy(), k_all.numpy(), v_all.numpy()


def _kv_case(rng: np.random.Generator, m: int, n: int, context: int = 12, d: int = 6, d_k: int = 4) -> Call:
    """The cache holds what the same weights computed for m earlier tokens, as in a real decode."""
    x = rng.normal(size=(m + n, d))
    position = rng.normal(size=(context, d))
    W_q, W_k, W_v = (rng.normal(size=(d_k, d)) / np.sqrt(d) for _ in range(3))
    h = x[:m] + position[:m]
    return call(x[m:], h @ W_k.T, h @ W_v.T, position, W_q, W_k, W_v)


KV_CACHE_STEP = Question(
    "11.6", "kv_cache_step", "one decoding step with a KV cache: position offset and causal mask",
    params=("x_new", "k_cache", "v_cache", "position", "W_q", "W_k", "W_v"),
    outputs=("out", "k_all", "v_all"),
    reference=kv_cache_step_reference,
    tests=(
        Test("an empty cache: the prompt's 3 tokens at once", 2, lambda rng: [_kv_case(rng, 0, 3)],
             hint="with m = 0 this is causal self-attention of the 3 tokens"),
        Test("one new token after 5 cached ones", 2, lambda rng: [_kv_case(rng, 5, 1)],
             hint="the new token sits at position m = len(k_cache): add position[m], not position[0]"),
        Test("3 new tokens after 4 cached ones: the mask is shifted by the offset", 2,
             lambda rng: [_kv_case(rng, 4, 3)],
             hint="new token i is at position m + i and sees keys 0 .. m + i"),
        Test("filling the context to its last position", 1, lambda rng: [_kv_case(rng, 9, 3, context=12)]),
        Test("beyond the context raises ValueError", 1,
             lambda rng: [_kv_case(rng, 10, 3, context=12), _kv_case(rng, 0, 5, context=4)],
             raises="ValueError", hint="m + n positions must fit in position (context rows)"),
        Test("does not modify its inputs", 1, lambda rng: [_kv_case(rng, 2, 2)], unmodified=True,
             hint="build new arrays with np.concatenate; do not write into the cache"),
    ),
)


# --- 11.7 top-p (nucleus) filtering --------------------------------------------------------------


def top_p_probs_reference(logits, p):
    """softmax of ``aibook.gpt.filter_logits(logits, top_p=p)`` in float64: the smallest set of
    most likely tokens whose probability reaches p, renormalised; the token that crosses p is kept."""
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
    kept = gpt.filter_logits(torch.tensor(np.asarray(logits), dtype=torch.float64), top_p=p)
    return torch.softmax(kept, dim=-1).numpy()


_WORKED_PROBS = np.array([0.5, 0.3, 0.15, 0.05])


def _top_p_random(rng: np.random.Generator) -> list[Call]:
    return [call(rng.normal(size=(4, 10)) * 2, float(rng.uniform(0.3, 0.9)))]


TOP_P_PROBS = Question(
    "11.7", "top_p_probs", "top-p (nucleus) filtering of a next-token distribution",
    params=("logits", "p"), outputs=("probs",),
    reference=top_p_probs_reference,
    tests=(
        Test("probabilities 0.5, 0.3, 0.15, 0.05 with p = 0.7", 2,
             lambda rng: [call(np.log(_WORKED_PROBS), 0.7)],
             hint="0.5 < 0.7, so the next token (0.3) is needed to reach p: keep it; then renormalise"),
        Test("the vocabulary is not sorted by probability", 2,
             lambda rng: [call(np.log(_WORKED_PROBS[[3, 1, 2, 0]]), 0.7),
                          call(np.log(np.array([0.1, 0.2, 0.05, 0.4, 0.25])), 0.6)],
             hint="sort by probability (descending), choose, then put the result back in vocabulary order"),
        Test("the most likely token alone passes p", 1,
             lambda rng: [call(np.array([0.0, 4.0, 1.0]), 0.5)],
             hint="the token that crosses p is kept, even when it is the first one"),
        Test("p = 1 keeps every token", 1, lambda rng: [call(rng.normal(size=6), 1.0)]),
        Test("a batch of 4 rows, each with its own nucleus", 1, _top_p_random,
             hint="work along the last axis only"),
        Test("p outside (0, 1] raises ValueError", 1,
             lambda rng: [call(rng.normal(size=4), 0.0), call(rng.normal(size=4), 1.5)],
             raises="ValueError"),
        Test("does not modify its inputs", 1, lambda rng: [call(rng.normal(size=(2, 5)), 0.8)],
             unmodified=True),
    ),
)


# --- 11.8 per-row int8 quantisation --------------------------------------------------------------


def int8_roundtrip_reference(w):
    """(q, scale, w_hat) of symmetric per-output-channel int8 in float64: scale = max|row| / 127 (1 for
    an all-zero row), q = clip(round(w / scale), -127, 127), w_hat = q * scale; as
    ``aibook.compression.quantize_weight_int8`` computes in float32; dequantised by the library."""
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"expected a 2-D (out, in) weight, got shape {w.shape}")
    scale = np.abs(w).max(axis=1) / 127
    scale = np.where(scale > 0, scale, 1.0)
    q = np.clip(np.round(w / scale[:, None]), -127, 127).astype(np.int8)
    w_hat = compression.dequantize_weight_int8(torch.from_numpy(q), torch.from_numpy(scale))
    return q, scale, w_hat.numpy()


INT8_ROUNDTRIP = Question(
    "11.8", "int8_roundtrip", "per-output-channel int8 quantisation and dequantisation of a weight",
    params=("w",), outputs=("q", "scale", "w_hat"),
    reference=int8_roundtrip_reference,
    tests=(
        Test("rows of very different sizes: each row gets its own scale", 2,
             lambda rng: [call(np.array([[0.011, -0.02, 0.004], [2.9, 1.1, -6.0]]))],
             hint="scale[i] = max(|w[i]|) / 127: one scale per output channel (row)"),
        Test("a random (4, 6) weight", 2, lambda rng: [call(rng.normal(size=(4, 6)))],
             hint="q = round(w / scale), w_hat = q * scale"),
        Test("an all-zero row gets scale 1 and q = 0", 1,
             lambda rng: [call(np.vstack([rng.normal(size=5), np.zeros(5), rng.normal(size=5)]))],
             hint="where max(|w[i]|) == 0 use scale 1.0, so there is no 0 / 0"),
        Test("rounding to the nearest integer", 1, lambda rng: [call(rng.uniform(-1, 1, size=(6, 8)))],
             hint="np.round, not astype(np.int8), which truncates toward 0"),
        Test("a single-column weight (5, 1)", 1, lambda rng: [call(rng.normal(size=(5, 1)))]),
        Test("a 1-D array raises ValueError", 1, lambda rng: [call(rng.normal(size=4))], raises="ValueError"),
        Test("does not modify its inputs", 1, lambda rng: [call(rng.normal(size=(3, 4)))], unmodified=True),
    ),
)


QUESTIONS = [BPE_MERGE_STEP, CAUSAL_SELF_ATTENTION, SFT_LOSS, LORA_FORWARD, DPO_LOSS, KV_CACHE_STEP,
             TOP_P_PROBS, INT8_ROUNDTRIP]
