"""Fine-tuning a causal language model (Chapter 11): the prompt-masked SFT loss, LoRA and DPO.

Everything here works on any causal LM ``model(idx) -> logits`` of shape (batch, time, vocab), so
the tests use a tiny model and the chapter the reference GPT. LoRA and DPO are written from scratch
because the chapter teaches them; ``tests/test_finetune.py`` checks LoRA against Hugging Face
``peft`` (a test-only dependency: see the README for why it is not needed to run the book) and DPO
against the paper's formula, sympy and ``torch.autograd``.
"""

# Over 300 lines on purpose: SFT, LoRA and DPO side by side share the masked targets and the training
# loop's shape, and a reader compares them in one file; each part is short.
from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

IGNORE_INDEX = -100  # a target that no loss counts (PyTorch's cross_entropy default)


# --- Supervised fine-tuning -------------------------------------------------------------------------

def sft_example(prompt_ids: Sequence[int], response_ids: Sequence[int],
                mask_prompt: bool = True) -> tuple[list[int], list[int]]:
    """(inputs, targets) of one prompt/response pair for next-token training.

    ``targets[i]`` is the token after ``inputs[i]``; with ``mask_prompt`` the targets that are prompt
    tokens become ``IGNORE_INDEX``, so only the response (which should end with the end token) is learnt.
    """
    if not prompt_ids or not response_ids:
        raise ValueError("an SFT example needs a non-empty prompt and a non-empty response")
    tokens = list(prompt_ids) + list(response_ids)
    inputs, targets = tokens[:-1], tokens[1:]
    if mask_prompt:
        n_masked = len(prompt_ids) - 1  # targets 0 .. len(prompt) - 2 are prompt tokens
        targets = [IGNORE_INDEX] * n_masked + targets[n_masked:]
    return inputs, targets


def collate(examples: Iterable[tuple[list[int], list[int]]], pad_id: int,
            block_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad (inputs, targets) pairs on the right into (B, T) tensors; padding targets are ignored.

    With ``block_size`` longer examples are cut to their first ``block_size`` tokens.
    """
    examples = [(x[:block_size], y[:block_size]) if block_size else (x, y) for x, y in examples]
    if not examples:
        raise ValueError("collate got no examples")
    width = max(len(x) for x, _ in examples)
    idx = torch.full((len(examples), width), pad_id, dtype=torch.long)
    targets = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    for row, (x, y) in enumerate(examples):
        idx[row, : len(x)] = torch.tensor(x)
        targets[row, : len(y)] = torch.tensor(y)
    return idx, targets


def _next_tokens(logits: torch.Tensor, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
    if temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    return torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(1).to(logits.device)


def _complete_cached(model: nn.Module, prompts: Sequence[Sequence[int]], max_new_tokens: int, stop_id: int,
                     temperature: float, generator: torch.Generator | None) -> list[list[int]]:
    # prompts of one length share a batch and a KV cache: each new token costs one position, not all
    from aibook.gpt import KVCache

    device = next(model.parameters()).device
    out: list[list[int]] = [[] for _ in prompts]
    groups: dict[int, list[int]] = {}
    for i, p in enumerate(prompts):
        groups.setdefault(len(p), []).append(i)
    for rows in groups.values():
        cache = KVCache(model.config.n_layers)
        logits = model(torch.tensor([list(prompts[i]) for i in rows], device=device), cache)[:, -1]
        done = torch.zeros(len(rows), dtype=torch.bool, device=device)
        for _ in range(max_new_tokens):
            nxt = _next_tokens(logits, temperature, generator)
            done |= nxt == stop_id
            if bool(done.all()):
                break
            for j in (~done).nonzero().flatten().tolist():
                out[rows[j]].append(int(nxt[j]))
            logits = model(nxt[:, None], cache)[:, -1]
    return out


@torch.no_grad()
def complete(model: nn.Module, prompts: Sequence[Sequence[int]], max_new_tokens: int, stop_id: int,
             block_size: int, temperature: float = 0.0, generator: torch.Generator | None = None,
             use_cache: bool = True) -> list[list[int]]:
    """Continue each prompt until ``stop_id`` or ``max_new_tokens`` (greedy when temperature is 0).

    Any causal LM works: prompts share one right-padded batch (a causal model's logits at a row's last
    real token do not depend on the padding after it). A ``aibook.gpt.GPT`` with ``use_cache`` instead
    decodes prompts of equal length together with its KV cache. Returns the new tokens, without ``stop_id``.
    """
    if any(len(p) + max_new_tokens > block_size for p in prompts):
        raise ValueError(f"a prompt plus {max_new_tokens} new tokens exceeds block_size={block_size}: "
                         "shorten the prompt or ask for fewer tokens")
    was_training = model.training
    model.eval()
    try:
        if use_cache and "cache" in inspect.signature(model.forward).parameters:
            return _complete_cached(model, prompts, max_new_tokens, stop_id, temperature, generator)
        device = next(model.parameters()).device
        lengths = torch.tensor([len(p) for p in prompts], device=device)
        idx = torch.full((len(prompts), int(lengths.max()) + max_new_tokens), stop_id, dtype=torch.long,
                         device=device)
        for row, p in enumerate(prompts):
            idx[row, : len(p)] = torch.tensor(list(p), device=device)
        done = torch.zeros(len(prompts), dtype=torch.bool, device=device)
        rows = torch.arange(len(prompts), device=device)
        out: list[list[int]] = [[] for _ in prompts]
        for _ in range(max_new_tokens):
            logits = model(idx[:, : int(lengths.max())])[rows, lengths - 1]
            nxt = _next_tokens(logits, temperature, generator)
            done |= nxt == stop_id
            if bool(done.all()):
                break
            for row in (~done).nonzero().flatten().tolist():
                out[row].append(int(nxt[row]))
            idx[rows[~done], lengths[~done]] = nxt[~done]
            lengths = lengths + (~done).long()
        return out
    finally:
        model.train(was_training)


def sft_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over the targets that are not ``IGNORE_INDEX``."""
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE_INDEX)


