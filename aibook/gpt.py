"""A small GPT in one file (Chapter 11): decoder-only Transformer, its size and cost, and decoding.

Causal self-attention written out (with an optional KV cache), pre-LayerNorm blocks, a GELU MLP,
learned positions and an output layer tied to the token embedding. ``parameter_count`` and
``flops_per_token`` give size and training cost from the configuration alone, so a reader can
check them against the counted parameters and ``torch.utils.flop_counter``. ``generate`` decodes
greedily or samples with temperature, top-k and top-p (optionally with a repetition penalty), one
prompt or a left-padded batch of prompts of different lengths (``left_pad``; a padding mask keeps every
row as it would be alone). ``model(idx)`` returns logits, so any code for a causal LM (fine-tuning,
LoRA, DPO) works on it unchanged.
"""

# Over 300 lines on purpose: the model and its decoding stay in one file, as in nanoGPT's model.py, so a
# reader follows a generated token from the logits through sampling without switching files.
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from aibook.attention import scaled_dot_product_attention
from aibook.scaling import TransformerConfig, transformer_params


@dataclass(frozen=True)
class GPTConfig:
    """Shape of a GPT; ``init_std`` is the standard deviation of every weight matrix at start."""

    vocab_size: int
    context: int = 128
    n_layers: int = 4
    d_model: int = 128
    n_heads: int = 4
    init_std: float = 0.02
    fused_attention: bool = True  # training uses F.scaled_dot_product_attention (same result, faster)
    causal: bool = True  # False: every position sees the whole sequence, as in BERT (11.2 shows why not)

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context", "n_layers", "d_model", "n_heads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")

    def to_dict(self) -> dict:
        """Plain dict (for checkpoints and JSON results)."""
        return asdict(self)


def parameter_count(config: GPTConfig) -> int:
    """Weights of the GPT from its shape: (V + T)·d + L·(12d² + 13d) + 2d (tied output layer)."""
    return transformer_params(TransformerConfig(config.n_layers, config.d_model, config.n_heads,
                                                config.vocab_size, config.context, kind="gpt"))


def non_embedding_count(config: GPTConfig) -> int:
    """Parameters outside the token and position tables: L·(12d² + 13d) + 2d (Kaplan et al.'s N)."""
    return parameter_count(config) - (config.vocab_size + config.context) * config.d_model


def flops_per_token(config: GPTConfig, context: int | None = None) -> int:
    """Training FLOPs (forward + backward) per token of a sequence of ``context`` tokens.

    6 x (the weights used in matrix products: 12·L·d² in the blocks plus d·V in the tied output
    layer) + 12·L·T·d for the attention scores and their weighted sum (the full T x T product,
    mask included, as computed here). Additions of biases, LayerNorm and softmax are not counted.
    """
    t = config.context if context is None else context
    d, layers = config.d_model, config.n_layers
    return 6 * (12 * layers * d * d + d * config.vocab_size) + 12 * layers * t * d


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, offset: int = 0,
                     key_padding: torch.Tensor | None = None) -> torch.Tensor:
    """softmax(q kᵀ/√d + causal mask) v for queries at positions offset..offset+n-1, keys at 0..m-1.

    With ``offset = m - n`` (a KV cache holding the earlier keys), query i sees keys 0..offset+i.
    ``key_padding`` (b, m), True at padding tokens: no query attends to them, except that a padding
    query attends to itself (a row with every key masked would be NaN, and NaN spreads through v).
    """
    n, m = q.shape[-2], k.shape[-2]
    if offset + n != m:
        raise ValueError(f"{n} queries at offset {offset} need {offset + n} keys, got {m}")
    mask = torch.ones(n, m, dtype=torch.bool, device=q.device).tril(diagonal=offset)
    if key_padding is not None:  # (b, 1, n, m): one mask per row of the batch, shared by the heads
        itself = torch.eye(m, dtype=torch.bool, device=q.device)[offset:]  # query i is key offset + i
        mask = (mask & ~key_padding[:, None, None, :]) | itself
    return scaled_dot_product_attention(q, k, v, mask)[0]


