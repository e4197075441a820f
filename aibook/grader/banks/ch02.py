"""Chapter 2 (核心概念与联系) exercises: attention with a mask, the causal mask, sinusoidal
positional encodings, layer normalisation, PCA reconstruction, magnitude pruning, int8
quantisation and the distillation loss (57 points).

Each reference is an independent implementation: PyTorch (``F.scaled_dot_product_attention``,
``F.layer_norm``, ``torch.nn.utils.prune``), scikit-learn's ``PCA`` or a direct NumPy formula.
The exercise text in ``solutions/ch02.ipynb`` states each test and its points.
"""

# Over 300 lines on purpose: a question bank is data, and one source per exercise set keeps each
# question's text, reference answer and tests together.

from __future__ import annotations

import numpy as np

from aibook.grader.questions import Call, Question, Test, call

# --- 2.1 scaled dot-product attention ----------------------------------------------------------


def attention_reference(q, k, v, mask=None):
    """softmax(q k^T / sqrt(d)) v by torch.nn.functional.scaled_dot_product_attention (float64)."""
    import torch
    import torch.nn.functional as F

    t = [torch.tensor(a, dtype=torch.float64) for a in (q, k, v)]
    m = None if mask is None else torch.tensor(np.asarray(mask, dtype=bool))
    return F.scaled_dot_product_attention(*t, attn_mask=m).numpy()


def _qkv(rng: np.random.Generator, batch: tuple, n: int, m: int, d: int, dv: int, scale: float = 1.0):
    return (rng.normal(size=(*batch, n, d)) * scale, rng.normal(size=(*batch, m, d)) * scale,
            rng.normal(size=(*batch, m, dv)))


def _random_mask(rng: np.random.Generator, n: int, m: int) -> np.ndarray:
    mask = rng.random((n, m)) > 0.4
    mask[np.arange(n), rng.integers(0, m, n)] = True  # every query keeps at least one key
    return mask


ATTENTION = Question(
    "2.1", "attention", "scaled dot-product attention with an optional boolean mask",
    params=("q", "k", "v", "mask"), outputs=("output",),
    reference=attention_reference,
    tests=(
        Test("one sequence, no mask (n = m = 4, d = 3)", 2, lambda rng: [call(*_qkv(rng, (), 4, 4, 3, 3))]),
        Test("queries and keys of different lengths, d_v != d", 1,
             lambda rng: [call(*_qkv(rng, (), 3, 6, 4, 2))],
             hint="the weights are (n, m): q @ k.T, softmax over the last axis (the keys)"),
        Test("scores are divided by sqrt(d)", 2, lambda rng: [call(*_qkv(rng, (), 5, 5, 16, 4))],
             hint="divide q @ k.T by sqrt(d), d = q.shape[-1]"),
        Test("a boolean mask: False = not attended", 2,
             lambda rng: [call(*_qkv(rng, (), 5, 5, 4, 3), _random_mask(rng, 5, 5))],
             hint="set the masked scores to -inf before the softmax (e.g. np.where(mask, s, -np.inf))"),
        Test("a batch with two leading axes (2, 3, n, d)", 1,
             lambda rng: [call(*_qkv(rng, (2, 3), 4, 4, 5, 5), _random_mask(rng, 4, 4))],
             hint="use k.swapaxes(-1, -2), not k.T, so batch axes stay in place"),
        Test("large scores (+-1000) do not overflow", 1,
             lambda rng: [call(*_qkv(rng, (), 4, 4, 2, 3, scale=40.0))],
             hint="subtract the row maximum before np.exp"),
        Test("does not modify its inputs", 1,
             lambda rng: [call(*_qkv(rng, (), 3, 3, 2, 2), _random_mask(rng, 3, 3))], unmodified=True),
    ),
)


# --- 2.2 causal mask ---------------------------------------------------------------------------