def _draw(n: int, batch_size: int, generator: torch.Generator) -> list[int]:
    return torch.randint(n, (batch_size,), generator=generator).tolist()


def sft_train(model: nn.Module, examples: Sequence[tuple[list[int], list[int]]], steps: int, batch_size: int,
              lr: float, pad_id: int, seed: int = 0, clip: float = 1.0) -> list[float]:
    """Fine-tune the trainable parameters of ``model`` with AdamW on (inputs, targets) examples.

    Batches are drawn with replacement by a generator seeded with ``seed``. Returns the loss of every step.
    """
    device = next(model.parameters()).device
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    g = torch.Generator().manual_seed(seed)
    model.train()
    losses = []
    for _ in range(steps):
        idx, targets = collate([examples[i] for i in _draw(len(examples), batch_size, g)], pad_id)
        loss = sft_loss(model(idx.to(device)), targets.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        losses.append(loss.item())
    return losses


@torch.no_grad()
def sft_eval_loss(model: nn.Module, examples: Sequence[tuple[list[int], list[int]]], pad_id: int,
                  batch_size: int = 64) -> float:
    """Mean cross-entropy over all counted target tokens of ``examples`` (token-weighted)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(examples), batch_size):
        idx, targets = collate(examples[i : i + batch_size], pad_id)
        logits = model(idx.to(device))
        total += F.cross_entropy(logits.flatten(0, 1).float(), targets.to(device).flatten(),
                                 ignore_index=IGNORE_INDEX, reduction="sum").item()
        count += int((targets != IGNORE_INDEX).sum())
    model.train(was_training)
    return total / count


# --- LoRA ---------------------------------------------------------------------------------------

class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update: y = W x + b + (alpha / r) B A x.

    A (r × in) starts like ``nn.Linear``'s weight, B (out × r) at zero, so the adapted layer starts as
    the base layer (Hu et al., 2021).
    """

    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0):
        super().__init__()
        if r < 1:
            raise ValueError(f"LoRA rank r must be >= 1, got {r}")
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        w = base.weight
        self.r, self.alpha, self.scale = r, alpha, alpha / r
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features, device=w.device, dtype=w.dtype))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r, device=w.device, dtype=w.dtype))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (self.dropout(x) @ self.lora_A.T @ self.lora_B.T) * self.scale

    def delta_weight(self) -> torch.Tensor:
        """The update (alpha / r) B A that merging adds to the base weight."""
        return self.scale * self.lora_B @ self.lora_A

    def merged(self) -> nn.Linear:
        """A plain ``nn.Linear`` with weight W + (alpha / r) B A: the same function, no extra cost."""
        base = self.base
        out = nn.Linear(base.in_features, base.out_features, bias=base.bias is not None,
                        device=base.weight.device, dtype=base.weight.dtype)
        with torch.no_grad():
            out.weight.copy_(base.weight + self.delta_weight())
            if base.bias is not None:
                out.bias.copy_(base.bias)
        return out


def _named_linears(model: nn.Module, targets: Iterable[str] | Callable[[str, nn.Linear], bool]):
    if callable(targets):
        chosen = targets
    else:
        suffixes = tuple(targets)
        chosen = lambda name, _m: name.endswith(suffixes)  # noqa: E731
    return [(name, m) for name, m in model.named_modules()
            if type(m) is nn.Linear and chosen(name, m)]


def _set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, module)


