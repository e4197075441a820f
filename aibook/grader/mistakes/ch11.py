"""Chapter 11: plausible wrong answers, each a learner's typical mistake (see ``__init__``)."""

# Over 300 lines on purpose: a catalogue is data, one short wrong answer per entry.

from __future__ import annotations

from collections import Counter

import numpy as np

from aibook import bpe
from aibook.grader.banks.ch11 import int8_roundtrip_reference
from aibook.grader.mistakes import Mistake


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# --- 11.1 one BPE merge step ---------------------------------------------------------------------


def _merge_right_to_left(ids, pair, new_id):
    return bpe.merge_pair(ids[::-1], pair[::-1], new_id)[::-1]


def _merge_no_skip(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids):
        out.append(new_id if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair else ids[i])
        i += 1
    return out


def _merge_first_only(ids, pair, new_id):
    for i in range(len(ids) - 1):
        if (ids[i], ids[i + 1]) == pair:
            return ids[:i] + [new_id] + ids[i + 2:]
    return ids


def _overlapping(ids):
    return list(zip(ids, ids[1:], strict=False))


def _non_overlapping(ids):
    found, i = [], 0
    while i + 1 < len(ids):
        found.append((ids[i], ids[i + 1]))
        i += 2 if ids[i] == ids[i + 1] else 1  # a run like 5 5 5 counted as the merge would find it
    return found


def _bpe(pairs_of=_overlapping, weighted=True, across=False, choose="smallest", merge=bpe.merge_pair):
    def bpe_merge_step(pieces, counts, new_id):
        pieces = [[int(t) for t in p] for p in pieces]
        pair_counts: Counter = Counter()
        if across:  # the corpus as one stream: each piece repeated, boundaries ignored
            stream = [t for p, c in zip(pieces, counts, strict=True) for _ in range(int(c)) for t in p]
            pair_counts.update(pairs_of(stream))
        else:
            for ids, c in zip(pieces, counts, strict=True):
                for pair in pairs_of(ids):
                    pair_counts[pair] += int(c) if weighted else 1
        if not pair_counts:
            raise ValueError("nothing to merge")
        best = max(pair_counts.values())
        tied = [p for p, c in pair_counts.items() if c == best]
        pair = {"smallest": min(tied), "largest": max(tied), "first": tied[0]}[choose]
        return pair, [merge(ids, pair, new_id) for ids in pieces]
    return bpe_merge_step


bpe_unweighted = _bpe(weighted=False)
bpe_across_pieces = _bpe(across=True)
bpe_non_overlapping_count = _bpe(pairs_of=_non_overlapping)
bpe_tie_largest = _bpe(choose="largest")
bpe_tie_first_seen = _bpe(choose="first")
bpe_merge_right_to_left = _bpe(merge=_merge_right_to_left)
bpe_merge_without_skipping = _bpe(merge=_merge_no_skip)
bpe_merge_first_only = _bpe(merge=_merge_first_only)


# --- 11.2 multi-head causal self-attention -------------------------------------------------------


def _self_attention(mask="causal", scale="head", split="heads", project=True, order="qkv"):
    def causal_self_attention(x, W_qkv, b_qkv, W_proj, b_proj, n_heads):
        d = x.shape[-1]
        dh = d // n_heads
        qkv = x @ W_qkv.T + b_qkv
        parts = dict(zip(order, (qkv[..., :d], qkv[..., d:2 * d], qkv[..., 2 * d:]), strict=True))
        t = x.shape[-2]

        def heads(a):
            if split == "reshape":  # (T, d) read as (h, T, d/h) without moving the axis
                return a.reshape(*a.shape[:-2], n_heads, t, dh)
            return np.swapaxes(a.reshape(*a.shape[:-1], n_heads, dh), -3, -2)

        q, k, v = heads(parts["q"]), heads(parts["k"]), heads(parts["v"])
        width = {"head": dh, "model": d, "none": 1}[scale]
        scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(width)
        allowed = {"causal": np.tril(np.ones((t, t), bool)), "none": np.ones((t, t), bool),
                   "strict": np.tril(np.ones((t, t), bool), -1),
                   "future": np.triu(np.ones((t, t), bool))}[mask]
        weights = _softmax(np.where(allowed, scores, -np.inf))
        out = weights @ v
        out = (out.reshape(*out.shape[:-3], t, d) if split == "reshape"
               else np.swapaxes(out, -3, -2).reshape(*out.shape[:-3], t, d))
        return out @ W_proj.T + b_proj if project else out
    return causal_self_attention


