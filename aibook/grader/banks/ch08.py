"""Chapter 8 (未来发展趋势与挑战) exercises: a Transformer's parameter count, training time from
C = 6ND, per-sample gradient clipping, a scaling-law prediction and reweighing weights (44 points).

The references are ``aibook.scaling`` (8.1, 8.2) and ``aibook.privacy`` (8.3, in PyTorch), or short
formulas written here (8.4, 8.5). The exercise text in ``solutions/ch08.ipynb`` states each test and
its points.
"""

from __future__ import annotations

import numpy as np

from aibook import scaling
from aibook.grader.questions import Call, Question, Test, call

# --- 8.1 parameter count -------------------------------------------------------------------------


def transformer_params_reference(n_layers, d_model, vocab_size, context, d_ff=None):
    """GPT-style count from aibook.scaling (heads do not matter: one head is always valid)."""
    if min(n_layers, d_model, vocab_size, context) < 1 or (d_ff is not None and d_ff < 1):
        raise ValueError("every size must be a positive integer")
    cfg = scaling.TransformerConfig(n_layers, d_model, 1, vocab_size, context, d_ff=d_ff)
    return scaling.transformer_params(cfg)


def _random_configs(rng: np.random.Generator) -> list[Call]:
    return [call(int(rng.integers(1, 13)), int(rng.integers(1, 65)) * 8, int(rng.integers(100, 60_000)),
                 int(rng.integers(16, 4097))) for _ in range(5)]


PARAMS = Question(
    "8.1", "transformer_params", "parameter count of a GPT-style Transformer",
    params=("n_layers", "d_model", "vocab_size", "context", "d_ff"), outputs=("n_params",),
    reference=transformer_params_reference,
    tests=(
        Test("GPT-2 small: 12 layers, d = 768, V = 50257, T = 1024", 3,
             lambda rng: [call(12, 768, 50257, 1024)],
             hint="per block 12 d^2 + 13 d; add (V + T) d (embeddings) and 2 d (final LayerNorm)"),
        Test("random configurations with d_ff = 4 d", 2, _random_configs,
             hint="the output layer shares the token embedding: do not count it twice"),
        Test("a custom feed-forward width d_ff", 2,
             lambda rng: [call(3, 64, 1000, 128, d_ff=100), call(2, 32, 500, 64, d_ff=32)],
             hint="the feed-forward layers have 2 d f + f + d weights; use d_ff when it is given"),
        Test("one layer, tiny sizes (every bias and LayerNorm counts)", 1,
             lambda rng: [call(1, 1, 1, 1), call(1, 2, 3, 1)]),
        Test("non-positive sizes raise ValueError", 2,
             lambda rng: [call(0, 8, 10, 10), call(2, -8, 10, 10), call(2, 8, 0, 10),
                          call(2, 8, 10, 10, d_ff=0)],
             raises="ValueError", hint="check the sizes first: raise ValueError('...') if one is < 1"),
    ),
)


# --- 8.2 training time --------------------------------------------------------------------------


def training_days_reference(n_params, n_tokens, n_gpus, peak_tflops, utilisation):
    """Days for C = 6ND on n_gpus GPUs at utilisation of peak_tflops TFLOP/s each."""
    return scaling.training_days(scaling.training_flops(n_params, n_tokens), n_gpus, peak_tflops * 1e12,
                                 utilisation)


def _random_runs(rng: np.random.Generator) -> list[Call]:
    return [call(float(10 ** rng.uniform(6, 12)), float(10 ** rng.uniform(9, 13)),
                 int(rng.integers(1, 10_000)), float(rng.uniform(50, 1000)), float(rng.uniform(0.1, 0.9)))
            for _ in range(5)]