def causal_mask_reference(n):
    """Boolean (n, n), True on and below the diagonal; ValueError for n < 1."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return np.tril(np.ones((n, n), dtype=bool))


CAUSAL_MASK = Question(
    "2.2", "causal_mask", "the causal (look-back only) attention mask",
    params=("n",), outputs=("mask",),
    reference=causal_mask_reference,
    tests=(
        Test("n = 4", 2, lambda rng: [call(4)],
             hint="row i (the query) may attend to columns 0..i: ones on and below the diagonal"),
        Test("n = 2: position 0 sees only itself", 1, lambda rng: [call(2)],
             hint="row 0 is [True, False]: the first token cannot look ahead"),
        Test("n = 1 and a long sequence", 1, lambda rng: [call(1), call(int(rng.integers(50, 80)))]),
        Test("n = 0 raises ValueError", 1, lambda rng: [call(0)], raises="ValueError"),
    ),
)


# --- 2.3 sinusoidal positional encoding --------------------------------------------------------


def positional_encoding_reference(n_positions, d_model):
    """PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(...), float64, one entry at a time."""
    if d_model % 2:
        raise ValueError(f"d_model must be even, got {d_model}")
    pe = np.zeros((n_positions, d_model))
    for p in range(n_positions):
        for i in range(d_model // 2):
            angle = p / 10000.0 ** (2 * i / d_model)
            pe[p, 2 * i], pe[p, 2 * i + 1] = np.sin(angle), np.cos(angle)
    return pe


POSITIONAL_ENCODING = Question(
    "2.3", "positional_encoding", "sinusoidal positional encodings",
    params=("n_positions", "d_model"), outputs=("pe",),  # atol 1e-5: float32 answers pass
    reference=positional_encoding_reference,
    tests=(
        Test("4 positions, d_model = 6", 2, lambda rng: [call(4, 6)], atol=1e-5,
             hint="sin in the even columns 0, 2, 4, cos in the odd columns 1, 3, 5"),
        Test("the exponent is 2i / d_model (pairs share a frequency)", 2, lambda rng: [call(50, 16)],
             atol=1e-5,
             hint="columns 2i and 2i+1 use the same angle p / 10000**(2i / d_model)"),
        Test("d_model = 2", 1, lambda rng: [call(3, 2)], atol=1e-5),
        Test("odd d_model raises ValueError", 1, lambda rng: [call(4, 5)], raises="ValueError"),
    ),
)


# --- 2.4 layer normalisation -------------------------------------------------------------------


def layer_norm_reference(x, gamma, beta, eps=1e-5):
    """torch.nn.functional.layer_norm over the last axis, in float64."""
    import torch
    import torch.nn.functional as F

    t = torch.tensor(x, dtype=torch.float64)
    return F.layer_norm(t, t.shape[-1:], torch.tensor(gamma, dtype=torch.float64),
                        torch.tensor(beta, dtype=torch.float64), eps).numpy()


def _ln_case(rng: np.random.Generator, shape: tuple) -> Call:
    d = shape[-1]
    return call(rng.normal(size=shape) * 3 + 1, rng.normal(size=d), rng.normal(size=d))


LAYER_NORM = Question(
    "2.4", "layer_norm", "layer normalisation over the last axis",
    params=("x", "gamma", "beta", "eps"), outputs=("y",),
    reference=layer_norm_reference,
    tests=(
        Test("one vector of 6 features", 2, lambda rng: [_ln_case(rng, (6,))]),
        Test("a batch (4, 5, 8): normalise each row over the last axis only", 2,
             lambda rng: [_ln_case(rng, (4, 5, 8))],
             hint="mean and var with axis=-1, keepdims=True"),
        Test("the variance is the biased one (divide by d, not d - 1)", 1,
             lambda rng: [_ln_case(rng, (3, 4))], hint="np.var (ddof=0), as PyTorch does"),
        Test("constant and nearly constant rows (variance below eps)", 1,
             lambda rng: [call(np.full((2, 5), 3.0), rng.normal(size=5), rng.normal(size=5)),
                          call(3.0 + 1e-4 * rng.normal(size=(2, 5)), rng.normal(size=5), rng.normal(size=5))],
             hint="divide by sqrt(var + eps), with eps inside the square root"),
        Test("does not modify its inputs", 1, lambda rng: [_ln_case(rng, (2, 3))], unmodified=True),
    ),
)


# --- 2.5 PCA reconstruction --------------------------------------------------------------------


def pca_reconstruct_reference(x, k):
    """Reconstruction from the first k principal components, by scikit-learn's PCA."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=k, svd_solver="full").fit(x)
    return pca.inverse_transform(pca.transform(x))