def add_lora(model: nn.Module, targets: Iterable[str] | Callable[[str, nn.Linear], bool],
             r: int, alpha: float, dropout: float = 0.0) -> list[str]:
    """Freeze ``model`` and wrap the chosen ``nn.Linear`` layers in :class:`LoRALinear`, in place.

    ``targets``: name suffixes (``("attn.qkv", "mlp.fc")``) or a predicate ``f(name, layer)``.
    Returns the names of the wrapped layers; only their A and B matrices are trainable afterwards.
    """
    layers = _named_linears(model, targets)
    if not layers:
        raise ValueError(f"no nn.Linear layer matches {targets!r}: see [n for n, _ in model.named_modules()]")
    for p in model.parameters():
        p.requires_grad_(False)
    for name, layer in layers:
        _set_submodule(model, name, LoRALinear(layer, r, alpha, dropout))
    return [name for name, _ in layers]


def merge_lora(model: nn.Module) -> nn.Module:
    """Replace every :class:`LoRALinear` in ``model`` by its merged ``nn.Linear`` (in place)."""
    for name, m in list(model.named_modules()):
        if isinstance(m, LoRALinear):
            _set_submodule(model, name, m.merged())
    return model


def lora_parameter_count(shapes: Iterable[tuple[int, int]], r: int) -> int:
    """Trainable parameters LoRA adds: r (in + out) for each adapted (in, out) layer."""
    return sum(r * (n_in + n_out) for n_in, n_out in shapes)


def trainable_parameter_count(model: nn.Module) -> int:
    """Number of parameters with ``requires_grad`` (shared tensors counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def adamw_state_bytes(n_trainable: int, n_tensors: int, bytes_per_value: int = 4) -> int:
    """What AdamW keeps per trainable value: two moments, plus one step counter per tensor."""
    return 2 * n_trainable * bytes_per_value + 4 * n_tensors


def optimizer_state_bytes(optimizer: torch.optim.Optimizer) -> int:
    """Bytes of all tensors in ``optimizer.state`` (measured; empty until the first step)."""
    return sum(t.numel() * t.element_size() for state in optimizer.state.values()
               for t in state.values() if torch.is_tensor(t))


# --- DPO ------------------------------------------------------------------------------------------

def sequence_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Sum of log p(target) over the positions whose target is not ``IGNORE_INDEX``: shape (B,).

    This is log π(response | prompt) when the prompt and padding targets are masked (as in SFT).
    """
    mask = targets != IGNORE_INDEX
    # half-precision logits are summed in float32; float64 stays float64 (gradient checks need it)
    logp = torch.log_softmax(logits if logits.dtype == torch.float64 else logits.float(), dim=-1)
    picked = logp.gather(-1, targets.masked_fill(~mask, 0).unsqueeze(-1)).squeeze(-1)
    return (picked * mask).sum(-1)


def dpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor, ref_chosen: torch.Tensor,
             ref_rejected: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """DPO (Rafailov et al., 2023): mean of -log σ(β[(log π_c - log π_ref,c) - (log π_r - log π_ref,r)]).

    Takes sequence log-probs of the chosen and rejected responses under the policy and the frozen
    reference. Returns (loss, chosen reward, rejected reward), rewards β log π/π_ref per pair.
    """
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    chosen_reward = beta * (policy_chosen - ref_chosen)
    rejected_reward = beta * (policy_rejected - ref_rejected)
    loss = -F.logsigmoid(chosen_reward - rejected_reward).mean()
    return loss, chosen_reward.detach(), rejected_reward.detach()


def dpo_train(policy: nn.Module, reference: nn.Module,
              pairs: Sequence[tuple[tuple[list[int], list[int]], tuple[list[int], list[int]]]],
              steps: int, batch_size: int, lr: float, beta: float, pad_id: int, seed: int = 0,
              clip: float = 1.0) -> list[dict]:
    """Train ``policy`` with DPO on (chosen, rejected) SFT-style examples against the frozen ``reference``.

    Returns per step: the loss, the mean reward margin and the fraction of pairs the rewards order right.
    """
    device = next(policy.parameters()).device
    for p in reference.parameters():
        p.requires_grad_(False)
    reference.eval()
    params = [p for p in policy.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    g = torch.Generator().manual_seed(seed)
    policy.train()
    history = []
    for _ in range(steps):
        rows = _draw(len(pairs), batch_size, g)
        chosen = [t.to(device) for t in collate([pairs[i][0] for i in rows], pad_id)]
        rejected = [t.to(device) for t in collate([pairs[i][1] for i in rows], pad_id)]
        with torch.no_grad():
            ref_c, ref_r = pair_logprobs(reference, chosen, rejected)
        loss, rc, rr = dpo_loss(*pair_logprobs(policy, chosen, rejected), ref_c, ref_r, beta)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        history.append({"loss": loss.item(), "margin": (rc - rr).mean().item(),
                        "reward_accuracy": (rc > rr).float().mean().item()})
    return history


def pair_logprobs(model: nn.Module, chosen: tuple[torch.Tensor, torch.Tensor],
                  rejected: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequence log-probs of the chosen and rejected (idx, targets) batches under ``model``."""
    return (sequence_logprobs(model(chosen[0]), chosen[1]),
            sequence_logprobs(model(rejected[0]), rejected[1]))