attention_no_mask = _self_attention(mask="none")
attention_strict_mask = _self_attention(mask="strict")
attention_future_mask = _self_attention(mask="future")
attention_scaled_by_model_width = _self_attention(scale="model")
attention_unscaled = _self_attention(scale="none")
attention_heads_by_reshape = _self_attention(split="reshape")
attention_no_output_projection = _self_attention(project=False)
attention_k_q_v_order = _self_attention(order="kqv")


# --- 11.3 the prompt-masked SFT loss -------------------------------------------------------------


def _sft(shift=1, first=0, pad=True, per_sequence=False, total=False, naive=False):
    """``first``: where the counted targets start relative to the prompt length (0 is right)."""
    def sft_loss(logits, tokens, prompt_lengths, lengths):
        logp = np.log(_softmax(logits)) if naive else _log_softmax(logits)
        rows = []
        for b, (p, n) in enumerate(zip(prompt_lengths, lengths, strict=True)):
            end = n if pad else tokens.shape[1]
            start = max(int(p) + first, shift)
            ts = np.arange(start, end)  # target positions
            rows.append(-logp[b, ts - shift, tokens[b, ts]])
        if per_sequence:
            return float(np.mean([r.mean() for r in rows]))
        flat = np.concatenate(rows)
        return float(flat.sum() if total else flat.mean())
    return sft_loss


sft_no_shift = _sft(shift=0)
sft_prompt_not_masked = _sft(first=-100)
sft_first_response_token_masked = _sft(first=1)
sft_last_prompt_token_counted = _sft(first=-1)
sft_padding_counted = _sft(pad=False)
sft_mean_per_sequence = _sft(per_sequence=True)
sft_sum = _sft(total=True)
sft_log_of_softmax = _sft(naive=True)


# --- 11.4 LoRA -----------------------------------------------------------------------------------


def _lora(scale=lambda alpha, r, out: alpha / r, merged_scale=None, bias=True, scale_base=False,
          merged_transposed=False):
    def lora_forward(x, W, b, A, B, alpha):
        s = scale(alpha, A.shape[0], B.shape[0])
        ms = s if merged_scale is None else merged_scale(alpha, A.shape[0])
        base = x @ W.T + (b if bias else 0)
        update = (x @ A.T) @ B.T
        y = s * (base + update) if scale_base else base + s * update
        delta = (A.T @ B.T) if merged_transposed else B @ A
        return y, W + ms * delta
    return lora_forward


lora_scaled_by_alpha = _lora(scale=lambda alpha, r, out: alpha)
lora_scaled_by_r_over_alpha = _lora(scale=lambda alpha, r, out: r / alpha)
lora_unscaled = _lora(scale=lambda alpha, r, out: 1.0)
lora_rank_from_b_rows = _lora(scale=lambda alpha, r, out: alpha / out)
lora_scale_on_base_too = _lora(scale_base=True)
lora_without_bias = _lora(bias=False)
lora_merged_without_scale = _lora(merged_scale=lambda alpha, r: 1.0)
lora_merged_transposed = _lora(merged_transposed=True)


# --- 11.5 the DPO loss ---------------------------------------------------------------------------


def _dpo(sign=1.0, use_reference=True, beta_inside=True, beta_in_rewards=True, total=False, naive=False,
         check=True):
    def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta):
        if check and beta <= 0:
            raise ValueError("beta must be > 0")
        rc, rr = (ref_chosen, ref_rejected) if use_reference else (0.0, 0.0)
        chosen, rejected = policy_chosen - rc, policy_rejected - rr
        z = sign * (chosen - rejected) * (beta if beta_inside else 1.0)
        losses = -np.log(1 / (1 + np.exp(-z))) if naive else np.logaddexp(0.0, -z)
        if not beta_inside:
            losses = beta * losses
        loss = float(losses.sum() if total else losses.mean())
        k = beta if beta_in_rewards else 1.0
        return loss, k * chosen, k * rejected
    return dpo_loss


