"""A small, readable training loop shared by every chapter.

The progress bar goes to stderr through plain ``tqdm`` for readers running a notebook; stored
outputs are made without it (``AIBOOK_PROGRESS=0``, set by ``aibook.booktools.nbrun`` and the tests), and
the test suite would replace any bar with a fixed token (``tests/nbval_sanitize.cfg``).
"""

# Over 300 lines on purpose: the book's one train file (nanoGPT's layout), image and language models.
from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.std import tqdm


@dataclass
class History:
    """Per-epoch metrics of one training run."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.train_loss)


def _batches(loader: Iterable, progress: bool, desc: str):
    # AIBOOK_PROGRESS=0 (set by nbrun and the tests) keeps bars out of stored outputs: a static
    # page would show every intermediate state of the bar as its own block
    if not progress or os.environ.get("AIBOOK_PROGRESS") == "0":
        return loader
    total = len(loader) if hasattr(loader, "__len__") else None
    return tqdm(loader, total=total, desc=desc, file=sys.stderr, leave=False, mininterval=1.0)


class _Tally:
    """Running sample-weighted mean loss and accuracy (accuracy only for class-index targets).

    The sums stay on the device as tensors and are read once per epoch in ``result``: a
    ``.item()`` per batch would make the host wait for the GPU twice a step. The loss sum is
    float64, which gives exactly the numbers of summing the Python floats ``loss.item() * n``.
    """

    def __init__(self) -> None:
        self.loss: torch.Tensor | float = 0.0
        self.correct: torch.Tensor | int = 0
        self.seen, self.classify = 0, True

    def add(self, loss: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> None:
        n = y.shape[0]
        self.loss = self.loss + loss.detach().double() * n
        self.seen += n
        if self.classify and y.dtype == torch.long and out.ndim == 2:
            self.correct = self.correct + (out.argmax(dim=1) == y).sum()
        else:
            self.classify = False

    def result(self, caller: str) -> tuple[float, float]:
        if self.seen == 0:
            raise ValueError(f"{caller} got an empty loader: check the dataset and batch size")
        loss, correct = float(self.loss), int(self.correct)  # the one host sync of the epoch
        return loss / self.seen, (correct / self.seen if self.classify else float("nan"))


def train_epoch(
    model: nn.Module,
    loader: Iterable,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    device: torch.device | str = "cpu",
    scheduler=None,
    progress: bool = False,
) -> tuple[float, float]:
    """Train for one pass over ``loader``; return (mean loss, accuracy) over the samples seen.

    ``scheduler`` (optional) is stepped after every batch, as one-cycle schedules expect.
    Accuracy is computed for class-index targets and reported as NaN for other targets.
    """
    model.train()
    tally = _Tally()
    for x, y in _batches(loader, progress, "train"):
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad(set_to_none=True)
        out = model(x)
        loss = loss_fn(out, y)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        tally.add(loss, out, y)
    return tally.result("train_epoch")


@torch.inference_mode()
def evaluate(
    model: nn.Module, loader: Iterable, loss_fn: Callable, device: torch.device | str = "cpu"
) -> tuple[float, float]:
    """Return (mean loss, accuracy) of ``model`` on ``loader`` without tracking gradients."""
    model.eval()
    tally = _Tally()
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        out = model(x)
        tally.add(loss_fn(out, y), out, y)
    return tally.result("evaluate")


def fit(
    model: nn.Module,
    train_loader: Iterable,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    val_loader: Iterable | None = None,
    device: torch.device | str = "cpu",
    scheduler=None,
    progress: bool = True,
    verbose: bool = True,
) -> History:
    """Train ``model`` for ``epochs`` epochs and return its :class:`History`.

    With ``verbose`` one line per epoch is printed (deterministic numbers only, no timings).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    history = History()
    for epoch in range(1, epochs + 1):
        loss, acc = train_epoch(
            model, train_loader, loss_fn, optimizer, device, scheduler, progress
        )
        history.train_loss.append(loss)
        history.train_acc.append(acc)
        line = f"epoch {epoch:>2}: train loss {loss:.4f} acc {acc:.4f}"
        if val_loader is not None:
            vloss, vacc = evaluate(model, val_loader, loss_fn, device)
            history.val_loss.append(vloss)
            history.val_acc.append(vacc)
            line += f" | val loss {vloss:.4f} acc {vacc:.4f}"
        if verbose:
            print(line)
    return history


