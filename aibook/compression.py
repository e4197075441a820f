"""Making a model smaller (Chapters 2 and 11): magnitude pruning, dynamic int8 quantisation,
int8 weight-only quantisation written out, size on disk, CPU latency and the distillation loss."""

from __future__ import annotations

import io
import time
import warnings

import torch
import torch.nn.functional as F
from torch import nn


def magnitude_prune(weight: torch.Tensor, amount: float) -> torch.Tensor:
    """A copy of ``weight`` with the ``round(amount * numel)`` smallest-|w| entries set to 0.

    Ties at the threshold are broken by position (first ones pruned), like torch's l1_unstructured.
    """
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"amount must be a fraction in [0, 1], got {amount}")
    k = round(amount * weight.numel())
    out = weight.detach().clone()
    if k:
        idx = torch.topk(out.abs().flatten(), k, largest=False).indices
        out.view(-1)[idx] = 0
    return out


def sparsity(model: nn.Module) -> float:
    """Fraction of exactly-zero entries among the weights of the Linear and Conv layers."""
    zeros = total = 0
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            zeros += int((m.weight == 0).sum())
            total += m.weight.numel()
    return zeros / total if total else 0.0


def model_size_bytes(model: nn.Module) -> int:
    """Bytes of the model's ``state_dict`` saved with ``torch.save`` (what a file on disk takes)."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def sparse_size_bytes(model: nn.Module) -> int:
    """Bytes on disk when each weight is stored as its non-zero values plus int32 indices (COO)."""
    buffer = io.BytesIO()
    state = {}
    for name, t in model.state_dict().items():
        if t.dtype.is_floating_point and t.dim() > 1:
            flat = t.flatten()
            nz = flat.nonzero().flatten()
            state[name] = (nz.to(torch.int32), flat[nz], t.shape)
        else:
            state[name] = t
    torch.save(state, buffer)
    return buffer.getbuffer().nbytes


def quantize_int8(model: nn.Module) -> nn.Module:
    """Dynamic int8 quantisation of every ``nn.Linear`` (weights int8, activations quantised on the fly)."""
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():  # torch 2.9+ announces a move to torchao; the API still works
        warnings.simplefilter("ignore", (DeprecationWarning, UserWarning))
        return quantize_dynamic(model.cpu().eval(), {nn.Linear}, dtype=torch.qint8)


def quantize_weight_int8(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-output-channel symmetric int8: (q, scale) with scale = max|row| / 127, q = round(w / scale).

    Each entry then satisfies |w - q * scale| <= scale / 2. An all-zero row gets scale 1 (q = 0).
    """
    if weight.dim() != 2:
        raise ValueError(f"expected a 2-D (out, in) weight, got shape {tuple(weight.shape)}")
    w = weight.detach().float()
    scale = w.abs().amax(dim=1) / 127
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.round(w / scale[:, None]).clamp_(-127, 127).to(torch.int8)
    return q, scale


def dequantize_weight_int8(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """The float weight that int8 ``q`` with per-row ``scale`` stands for."""
    return q.float() * scale[:, None]


class Int8Linear(nn.Module):
    """A linear layer whose weight is stored as int8 plus one float scale per output channel.

    Weight-only: activations stay float, the weight is dequantised for each matmul (memory, not speed).
    """

    def __init__(self, linear: nn.Linear):
        super().__init__()
        q, scale = quantize_weight_int8(linear.weight)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.register_buffer("weight_int8", q)
        self.register_buffer("scale", scale.to(linear.weight.dtype))
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight_int8.to(x.dtype) * self.scale.to(x.dtype)[:, None]
        return F.linear(x, weight, None if self.bias is None else self.bias.to(x.dtype))


def quantize_weights_int8(model: nn.Module, skip: tuple[str, ...] = ()) -> list[str]:
    """Replace every ``nn.Linear`` of ``model`` (names not ending in ``skip``) by :class:`Int8Linear`.

    In place; returns the replaced names. Skip a layer whose weight is tied to an embedding (a GPT's
    ``lm_head``): quantising it would store the shared matrix twice.
    """
    names = [n for n, m in model.named_modules() if type(m) is nn.Linear and not (skip and n.endswith(skip))]
    for name in names:
        parent, _, child = name.rpartition(".")
        owner = model.get_submodule(parent) if parent else model
        setattr(owner, child, Int8Linear(getattr(owner, child)))
    return names


def tensor_bytes(model: nn.Module) -> int:
    """Bytes of the model's parameters and buffers in memory (a tensor shared by two names counts once)."""
    seen = {}
    for t in list(model.parameters()) + list(model.buffers()):
        seen[t.data_ptr()] = t.numel() * t.element_size()
    return sum(seen.values())


@torch.inference_mode()
def latency_per_batch(model: nn.Module, x: torch.Tensor, repeats: int = 20) -> float:
    """Median wall time (seconds) of one forward pass on ``x``: wall time, so it varies per run."""
    model.eval()
    model(x)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model(x)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def interleaved_latencies(models: dict[str, nn.Module], x: torch.Tensor,
                          rounds: int = 30) -> dict[str, list[float]]:
    """Wall times (seconds) of one forward pass of each model, timed in turn in every round, so that a
    change of machine load falls on all models alike instead of on whichever was timed at the time."""
    times: dict[str, list[float]] = {name: [] for name in models}
    with torch.inference_mode():
        for model in models.values():
            model.eval()
            model(x)  # warm-up
        for _ in range(rounds):
            for name, model in models.items():
                t0 = time.perf_counter()
                model(x)
                times[name].append(time.perf_counter() - t0)
    return times


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, targets: torch.Tensor,
                      temperature: float = 4.0, alpha: float = 0.5) -> torch.Tensor:
    """Hinton et al. (2015): alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(student, y)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    t = temperature
    soft = F.kl_div(F.log_softmax(student_logits / t, dim=-1), F.log_softmax(teacher_logits / t, dim=-1),
                    reduction="batchmean", log_target=True)
    return alpha * t * t * soft + (1 - alpha) * F.cross_entropy(student_logits, targets)