dpo_sign_flipped = _dpo(sign=-1.0)
dpo_without_reference = _dpo(use_reference=False)
dpo_beta_outside_sigmoid = _dpo(beta_inside=False)
dpo_rewards_without_beta = _dpo(beta_in_rewards=False)
dpo_sum = _dpo(total=True)
dpo_log_of_sigmoid = _dpo(naive=True)


# --- 11.6 one decoding step with a KV cache ------------------------------------------------------


def _kv(positions="offset", mask="offset", cache="append", scale="key"):
    def kv_cache_step(x_new, k_cache, v_cache, position, W_q, W_k, W_v):
        m, n = len(k_cache), len(x_new)
        if m + n > len(position):
            raise ValueError("beyond the context")
        start = {"offset": m, "zero": 0, "next": m + 1}[positions]
        h = x_new + position[start : start + n]
        q, k, v = h @ W_q.T, h @ W_k.T, h @ W_v.T
        k_cache, v_cache = k_cache.reshape(m, len(W_k)), v_cache.reshape(m, len(W_v))
        if cache == "append":
            k_all, v_all = np.concatenate([k_cache, k]), np.concatenate([v_cache, v])
        elif cache == "prepend":
            k_all, v_all = np.concatenate([k, k_cache]), np.concatenate([v, v_cache])
        else:  # the cache is never read
            k_all, v_all = k, v
        total = len(k_all)
        allowed = {"offset": np.tril(np.ones((n, total), bool), total - n),
                   "no_offset": np.tril(np.ones((n, total), bool)),
                   "none": np.ones((n, total), bool)}[mask]
        width = {"key": W_q.shape[0], "model": x_new.shape[1]}[scale]
        weights = _softmax(np.where(allowed, q @ k_all.T / np.sqrt(width), -np.inf))
        return weights @ v_all, k_all, v_all
    return kv_cache_step


kv_positions_from_zero = _kv(positions="zero")
kv_positions_one_late = _kv(positions="next")
kv_mask_without_offset = _kv(mask="no_offset")
kv_no_mask = _kv(mask="none")
kv_cache_ignored = _kv(cache="ignored")
kv_new_keys_first = _kv(cache="prepend")
kv_scaled_by_model_width = _kv(scale="model")


# --- 11.7 top-p filtering ------------------------------------------------------------------------


def _top_p(rule="before", renormalise=True, sort=True, unsort=True, logits_zero=False):
    def top_p_probs(logits, p):
        if not 0 < p <= 1:
            raise ValueError("p must be in (0, 1]")
        logits = np.asarray(logits, dtype=float)
        probs = _softmax(logits)
        order = np.argsort(-probs, axis=-1, kind="stable") if sort else np.broadcast_to(
            np.arange(probs.shape[-1]), probs.shape)
        ranked = np.take_along_axis(probs, order, axis=-1)
        cum = np.cumsum(ranked, axis=-1)
        if rule == "before":
            keep = cum - ranked < p
        elif rule == "inclusive":  # stops before the token that crosses p
            keep = cum <= p
        else:  # top-k with k = ceil(p * V)
            keep = np.arange(probs.shape[-1]) < np.ceil(p * probs.shape[-1])
            keep = np.broadcast_to(keep, ranked.shape)
        if logits_zero:  # the dropped tokens' logits set to 0 instead of -inf
            ranked_logits = np.take_along_axis(logits, order, axis=-1)
            kept = _softmax(np.where(keep, ranked_logits, 0.0))
        else:
            kept = np.where(keep, ranked, 0.0)
            if renormalise:
                kept = kept / kept.sum(axis=-1, keepdims=True)
        if not unsort:
            return kept
        out = np.zeros_like(kept)
        np.put_along_axis(out, order, kept, axis=-1)
        return out
    return top_p_probs


top_p_drops_crossing_token = _top_p(rule="inclusive")
top_p_not_renormalised = _top_p(renormalise=False)
top_p_unsorted_cumsum = _top_p(sort=False)
top_p_left_sorted = _top_p(unsort=False)
top_p_as_top_k = _top_p(rule="top_k")
top_p_dropped_logits_zero = _top_p(logits_zero=True)


# --- 11.8 per-row int8 quantisation --------------------------------------------------------------


