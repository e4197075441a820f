"""Back-of-the-envelope arithmetic of large models (Chapter 8): parameters, compute, time, energy.

``transformer_params`` counts the weights of a GPT-2- or BERT-style Transformer from its
configuration; ``torch_transformer`` builds the same network from ``torch.nn`` layers so the count
can be checked by instantiating it. ``training_flops`` is the C = 6·N·D rule, ``training_days`` the
wall-clock time at a stated utilisation, ``fit_power_law`` fits L(N) = a·N^(-alpha) + c, and
``training_energy_kwh`` / ``emissions_tonnes`` turn GPU power and hours into energy and CO2e.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

# the package's one parameter counter, re-exported for Chapter 8
from aibook.models import count_parameters as count_parameters

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class TransformerConfig:
    """Shape of a Transformer: ``kind`` is "gpt" (decoder, final LayerNorm, tied output) or "bert"."""

    n_layers: int
    d_model: int
    n_heads: int
    vocab_size: int
    context: int
    d_ff: int | None = None  # width of the feed-forward layer; None means 4 * d_model
    kind: str = "gpt"
    type_vocab: int = 2  # BERT's segment (token-type) embeddings; unused for "gpt"

    def __post_init__(self) -> None:
        if self.kind not in ("gpt", "bert"):
            raise ValueError(f"kind must be 'gpt' or 'bert', got {self.kind!r}")
        for name in ("n_layers", "d_model", "n_heads", "vocab_size", "context"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")

    @property
    def ff(self) -> int:
        """Feed-forward width actually used."""
        return self.d_ff if self.d_ff is not None else 4 * self.d_model


def layer_params(d_model: int, d_ff: int) -> int:
    """Weights of one Transformer block: attention (Q, K, V, output with biases), MLP, 2 LayerNorms."""
    attention = 4 * d_model * d_model + 4 * d_model
    mlp = 2 * d_model * d_ff + d_ff + d_model
    return attention + mlp + 4 * d_model


def transformer_params(cfg: TransformerConfig) -> int:
    """Total number of weights of ``cfg`` (output layer tied to the token embedding, no task heads).

    GPT: token + position embeddings, the blocks, a final LayerNorm. BERT: token + position +
    segment embeddings with a LayerNorm, the blocks, and the pooler (a d x d dense layer).
    """
    d = cfg.d_model
    blocks = cfg.n_layers * layer_params(d, cfg.ff)
    embeddings = (cfg.vocab_size + cfg.context) * d
    if cfg.kind == "gpt":
        return embeddings + blocks + 2 * d
    return embeddings + cfg.type_vocab * d + 2 * d + blocks + d * d + d


def non_embedding_params(cfg: TransformerConfig) -> int:
    """Weights outside the embedding tables (the N of Kaplan et al.'s scaling laws)."""
    return transformer_params(cfg) - (cfg.vocab_size + cfg.context) * cfg.d_model - (
        cfg.type_vocab * cfg.d_model if cfg.kind == "bert" else 0)


class _TorchTransformer(nn.Module):
    """The network of ``cfg`` made of torch.nn layers, used only to count parameters."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        d = cfg.d_model
        self.token = nn.Embedding(cfg.vocab_size, d)
        self.position = nn.Embedding(cfg.context, d)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(d, cfg.n_heads, dim_feedforward=cfg.ff, batch_first=True,
                                       norm_first=cfg.kind == "gpt")
            for _ in range(cfg.n_layers))
        self.norm = nn.LayerNorm(d)  # GPT: after the blocks; BERT: on the embeddings
        if cfg.kind == "bert":
            self.segment = nn.Embedding(cfg.type_vocab, d)
            self.pooler = nn.Linear(d, d)
        self.head = nn.Linear(d, cfg.vocab_size, bias=False)
        self.head.weight = self.token.weight  # tied: the output layer reuses the embedding

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.token(tokens) + self.position(torch.arange(tokens.shape[1], device=tokens.device))
        if hasattr(self, "segment"):  # BERT: LayerNorm on the embeddings, blocks after
            x = self.norm(x + self.segment(torch.zeros_like(tokens)))
        for block in self.blocks:
            x = block(x)
        return self.head(x if hasattr(self, "segment") else self.norm(x))


def torch_transformer(cfg: TransformerConfig) -> nn.Module:
    """A ``torch.nn`` model with the layers of ``cfg``; count with ``count_parameters``."""
    return _TorchTransformer(cfg)


def training_flops(n_params: float, n_tokens: float) -> float:
    """C = 6·N·D: forward (2 FLOPs per weight per token) plus backward (4)."""
    if n_params < 0 or n_tokens < 0:
        raise ValueError("n_params and n_tokens must be non-negative")
    return 6.0 * n_params * n_tokens


def training_days(flops: float, n_gpus: int, peak_flops_per_gpu: float, utilisation: float) -> float:
    """Days to do ``flops`` on ``n_gpus`` GPUs that reach ``utilisation`` of their peak FLOP/s."""
    if n_gpus < 1 or peak_flops_per_gpu <= 0:
        raise ValueError("n_gpus must be >= 1 and peak_flops_per_gpu > 0")
    if not 0 < utilisation <= 1:
        raise ValueError(f"utilisation is a fraction in (0, 1], got {utilisation}")
    return flops / (n_gpus * peak_flops_per_gpu * utilisation) / SECONDS_PER_DAY


def training_energy_kwh(gpu_power_w: float, n_gpus: int, hours: float, pue: float = 1.0) -> float:
    """Energy drawn from the grid: average power per GPU (W) x GPUs x hours x PUE, in kWh."""
    if gpu_power_w < 0 or n_gpus < 0 or hours < 0:
        raise ValueError("power, GPU count and hours must be non-negative")
    if pue < 1:
        raise ValueError(f"PUE (power usage effectiveness) is at least 1, got {pue}")
    return gpu_power_w * n_gpus * hours * pue / 1000.0


def emissions_tonnes(energy_kwh: float, grams_co2e_per_kwh: float) -> float:
    """Tonnes of CO2-equivalent for ``energy_kwh`` at a grid carbon intensity in gCO2e/kWh."""
    if energy_kwh < 0 or grams_co2e_per_kwh < 0:
        raise ValueError("energy and carbon intensity must be non-negative")
    return energy_kwh * grams_co2e_per_kwh / 1e6


def power_law(n, a: float, alpha: float, c: float):
    """L(N) = a·N^(-alpha) + c."""
    return a * np.asarray(n, dtype=float) ** (-alpha) + c


def fit_power_law(n, loss, n_grid: int = 2000, iterations: int = 100) -> tuple[float, float, float]:
    """Least-squares fit of L(N) = a·N^(-alpha) + c with c >= 0: (a, alpha, c).

    Start: for each floor c on a grid in [0, min(loss)), log(L - c) is linear in log N, so a and alpha
    come from a straight-line fit; keep the best. Then Levenberg-Marquardt steps on the squared error
    in L. Deterministic: no random start.
    """
    n, loss = np.asarray(n, dtype=float), np.asarray(loss, dtype=float)
    if n.shape != loss.shape or n.ndim != 1 or len(n) < 3:
        raise ValueError("need at least 3 (N, loss) pairs of equal length to fit 3 parameters")
    if (n <= 0).any() or (loss <= 0).any():
        raise ValueError("sizes and losses must be positive")

    def sse(theta: np.ndarray) -> float:
        return float(((power_law(n, *theta) - loss) ** 2).sum())

    best = None
    for c in np.linspace(0.0, loss.min(), n_grid, endpoint=False):
        slope, intercept = np.polyfit(np.log(n), np.log(loss - c), 1)
        theta = np.array([np.exp(intercept), -slope, c])
        if best is None or sse(theta) < sse(best):
            best = theta
    theta, damping = best, 1e-3
    for _ in range(iterations):
        a, alpha, _c = theta
        powered = n ** (-alpha)
        jac = np.stack([powered, -a * np.log(n) * powered, np.ones_like(n)], axis=1)
        residual = power_law(n, *theta) - loss
        lhs = jac.T @ jac
        step = np.linalg.solve(lhs + damping * np.diag(np.diag(lhs) + 1e-12), -jac.T @ residual)
        trial = theta + step
        trial[2] = max(trial[2], 0.0)
        if sse(trial) < sse(theta):
            theta, damping = trial, damping / 3
        else:
            damping *= 5
    return float(theta[0]), float(theta[1]), float(theta[2])


def chinchilla_loss(n, d, e: float, a: float, alpha: float, b: float, beta: float):
    """L(N, D) = E + A / N^alpha + B / D^beta (Hoffmann et al. 2022, eq. 2)."""
    return e + a / np.asarray(n, dtype=float) ** alpha + b / np.asarray(d, dtype=float) ** beta


def fit_chinchilla(n, d, loss, e: float | None = None) -> tuple[float, float, float, float, float]:
    """Least-squares fit of L(N, D) = E + A/N^alpha + B/D^beta: (E, A, alpha, B, beta); with ``e``
    given, E is held at that value and the other four are fitted.

    Fitted in log-space parameters (log A, log B) from a grid of starts, keeping the best, as
    Hoffmann et al. do (they minimise a Huber loss of log L; with few clean points squares suffice).
    """
    from scipy.optimize import least_squares

    n, d, loss = (np.asarray(v, dtype=float) for v in (n, d, loss))
    if not n.shape == d.shape == loss.shape or n.ndim != 1 or len(n) < 5:
        raise ValueError("need at least 5 (N, D, loss) triples of equal length to fit 5 parameters")

    if e is not None and not 0 <= e < loss.min():
        raise ValueError(f"a fixed E must lie in [0, {loss.min():.4g}), the smallest loss")

    def residual(theta: np.ndarray) -> np.ndarray:
        log_a, alpha, log_b, beta = theta[-4:]
        floor = theta[0] if e is None else e
        return floor + np.exp(log_a - alpha * np.log(n)) + np.exp(log_b - beta * np.log(d)) - loss

    best = None
    for alpha0 in (0.2, 0.5, 1.0):
        for beta0 in (0.2, 0.5, 1.0):
            start = [np.log(n.mean()) * alpha0, alpha0, np.log(d.mean()) * beta0, beta0]
            low, high = [-50, 0, -50, 0], [50, 3, 50, 3]
            if e is None:
                start, low, high = [loss.min() * 0.5, *start], [0, *low], [loss.min(), *high]
            fit = least_squares(residual, np.array(start), bounds=(low, high))
            if best is None or fit.cost < best.cost:
                best = fit
    log_a, alpha, log_b, beta = best.x[-4:]
    floor = best.x[0] if e is None else e
    return float(floor), float(np.exp(log_a)), float(alpha), float(np.exp(log_b)), float(beta)


def compute_optimal(flops: float, a: float, alpha: float, b: float, beta: float) -> tuple[float, float]:
    """(N_opt, D_opt) minimising A/N^alpha + B/D^beta under C = 6·N·D (Hoffmann et al. eq. 4)."""
    g = (alpha * a / (beta * b)) ** (1 / (alpha + beta))
    n_opt = g * (flops / 6) ** (beta / (alpha + beta))
    return float(n_opt), float(flops / 6 / n_opt)