DAYS = Question(
    "8.2", "training_days", "training time from C = 6ND",
    params=("n_params", "n_tokens", "n_gpus", "peak_tflops", "utilisation"), outputs=("days",),
    reference=training_days_reference,
    tests=(
        Test("GPT-3: 175e9 parameters, 300e9 tokens, 1024 GPUs of 312 TFLOP/s at 40 %", 2,
             lambda rng: [call(175e9, 300e9, 1024, 312.0, 0.4)],
             hint="C = 6 N D FLOPs; the cluster does n_gpus * peak_tflops * 1e12 * utilisation FLOP/s"),
        Test("random runs", 2, _random_runs, hint="the answer is in days: divide seconds by 86400"),
        Test("full utilisation and a single GPU", 1, lambda rng: [call(1e6, 1e9, 1, 100.0, 1.0)]),
        Test("utilisation outside (0, 1] raises ValueError", 2,
             lambda rng: [call(1e9, 1e9, 8, 100.0, 0.0), call(1e9, 1e9, 8, 100.0, 1.5),
                          call(1e9, 1e9, 8, 100.0, -0.3)],
             raises="ValueError", hint="utilisation is a fraction: 40 % is 0.4"),
        Test("fewer than one GPU raises ValueError", 1, lambda rng: [call(1e9, 1e9, 0, 100.0, 0.5)],
             raises="ValueError"),
    ),
)


# --- 8.3 per-sample gradient clipping --------------------------------------------------------------


def clip_per_sample_reference(grads, max_norm):
    """Rows of ``grads`` scaled to norm <= max_norm, by aibook.privacy.clip_per_sample in PyTorch."""
    import torch

    from aibook.privacy import clip_per_sample

    if max_norm <= 0:
        raise ValueError("max_norm must be positive")
    out = clip_per_sample({"g": torch.tensor(np.asarray(grads, dtype=float))}, max_norm)["g"]
    return out.numpy()


def _grads(rng: np.random.Generator, batch: int, size: int, scale: float = 1.0) -> np.ndarray:
    return rng.normal(size=(batch, size)) * scale


def _mixed_norms(rng: np.random.Generator) -> list[Call]:
    g = _grads(rng, 8, 5)
    g[::2] *= 0.05  # every other sample is already small
    return [call(g, 0.5)]


def _with_zero_row(rng: np.random.Generator) -> list[Call]:
    g = _grads(rng, 4, 6)
    g[1] = 0.0
    return [call(g, 1.0)]


CLIP = Question(
    "8.3", "clip_per_sample", "per-sample gradient clipping (DP-SGD)",
    params=("grads", "max_norm"), outputs=("clipped",),
    reference=clip_per_sample_reference,
    tests=(
        Test("a batch where every norm exceeds max_norm", 2, lambda rng: [call(_grads(rng, 6, 10, 3.0), 1.0)],
             hint="scale each row by max_norm / ||row||: clip the norm, not each element"),
        Test("small gradients stay unchanged, large ones are clipped", 3, _mixed_norms,
             hint="the factor is min(1, max_norm / ||g_i||): never scale a small gradient up"),
        Test("each sample is clipped by its own norm", 2,
             lambda rng: [call(np.vstack([_grads(rng, 1, 4, 10.0), _grads(rng, 3, 4, 0.01)]), 1.0)],
             hint="one norm per row (axis=1), not one norm for the whole batch"),
        Test("a zero gradient stays zero (no division by zero)", 1, _with_zero_row),
        Test("max_norm <= 0 raises ValueError", 1,
             lambda rng: [call(_grads(rng, 2, 3), 0.0), call(_grads(rng, 2, 3), -1.0)], raises="ValueError"),
        Test("does not modify its inputs", 1, lambda rng: [call(_grads(rng, 5, 4, 5.0), 1.0)],
             unmodified=True, hint="return a new array: g * factor[:, None], not g *= ..."),
    ),
)


# --- 8.4 scaling-law prediction ---------------------------------------------------------------------


def params_for_loss_reference(a, alpha, c, target):
    """N with a·N^(-alpha) + c = target; ValueError when target <= c (the floor is never reached)."""
    if alpha <= 0 or a <= 0:
        raise ValueError("a and alpha must be positive")
    if target <= c:
        raise ValueError(f"target {target} is not above the floor c = {c}: no model size reaches it")
    return (a / (target - c)) ** (1.0 / alpha)