def _int8(axis=1, levels=127.0, rounding=np.round, guard=True, dequantise="multiply"):
    def int8_roundtrip(w):
        if w.ndim != 2:
            raise ValueError("expected a 2-D weight")
        peak = np.abs(w).max() if axis is None else np.abs(w).max(axis=axis)
        scale = peak / levels
        if guard:
            scale = np.where(scale > 0, scale, 1.0)
        shaped = scale if axis is None else (scale[:, None] if axis == 1 else scale[None, :])
        with np.errstate(invalid="ignore", divide="ignore"):
            q = np.clip(rounding(w / shaped), -127, 127)
        q = np.nan_to_num(q).astype(np.int8)
        w_hat = q * shaped if dequantise == "multiply" else q / shaped
        return q, scale, w_hat
    return int8_roundtrip


int8_per_tensor_scale = _int8(axis=None)
int8_per_column_scale = _int8(axis=0)
int8_scale_over_128 = _int8(levels=128.0)
int8_scale_over_255 = _int8(levels=255.0)
int8_truncated = _int8(rounding=np.trunc)
int8_floor = _int8(rounding=np.floor)
int8_zero_row_unguarded = _int8(guard=False)
int8_dequantise_by_division = _int8(dequantise="divide")


def int8_w_hat_is_q(w):
    """Right q and scale, but the codes themselves returned as the dequantised weight."""
    q, scale, _ = int8_roundtrip_reference(w)
    return q, scale, q.astype(float)