class KVCache:
    """Keys and values of the tokens seen so far, one (k, v) pair per layer; ``length`` = offset.

    ``padding`` (b, length), True at padding tokens, once a padded batch has been fed (else None).
    """

    def __init__(self, n_layers: int) -> None:
        self.layers: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * n_layers
        self.padding: torch.Tensor | None = None

    @property
    def length(self) -> int:
        """How many positions are cached (the position of the next token)."""
        last = self.layers[-1]  # the last layer is extended last in a forward pass
        return 0 if last is None else last[0].shape[-2]

    def extend(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append this step's keys and values to layer ``layer``; return all of them."""
        old = self.layers[layer]
        if old is not None:
            k, v = torch.cat([old[0], k], dim=-2), torch.cat([old[1], v], dim=-2)
        self.layers[layer] = (k, v)
        return k, v


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention: one (d, 3d) projection for q, k, v, then (d, d) out."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_heads, self.fused, self.causal = config.n_heads, config.fused_attention, config.causal
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0,
                key_padding: torch.Tensor | None = None) -> torch.Tensor:
        b, n, d = x.shape  # split (b, n, 3d) into q, k, v of shape (b, heads, n, d / heads)
        q, k, v = (t.view(b, n, self.n_heads, d // self.n_heads).transpose(1, 2)
                   for t in self.qkv(x).split(d, dim=2))
        if cache is not None:
            k, v = cache.extend(layer, k, v)
        offset = k.shape[-2] - n  # positions already cached before this step
        if not self.causal:
            keep = None if key_padding is None else ~key_padding[:, None, None, :]
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
        elif self.fused and offset == 0 and key_padding is None:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            out = causal_attention(q, k, v, offset, key_padding)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    """Pre-LayerNorm block: x + attention(LN(x)), then x + MLP(LN(x)) with a 4d GELU layer."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        d = config.d_model
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = CausalSelfAttention(config)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0,
                key_padding: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), cache, layer, key_padding)
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """Token + learned position embeddings, ``n_layers`` blocks, final LayerNorm, tied output layer."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.token = nn.Embedding(config.vocab_size, config.d_model)
        self.position = nn.Embedding(config.context, config.d_model)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.head.weight = self.token.weight  # weight tying: one (V, d) matrix reads and writes tokens
        self.apply(self._init_weights)
        for block in self.blocks:  # GPT-2: the two projections that add into the residual stream,
            for p in (block.attn.proj.weight, block.mlp[2].weight):  # scaled down by depth
                nn.init.normal_(p, std=config.init_std / math.sqrt(2 * config.n_layers))

    def _init_weights(self, module: nn.Module) -> None:
        # small weights give logits near 0, so the first loss is ln V (PyTorch's default
        # N(0, 1) embedding makes logits of size ~sqrt(d) and a far larger first loss)
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=self.config.init_std)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None,
                padding: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (b, n, V) for tokens ``idx`` (b, n); with ``cache`` they continue the cached tokens.

        ``padding`` (b, n), True at padding tokens: no token attends to them and a row's positions
        count its real tokens only, so each row gets the logits it would get alone.
        """
        offset = 0 if cache is None else cache.length
        b, n = idx.shape
        if offset + n > self.config.context:
            raise ValueError(f"{offset + n} positions exceed the context of {self.config.context} tokens:"
                             " crop the input to the last `context` tokens")
        keys_padding = padding  # (b, offset + n): which keys are padding, the cached ones included
        if cache is not None and (padding is not None or cache.padding is not None):
            no_pads = idx.new_zeros(b, offset if padding is not None else n, dtype=torch.bool)
            earlier = cache.padding if cache.padding is not None else no_pads
            now = padding if padding is not None else no_pads
            keys_padding = cache.padding = torch.cat([earlier, now], dim=1)
        if keys_padding is None:
            positions = torch.arange(offset, offset + n, device=idx.device)
        else:  # position = real tokens before this one (a padding token takes position 0, unused)
            positions = ((~keys_padding).cumsum(dim=1) - 1).clamp(min=0)[:, offset:]
        x = self.token(idx) + self.position(positions)
        for i, block in enumerate(self.blocks):
            x = block(x, cache, i, keys_padding)
        return self.head(self.ln_f(x))


def filter_logits(logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Logits with all but the top-k tokens, and all outside the top-p nucleus, set to -inf.

    The nucleus is the smallest set of most likely tokens whose probabilities sum to at least
    ``top_p``: a token is kept when the mass of the tokens ranked before it is below ``top_p``.
    """
    out = logits.clone()
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        kth = torch.topk(out, min(top_k, out.shape[-1]), dim=-1).values[..., -1:]
        out = out.masked_fill(out < kth, float("-inf"))
    if top_p is not None:
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        probs, order = torch.softmax(out, dim=-1).sort(dim=-1, descending=True)
        before = probs.cumsum(dim=-1) - probs  # mass ranked strictly before each token
        drop = torch.zeros_like(out, dtype=torch.bool).scatter(-1, order, before >= top_p)
        out = out.masked_fill(drop, float("-inf"))
    return out