def _random_laws(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(5):
        a, alpha, c = float(rng.uniform(1, 20)), float(rng.uniform(0.05, 0.8)), float(rng.uniform(0, 2))
        n = float(10 ** rng.uniform(3, 9))
        calls.append(call(a, alpha, c, float(scaling.power_law(n, a, alpha, c))))
    return calls


SCALING = Question(
    "8.4", "params_for_loss", "model size needed for a target loss under L(N) = a N^-alpha + c",
    params=("a", "alpha", "c", "target"), outputs=("n_params",),
    reference=params_for_loss_reference,
    tests=(
        Test("the fit of Section 8.2's kind: a = 1.07, alpha = 0.365, c = 0.01, target 0.05", 2,
             lambda rng: [call(1.07, 0.365, 0.01, 0.05)],
             hint="solve a N^-alpha = target - c for N: N = (a / (target - c)) ** (1 / alpha)"),
        Test("random laws (the target is the loss of a known size)", 2, _random_laws,
             hint="subtract the floor c before taking the power"),
        Test("Kaplan et al.'s exponent alpha = 0.076 without a floor", 2,
             lambda rng: [call(8.8e13**0.076, 0.076, 0.0, 2.0), call(8.8e13**0.076, 0.076, 0.0, 3.0)]),
        Test("a target at or below the floor raises ValueError", 2,
             lambda rng: [call(2.0, 0.3, 0.5, 0.5), call(2.0, 0.3, 0.5, 0.4)], raises="ValueError",
             hint="no size reaches a loss below c: raise ValueError instead of returning nan or inf"),
    ),
)


# --- 8.5 reweighing ---------------------------------------------------------------------------------


def reweighing_weights_reference(group, y):
    """Kamiran-Calders weights P(g) P(y) / P(g, y) per sample."""
    group, y = np.asarray(group), np.asarray(y)
    if group.shape != y.shape or group.ndim != 1:
        raise ValueError("group and y must be one-dimensional and of equal length")
    weights = np.empty(len(y))
    for g in np.unique(group):
        for label in np.unique(y):
            cell = (group == g) & (y == label)
            if cell.any():
                weights[cell] = np.mean(group == g) * np.mean(y == label) / np.mean(cell)
    return weights


def _biased(rng: np.random.Generator, n: int = 40, groups: int = 2) -> Call:
    group = rng.integers(0, groups, size=n)
    y = (rng.random(n) < 0.3 + 0.4 * (group == 0)).astype(int)
    return call(group, y)


def _independent(rng: np.random.Generator) -> list[Call]:
    return [call(np.array([0, 0, 1, 1, 0, 0, 1, 1]), np.array([0, 1, 0, 1, 0, 1, 0, 1]))]


def _a_group_without_positives(rng: np.random.Generator) -> list[Call]:
    return [call(np.array([0, 0, 0, 1, 1, 1]), np.array([1, 0, 1, 0, 0, 0]))]


REWEIGH = Question(
    "8.5", "reweighing_weights", "Kamiran-Calders reweighing weights",
    params=("group", "y"), outputs=("weights",),
    reference=reweighing_weights_reference,
    tests=(
        Test("two groups with different positive rates", 2, lambda rng: [_biased(rng)],
             hint="w = P(group) * P(label) / P(group, label), each estimated by a mean over all samples"),
        Test("already independent: every weight is 1", 2, _independent),
        Test("three groups", 2, lambda rng: [_biased(rng, 60, 3)], hint="loop over np.unique(group)"),
        Test("a group with no positive labels (no division by zero)", 1, _a_group_without_positives),
        Test("does not modify its inputs", 1, lambda rng: [_biased(rng, 20)], unmodified=True),
    ),
)


QUESTIONS = [PARAMS, DAYS, CLIP, SCALING, REWEIGH]