def predict(
    model: nn.Module, x: torch.Tensor, batch_size: int = 1000, mode: str = "inference"
) -> torch.Tensor:
    """Logits of ``model`` for all of ``x``, batch by batch, in eval mode.

    ``mode``: 'inference' (``torch.inference_mode``), 'no_grad' (``torch.no_grad``) or
    'grad' (autograd records everything, as if one forgot both).
    """
    contexts = {"inference": torch.inference_mode, "no_grad": torch.no_grad, "grad": torch.enable_grad}
    if mode not in contexts:
        raise ValueError(f"mode must be one of {sorted(contexts)}, got {mode!r}")
    was_training = model.training
    model.eval()
    try:
        with contexts[mode]():
            out = [model(x[i : i + batch_size]).detach() for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out)


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Counts C[i, j] of samples of true class i predicted as class j."""
    idx = y_true.to(torch.int64) * num_classes + y_pred.to(torch.int64)
    return torch.bincount(idx.cpu(), minlength=num_classes**2).view(num_classes, num_classes)


# --- Language-model pre-training (Chapter 11) --------------------------------------------------

RESULTS = Path(__file__).resolve().parent / "results"
#: the reference GPT of Chapter 11, written by benchmarks/llm_pretrain.py and shipped in the package
REFERENCE_CHECKPOINT = RESULTS / "gpt_reference.pt"


def stored_result(name: str):
    """A JSON (or JSON-lines, as a list) result file shipped in ``aibook/results/``."""
    import json

    path = RESULTS / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall aibook, or run the benchmark that writes it")
    text = path.read_text(encoding="utf-8")
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)


def mean_and_range(values, digits: int = 2) -> str:
    """'mean [min, max]' of per-seed results, the book's way of showing a spread: 0.87 [0.84, 0.92]."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("mean_and_range needs at least one value")
    return f"{sum(values) / len(values):.{digits}f} [{min(values):.{digits}f}, {max(values):.{digits}f}]"


# Token streams instead of a DataLoader: batch ``step`` of a run is a fixed function of the seed,
# so a run under torchrun (each process takes its slice of the global batch) repeats one process.


@dataclass
class LMTrainConfig:
    """Settings of a pre-training run; ``batch_size`` is the global batch in sequences."""

    steps: int
    batch_size: int = 32
    lr: float = 3e-3
    min_lr_ratio: float = 0.1
    warmup: int = 50
    weight_decay: float = 0.1
    clip: float = 1.0
    eval_every: int = 100
    eval_tokens: int = 50_000
    seed: int = 0


@dataclass
class LMHistory:
    """Losses of a pre-training run at its evaluation steps, and the measured throughput."""

    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    tokens_per_second: float = float("nan")
    seconds: float = float("nan")


def lm_batch(tokens, step: int, batch_size: int, context: int,
             seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y) of ``batch_size`` random windows of the token stream; y is x shifted by one token."""
    if len(tokens) <= context + 1:
        raise ValueError(f"the token stream ({len(tokens)}) must be longer than context + 1 ({context + 1})")
    starts = np.random.default_rng([seed, step]).integers(0, len(tokens) - context - 1, size=batch_size)
    windows = np.stack([np.asarray(tokens[s:s + context + 1], dtype=np.int64) for s in starts])
    w = torch.from_numpy(windows)
    return w[:, :-1], w[:, 1:]


def lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over every position of logits (b, n, V) and targets (b, n)."""
    return nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())