MISTAKES = {
    "11.1": (
        Mistake("每个片段只计一次，忽略了出现次数 counts（unweighted pair counts）", bpe_unweighted),
        Mistake("把片段首尾相连后计数，跨片段边界的相邻对也算了进去（pairs across pieces）",
                bpe_across_pieces),
        Mistake("像合并那样不重叠地数对，5 5 5 只数了一次 (5, 5)（non-overlapping pair count）",
                bpe_non_overlapping_count),
        Mistake("并列时取了最大的对（ties broken by the largest pair）", bpe_tie_largest),
        Mistake("并列时取了最先出现的对（ties broken by first occurrence, as max(stats, key=stats.get)）",
                bpe_tie_first_seen),
        Mistake("从右往左合并，5 5 5 变成了 5 X（merged right to left）", bpe_merge_right_to_left),
        Mistake("合并后没有跳过第二个词元（forgot i += 2 after a merge）", bpe_merge_without_skipping),
        Mistake("每个片段只合并了第一次出现（only the first occurrence merged）", bpe_merge_first_only),
    ),
    "11.2": (
        Mistake("没有因果掩码，看到了后面的词元（no causal mask）", attention_no_mask),
        Mistake("掩码去掉了对角线，词元看不到自己（strict mask, diagonal excluded）", attention_strict_mask),
        Mistake("掩码方向反了，只看后面（upper-triangular mask）", attention_future_mask),
        Mistake("除以 sqrt(d_model) 而不是 sqrt(d_head)（scaled by the model width）",
                attention_scaled_by_model_width),
        Mistake("没有除以 sqrt(d_head)（unscaled scores）", attention_unscaled),
        Mistake("直接 reshape 成 (h, T, d/h)，没有先分头再换轴（heads split by reshape）",
                attention_heads_by_reshape),
        Mistake("漏了输出投影 W_proj（no output projection）", attention_no_output_projection),
        Mistake("q、k、v 的切分顺序错了（q, k, v split in the wrong order）", attention_k_q_v_order),
    ),
    "11.3": (
        Mistake("没有错位：logits[t] 对的是 tokens[t] 而不是 tokens[t + 1]（no shift）", sft_no_shift),
        Mistake("提示部分没有掩掉（prompt not masked）", sft_prompt_not_masked),
        Mistake("多掩了一个：回答的第一个词元没有计入（off by one: first response token masked）",
                sft_first_response_token_masked),
        Mistake("少掩了一个：提示的最后一个词元也计入了（off by one: last prompt token counted）",
                sft_last_prompt_token_counted),
        Mistake("填充位置也计入了损失（padding counted）", sft_padding_counted),
        Mistake("先对每条样本求平均再对批求平均（mean per sequence, then over the batch）",
                sft_mean_per_sequence),
        Mistake("求和而不是求平均（sum instead of mean）", sft_sum),
        Mistake("先 softmax 再取 log，大 logits 溢出（log of softmax overflows）", sft_log_of_softmax),
    ),
    "11.4": (
        Mistake("缩放用了 alpha 而不是 alpha / r（scaled by alpha）", lora_scaled_by_alpha),
        Mistake("缩放写反成 r / alpha（scaled by r / alpha）", lora_scaled_by_r_over_alpha),
        Mistake("没有缩放低秩更新（no alpha / r scale）", lora_unscaled),
        Mistake("秩 r 取成了 B 的行数（r read from B.shape[0]）", lora_rank_from_b_rows),
        Mistake("缩放也乘到了冻结的基础层上（scale applied to the base layer too）", lora_scale_on_base_too),
        Mistake("漏了基础层的偏置 b（bias dropped）", lora_without_bias),
        Mistake("合并权重时忘了乘 alpha / r（merged weight without the scale）", lora_merged_without_scale),
        Mistake("合并权重用了 Aᵀ Bᵀ，形状是 (in, out)（merged update transposed）", lora_merged_transposed),
    ),
    "11.5": (
        Mistake("被选与被拒的顺序反了（chosen and rejected swapped）", dpo_sign_flipped),
        Mistake("没有减去参考模型的对数概率（reference model ignored）", dpo_without_reference),
        Mistake("beta 乘在了 -log σ 外面（beta outside the sigmoid）", dpo_beta_outside_sigmoid),
        Mistake("奖励没有乘 beta（rewards without beta）", dpo_rewards_without_beta),
        Mistake("对批求和而不是求平均（sum instead of mean）", dpo_sum),
        Mistake("先算 sigmoid 再取 log，大间隔时溢出（log of sigmoid overflows）", dpo_log_of_sigmoid),
    ),
    "11.6": (
        Mistake("新词元的位置从 0 开始，而不是从缓存长度 m 开始（positions not offset by the cache）",
                kv_positions_from_zero),
        Mistake("位置多偏了一个，从 m + 1 开始（position offset off by one）", kv_positions_one_late),
        Mistake("因果掩码没有按偏移量 m 平移（causal mask without the offset）", kv_mask_without_offset),
        Mistake("没有因果掩码，新词元互相看到了后面的（no causal mask）", kv_no_mask),
        Mistake("没有把新的 k、v 接在缓存后面，缓存没有用上（cache not used）", kv_cache_ignored),
        Mistake("新的 k、v 放在了缓存前面（new keys prepended）", kv_new_keys_first),
        Mistake("除以 sqrt(d_model) 而不是 sqrt(d_k)（scaled by the model width）", kv_scaled_by_model_width),
    ),
    "11.7": (
        Mistake("丢掉了越过 p 的那个词元，只保留累计概率 ≤ p 的（the token that crosses p dropped）",
                top_p_drops_crossing_token),
        Mistake("截断后没有重新归一化（not renormalised）", top_p_not_renormalised),
        Mistake("没有按概率排序就累加（cumulative sum in vocabulary order）", top_p_unsorted_cumsum),
        Mistake("结果停留在排序后的顺序，没有放回词表顺序（left in sorted order）", top_p_left_sorted),
        Mistake("当成了 top-k，保留 ceil(p·V) 个词元（top-p confused with top-k）", top_p_as_top_k),
        Mistake("被截掉的 logits 置成 0 而不是 -inf（dropped logits set to 0）", top_p_dropped_logits_zero),
    ),
    "11.8": (
        Mistake("整个张量共用一个缩放因子（per-tensor scale）", int8_per_tensor_scale),
        Mistake("按列而不是按行（输出通道）取缩放因子（per-column scale）", int8_per_column_scale),
        Mistake("缩放因子除以 128（scale = max / 128）", int8_scale_over_128),
        Mistake("缩放因子除以 255，像无符号 uint8 那样（scale = max / 255）", int8_scale_over_255),
        Mistake("astype 截断而不是四舍五入（truncation toward 0）", int8_truncated),
        Mistake("向下取整（np.floor instead of np.round）", int8_floor),
        Mistake("全零行没有处理，0 / 0 得到 nan（zero row unguarded）", int8_zero_row_unguarded),
        Mistake("反量化时除以缩放因子（dequantised by division）", int8_dequantise_by_division),
        Mistake("w_hat 直接用了整数码 q，没有乘回缩放因子（w_hat = q）", int8_w_hat_is_q),
    ),
}