def penalize_repeats(logits: torch.Tensor, idx: torch.Tensor, penalty: float,
                     padding: torch.Tensor | None = None, exempt: torch.Tensor | None = None) -> torch.Tensor:
    """CTRL's repetition penalty: the logits (b, V) of every token already in ``idx`` (b, n), pads
    excepted, divided by ``penalty`` where positive and multiplied by it where negative: with
    ``penalty`` > 1 a repeat always becomes less likely (dividing a negative logit would raise it).
    ``exempt`` (V,) marks token ids never penalised (punctuation that every line needs, say)."""
    if penalty <= 0:
        raise ValueError(f"repetition penalty must be > 0 (1 = off), got {penalty}")
    vocab = logits.shape[-1]
    ids = idx if padding is None else idx.masked_fill(padding, vocab)  # pads go to a spare column, dropped
    seen = torch.zeros(logits.shape[0], vocab + 1, dtype=torch.bool, device=logits.device)
    seen = seen.scatter_(1, ids, True)[:, :vocab]
    if exempt is not None:
        seen &= ~exempt.to(seen.device)
    penalized = torch.where(logits > 0, logits / penalty, logits * penalty)
    return torch.where(seen, penalized, logits)


def next_token(logits: torch.Tensor, temperature: float = 0.0, top_k: int | None = None,
               top_p: float | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Next tokens (b, 1) from last-position logits (b, V): argmax at temperature 0, else one draw from
    softmax of the logits divided by the temperature, then filtered to the top-k and the top-p nucleus."""
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    probs = torch.softmax(filter_logits(logits / temperature, top_k, top_p), dim=-1)
    return torch.multinomial(probs, 1, generator=generator)


def left_pad(prompts: Sequence[Sequence[int]], pad_id: int,
             device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(idx, padding): prompts of different lengths right-aligned in one (b, n) batch, True at the pads.

    Left, not right: every row's last prompt token is then in the last column, where decoding continues.
    """
    if not prompts or min(len(p) for p in prompts) < 1:
        raise ValueError("left_pad needs at least one prompt, each of at least one token")
    n = max(len(p) for p in prompts)
    idx = torch.full((len(prompts), n), pad_id, dtype=torch.long, device=device)
    padding = torch.ones(len(prompts), n, dtype=torch.bool, device=device)
    for row, p in enumerate(prompts):
        idx[row, n - len(p):] = torch.as_tensor(list(p), dtype=torch.long, device=device)
        padding[row, n - len(p):] = False
    return idx, padding


@torch.no_grad()
def generate(model: nn.Module, idx: torch.Tensor, max_new_tokens: int, temperature: float = 0.0,
             top_k: int | None = None, top_p: float | None = None, use_cache: bool = True,
             generator: torch.Generator | None = None, padding: torch.Tensor | None = None,
             repetition_penalty: float = 1.0, penalty_exempt: torch.Tensor | None = None) -> torch.Tensor:
    """Append ``max_new_tokens`` tokens to ``idx`` (b, n): greedy at temperature 0, else sampled.

    With ``use_cache`` each step feeds only the newest token and the cached keys and values;
    without it the whole sequence (its last ``context`` tokens) is recomputed every step.
    ``padding`` (b, n) marks the pads of a left-padded batch (see :func:`left_pad`).
    ``repetition_penalty`` > 1 lowers every token already in the row, prompt included (see
    :func:`penalize_repeats`; ids marked in ``penalty_exempt`` are spared), before the temperature.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    context = model.config.context
    if use_cache and idx.shape[1] + max_new_tokens > context:
        raise ValueError(f"prompt ({idx.shape[1]}) + new tokens ({max_new_tokens}) exceed the context of "
                         f"{context}: shorten them or use use_cache=False (a sliding window)")
    was_training = model.training
    model.eval()
    cache = KVCache(model.config.n_layers) if use_cache else None
    step_input, step_padding = idx, padding
    try:
        for _ in range(max_new_tokens):
            if use_cache:
                logits = model(step_input, cache, step_padding)
            else:
                logits = model(idx[:, -context:], None, None if padding is None else padding[:, -context:])
            last = logits[:, -1, :]
            if repetition_penalty != 1.0:
                last = penalize_repeats(last, idx, repetition_penalty, padding, penalty_exempt)
            nxt = next_token(last, temperature, top_k, top_p, generator)
            idx = torch.cat([idx, nxt], dim=1)
            if padding is not None:  # new tokens are real
                padding = torch.cat([padding, torch.zeros_like(nxt, dtype=torch.bool)], dim=1)
            step_input, step_padding = nxt, None
    finally:
        model.train(was_training)
    return idx