def _correlated(rng: np.random.Generator, n: int, d: int, shift: float = 0.0) -> np.ndarray:
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + shift


TOL = {"rtol": 1e-6, "atol": 1e-6}  # SVD answers agree with scikit-learn to ~1e-12

PCA_RECONSTRUCT = Question(
    "2.5", "pca_reconstruct", "project onto the top-k principal components and back",
    params=("x", "k"), outputs=("x_hat",),
    reference=pca_reconstruct_reference,
    tests=(
        Test("centred-ish data, k = 2 of 5", 2, lambda rng: [call(_correlated(rng, 40, 5), 2)], **TOL),
        Test("data far from the origin: centre first, add the mean back", 2,
             lambda rng: [call(_correlated(rng, 30, 4, shift=50.0), 1)], **TOL,
             hint="subtract x.mean(axis=0) before the SVD and add it back at the end"),
        Test("k = d reproduces x exactly", 1, lambda rng: [call(_correlated(rng, 20, 3), 3)], **TOL),
        Test("more features than samples (n = 6, d = 10)", 1,
             lambda rng: [call(_correlated(rng, 6, 10), 3)], **TOL,
             hint="use np.linalg.svd(xc, full_matrices=False); the components are the rows of Vt"),
        Test("does not modify its inputs", 1, lambda rng: [call(_correlated(rng, 10, 3, 5.0), 2)],
             unmodified=True, **TOL),
    ),
)


# --- 2.6 magnitude pruning ---------------------------------------------------------------------


def magnitude_prune_reference(w, amount):
    """torch.nn.utils.prune.l1_unstructured on a copy: the round(amount * size) smallest |w| set to 0."""
    import torch
    from torch.nn.utils import prune

    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"amount must be in [0, 1], got {amount}")
    holder = torch.nn.Module()
    holder.weight = torch.nn.Parameter(torch.tensor(w, dtype=torch.float64))
    prune.l1_unstructured(holder, "weight", amount=float(amount))
    return holder.weight.detach().numpy().copy()