def warmup_cosine(step: int, warmup: int, total: int, min_ratio: float = 0.1) -> float:
    """Learning-rate factor: linear from 1/warmup to 1 in ``warmup`` steps, then cosine to ``min_ratio``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


@torch.inference_mode()
def _scored_windows(model: nn.Module, tokens, context: int, max_tokens: int | None, batch_size: int,
                    device: torch.device | str, stride: int | None):
    """Yield (per-target loss, mask of the targets this window scores) for batches of equal-length windows."""
    stream = np.asarray(tokens[: (max_tokens or len(tokens))], dtype=np.int64)
    if len(stream) < 2:
        raise ValueError("need at least 2 tokens to evaluate")
    stride = stride or context
    if not 0 < stride <= context:
        raise ValueError(f"stride must be in 1..context ({context}), got {stride}")
    # window s covers targets s+1 .. s+context; it scores those after the previous window's last target
    windows, scored_until = [], 0
    for s in range(0, len(stream) - 1, stride):
        end = min(s + context, len(stream) - 1)
        windows.append((s, end, scored_until + 1))
        scored_until = end
        if end == len(stream) - 1:
            break
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for i in range(0, len(windows), batch_size):
                chunk = windows[i:i + batch_size]
                for length in sorted({end - s for s, end, _ in chunk}):  # a short last window alone
                    group = [w for w in chunk if w[1] - w[0] == length]
                    w = torch.from_numpy(np.stack([stream[s:end + 1] for s, end, _ in group])).to(device)
                    logits = model(w[:, :-1])
                    loss = nn.functional.cross_entropy(logits.transpose(1, 2), w[:, 1:], reduction="none")
                    targets = torch.arange(1, length + 1)
                    keep = torch.stack([s + targets >= first for s, _, first in group]).to(loss.device)
                    yield [s for s, _, _ in group], loss, keep
    finally:
        model.train(was_training)


def evaluate_lm(model: nn.Module, tokens, context: int, max_tokens: int | None = None, batch_size: int = 32,
                device: torch.device | str = "cpu", stride: int | None = None) -> float:
    """Mean next-token loss (nats) over tokens[1:] of the first ``max_tokens``.

    Windows of ``context`` tokens start every ``stride`` tokens (default ``context``: disjoint windows,
    so a window's first targets see almost no history). With ``stride < context`` each target is
    scored once, in the first window where it has at least ``context - stride`` tokens of history
    (the sliding-window perplexity; the n-gram baselines always see their full history).
    """
    total, count = torch.zeros((), dtype=torch.float64), 0
    for _, loss, keep in _scored_windows(model, tokens, context, max_tokens, batch_size, device, stride):
        total += (loss * keep).sum().double().cpu()
        count += int(keep.sum())
    return float(total) / count


def window_losses(model: nn.Module, tokens, context: int, max_tokens: int | None = None, batch_size: int = 32,
                  device: torch.device | str = "cpu",
                  stride: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(mean loss, number of scored targets) of each window of :func:`evaluate_lm`, in stream order.

    The count-weighted mean of the losses is evaluate_lm's number; their spread gives its standard error.
    """
    starts, losses, counts = [], [], []
    windows = _scored_windows(model, tokens, context, max_tokens, batch_size, device, stride)
    for group_starts, loss, keep in windows:
        sums, n = (loss * keep).sum(1).double().cpu(), keep.sum(1).cpu()
        starts += group_starts
        losses += (sums / n).tolist()
        counts += n.tolist()
    order = np.argsort(starts, kind="stable")
    return np.array(losses)[order], np.array(counts)[order]


def _distributed() -> tuple[int, int]:
    """(rank, world size) of the process group, or (0, 1) without one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _mean_over_processes(value: float, world: int, device: torch.device | str) -> float:
    """Mean of ``value`` over the processes (equal shards: the mean over the global batch)."""
    if world == 1:
        return value
    import torch.distributed as dist

    t = torch.tensor([value], dtype=torch.float64, device=device)  # NCCL reduces GPU tensors only
    dist.all_reduce(t)
    return t.item() / world


def train_lm(model: nn.Module, train_tokens, val_tokens, cfg: LMTrainConfig,
             device: torch.device | str = "cpu", verbose: bool = True, progress: bool = False,
             on_eval: Callable | None = None) -> LMHistory:
    """Pre-train ``model`` (logits = model(idx)) with AdamW, warm-up + cosine and gradient clipping.

    Under ``torchrun`` (a process group is initialised) the model is wrapped in DDP and each of the
    W processes trains on its 1/W slice of every global batch; the result equals one process.
    Every ``eval_every`` steps and at the end, the mean training loss since the last evaluation and
    the validation loss (first ``eval_tokens`` tokens) are recorded; ``on_eval(step, model)`` runs
    then (for samples). The printed lines hold no timings, so they are the same on every machine.
    """
    rank, world = _distributed()
    if cfg.batch_size % world:
        raise ValueError(f"batch_size {cfg.batch_size} is not divisible by {world} processes")
    context = model.config.context
    decay = [p for p in model.parameters() if p.dim() >= 2]  # weight matrices; not biases, LayerNorm
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": rest, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.95))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: warmup_cosine(s, cfg.warmup, cfg.steps, cfg.min_lr_ratio))
    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        on_gpu = torch.device(device).type == "cuda"
        net = DDP(model, device_ids=[torch.device(device).index] if on_gpu else None)
    shard = slice(rank * cfg.batch_size // world, (rank + 1) * cfg.batch_size // world)
    history, tally, trained_seconds = LMHistory(), _Tally(), 0.0
    model.train()
    for step in _batches(range(1, cfg.steps + 1), progress, "pre-train"):
        start = time.perf_counter()
        x, y = lm_batch(train_tokens, step, cfg.batch_size, context, cfg.seed)
        x, y = x[shard].to(device), y[shard].to(device)
        opt.zero_grad(set_to_none=True)
        logits = net(x)
        loss = lm_loss(logits, y)
        loss.backward()  # DDP averages the gradients of the processes here
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()
        sched.step()
        tally.add(loss, logits, y)
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()
        trained_seconds += time.perf_counter() - start
        if step % cfg.eval_every == 0 or step == cfg.steps:
            history.steps.append(step)
            history.train_loss.append(_mean_over_processes(tally.result("train_lm")[0], world, device))
            history.val_loss.append(evaluate_lm(model, val_tokens, context, cfg.eval_tokens, device=device))
            tally = _Tally()
            if verbose and rank == 0:
                print(f"step {step:>5}: train loss {history.train_loss[-1]:.4f}"
                      f" | val loss {history.val_loss[-1]:.4f}")
            if on_eval is not None:
                on_eval(step, model)
            model.train()
    history.seconds = trained_seconds
    history.tokens_per_second = cfg.steps * cfg.batch_size * context / trained_seconds
    return history


def save_checkpoint(path, model: nn.Module, metadata: dict, dtype: torch.dtype = torch.float16) -> None:
    """Write a GPT's config, weights (stored as ``dtype`` to keep the file small) and ``metadata``."""
    state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in model.state_dict().items()
             if k != "head.weight"}  # tied to token.weight: stored once
    torch.save({"config": model.config.to_dict(), "state_dict": state, "metadata": metadata}, path)


def load_checkpoint(path=REFERENCE_CHECKPOINT, device: torch.device | str = "cpu") -> tuple[nn.Module, dict]:
    """(GPT in float32 on ``device``, metadata) from a file written by :func:`save_checkpoint`."""
    from aibook.gpt import GPT, GPTConfig

    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"checkpoint {path} not found: run the benchmark that writes it") from None
    model = GPT(GPTConfig(**saved["config"]))
    state = {k: v.float() for k, v in saved["state_dict"].items()}
    model.load_state_dict({**state, "head.weight": state["token.weight"]})
    return model.to(device), saved["metadata"]