def _distinct(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """Random weights whose magnitudes are all different (no ties at the threshold)."""
    size = int(np.prod(shape))
    mags = rng.permutation(np.arange(1, size + 1)) * 0.01 + rng.uniform(0, 0.005, size)
    return (mags * rng.choice([-1.0, 1.0], size)).reshape(shape)


MAGNITUDE_PRUNE = Question(
    "2.6", "magnitude_prune", "unstructured magnitude pruning",
    params=("w", "amount"), outputs=("pruned",),
    reference=magnitude_prune_reference,
    tests=(
        Test("a vector of 10 weights, amount 0.3", 2, lambda rng: [call(_distinct(rng, (10,)), 0.3)]),
        Test("negative weights: prune by |w|, not by w", 2,
             lambda rng: [call(_distinct(rng, (4, 5)), 0.5)],
             hint="sort by np.abs(w): a large negative weight is important"),
        Test("the count is round(amount * size)", 1,
             lambda rng: [call(_distinct(rng, (7,)), 0.5), call(_distinct(rng, (3, 3)), 0.25)],
             hint="use round(amount * w.size) weights, not int(...)"),
        Test("amount 0 keeps everything, amount 1 prunes everything", 1,
             lambda rng: [call(_distinct(rng, (3, 4)), 0.0), call(_distinct(rng, (3, 4)), 1.0)]),
        Test("amount outside [0, 1] raises ValueError", 1, lambda rng: [call(_distinct(rng, (4,)), 1.5)],
             raises="ValueError"),
        Test("does not modify its inputs", 1, lambda rng: [call(_distinct(rng, (2, 3)), 0.5)],
             unmodified=True),
    ),
)


# --- 2.7 symmetric int8 quantisation ----------------------------------------------------------


def quantize_int8_reference(w):
    """(q, scale): scale = max|w| / 127 (1.0 if w is all zero), q = clip(round(w / scale), -127, 127)."""
    w = np.asarray(w, dtype=float)
    peak = float(np.abs(w).max()) if w.size else 0.0
    scale = peak / 127.0 if peak > 0 else 1.0
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale


QUANTIZE_INT8 = Question(
    "2.7", "quantize_int8", "symmetric per-tensor int8 quantisation",
    params=("w",), outputs=("q", "scale"),
    reference=quantize_int8_reference,
    tests=(
        Test("random weights", 2, lambda rng: [call(rng.normal(size=(4, 6)))],
             hint="scale = max(|w|) / 127 and q = round(w / scale)"),
        Test("the largest |w| maps to +-127 exactly", 1,
             lambda rng: [call(np.array([-2.0, 0.5, 1.0, 0.25]))]),
        Test("all-zero weights: scale 1.0, no division by zero", 1, lambda rng: [call(np.zeros((2, 3)))],
             hint="if max(|w|) == 0, use scale = 1.0"),
        Test("rounding to nearest (np.round), not truncation", 1,
             lambda rng: [call(rng.uniform(-1, 1, size=50))], hint="int() and astype truncate toward 0"),
        Test("does not modify its inputs", 1, lambda rng: [call(rng.normal(size=5))], unmodified=True),
    ),
)


# --- 2.8 distillation loss ---------------------------------------------------------------------


def distillation_loss_reference(student_logits, teacher_logits, targets, temperature, alpha):
    """aibook.compression.distillation_loss in float64 (Hinton et al., 2015)."""
    import torch

    from aibook.compression import distillation_loss

    s, t = (torch.tensor(a, dtype=torch.float64) for a in (student_logits, teacher_logits))
    return float(distillation_loss(s, t, torch.tensor(targets, dtype=torch.long), temperature, alpha))


def _logits(rng: np.random.Generator, n: int, c: int, scale: float = 2.0):
    return (rng.normal(size=(n, c)) * scale, rng.normal(size=(n, c)) * scale, rng.integers(0, c, n))


def _same_logits(rng: np.random.Generator):
    s = rng.normal(size=(5, 4))
    return s, s.copy(), rng.integers(0, 4, 5)


DISTILLATION_LOSS = Question(
    "2.8", "distillation_loss", "knowledge-distillation loss with temperature",
    params=("student_logits", "teacher_logits", "targets", "temperature", "alpha"), outputs=("loss",),
    reference=distillation_loss_reference,
    tests=(
        Test("T = 1, alpha = 0.5", 2, lambda rng: [call(*_logits(rng, 6, 4), 1.0, 0.5)]),
        Test("T = 4: the soft term is multiplied by T^2", 2,
             lambda rng: [call(*_logits(rng, 8, 5), 4.0, 0.7)],
             hint="alpha * T**2 * KL(p_teacher^T || p_student^T) + (1 - alpha) * CE"),
        Test("alpha = 0 is plain cross-entropy (mean over the batch)", 1,
             lambda rng: [call(*_logits(rng, 5, 3), 3.0, 0.0)]),
        Test("alpha = 1, student equals teacher: loss 0", 1,
             lambda rng: [call(*_same_logits(rng), 2.0, 1.0)],
             hint="KL(p || p) = 0; the KL divides by the batch size, not by n * classes"),
        Test("large logits (about +-1000) stay finite", 1,
             lambda rng: [call(*_logits(rng, 4, 3, 500.0), 2.0, 0.5),
                          call(np.array([[1000.0, -1000.0, 0.0], [0.0, 1000.0, -1000.0]]),
                               np.array([[-1000.0, 1000.0, 0.0], [1000.0, 0.0, -1000.0]]),
                               np.array([1, 2]), 2.0, 0.5)],
             hint="use log-softmax (subtract the max) rather than log(softmax)"),
        Test("does not modify its inputs", 1, lambda rng: [call(*_logits(rng, 3, 3), 2.0, 0.5)],
             unmodified=True),
    ),
)


QUESTIONS = [ATTENTION, CAUSAL_MASK, POSITIONAL_ENCODING, LAYER_NORM, PCA_RECONSTRUCT, MAGNITUDE_PRUNE,
             QUANTIZE_INT8, DISTILLATION_LOSS]
