"""Count-based language models, the baselines a GPT must beat (Chapter 11): unigram, bigram and
interpolated Kneser-Ney n-grams, with the order and the discount chosen on validation data.

Counts are kept as sorted int64 keys (an n-gram of token ids read as a number in base V), so
fitting and scoring are a few NumPy sorts and binary searches even for millions of tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def _keys(tokens: np.ndarray, k: int, base: int) -> np.ndarray:
    """int64 key of every k-gram of ``tokens`` (the k ids as the digits of a base-``base`` number)."""
    n = len(tokens) - k + 1
    out = np.zeros(max(n, 0), dtype=np.int64)
    for j in range(k):
        out = out * base + tokens[j:j + n]
    return out


def _lookup(table: np.ndarray, values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """values[i] where table[i] == query, else 0 (``table`` sorted)."""
    if len(table) == 0:
        return np.zeros(len(queries), dtype=values.dtype)
    pos = np.minimum(np.searchsorted(table, queries), len(table) - 1)
    return np.where(table[pos] == queries, values[pos], 0)


@dataclass
class _Order:
    """Counts of one order: n-gram keys with their counts, and per history the total and the types."""

    grams: np.ndarray
    counts: np.ndarray
    histories: np.ndarray
    totals: np.ndarray
    followers: np.ndarray


class KneserNey:
    """Interpolated Kneser-Ney n-gram model of ``order`` with one absolute ``discount`` in (0, 1].

    P(w | h) = max(c(h w) - D, 0) / c(h ·) + D · N(h ·) / c(h ·) · P(w | h without its first token),
    with raw counts c at the highest order, continuation counts (distinct left neighbours) below
    it, and the uniform 1/V under the unigrams, so every token gets a probability > 0.
    ``order=1`` is a discounted unigram model, ``order=2`` a bigram model.
    """

    def __init__(self, order: int, vocab_size: int, discount: float = 0.75) -> None:
        if order < 1:
            raise ValueError(f"order must be >= 1, got {order}")
        if not 0 < discount <= 1:
            raise ValueError(f"discount must be in (0, 1], got {discount}")
        if vocab_size ** (order + 1) >= 2**63:
            raise ValueError(f"order {order} with {vocab_size} tokens overflows int64 keys: lower the order")
        self.order, self.vocab_size, self.discount = order, vocab_size, discount
        self.levels: list[_Order] = []

    def fit(self, tokens: np.ndarray) -> KneserNey:
        """Count the n-grams of one token stream (documents joined by the end-of-text token)."""
        tokens = np.asarray(tokens, dtype=np.int64)
        if len(tokens) <= self.order:
            raise ValueError(f"need more than {self.order} tokens to fit an order-{self.order} model")
        if tokens.min() < 0 or tokens.max() >= self.vocab_size:
            raise ValueError(f"token ids must lie in [0, {self.vocab_size})")
        v = self.vocab_size
        self.levels = []
        for k in range(1, self.order + 1):
            if k == self.order:  # raw counts
                grams, counts = np.unique(_keys(tokens, k, v), return_counts=True)
            else:  # continuation counts: how many distinct tokens precede the k-gram
                longer = np.unique(_keys(tokens, k + 1, v))
                grams, counts = np.unique(longer % v**k, return_counts=True)
            histories, inverse = np.unique(grams // v, return_inverse=True)
            totals = np.bincount(inverse, weights=counts).astype(np.int64)
            followers = np.bincount(inverse).astype(np.int64)
            self.levels.append(_Order(grams, counts.astype(np.int64), histories, totals, followers))
        return self

    def probabilities(self, history: np.ndarray, target: np.ndarray) -> np.ndarray:
        """P(target[i] | history[i]) for histories (m, order - 1) of token ids and targets (m,)."""
        if not self.levels:
            raise ValueError("fit the model first: KneserNey(...).fit(train_tokens)")
        history = np.asarray(history, dtype=np.int64).reshape(len(target), self.order - 1)
        target = np.asarray(target, dtype=np.int64)
        v, d = self.vocab_size, self.discount
        p = np.full(len(target), 1.0 / v)
        for k, level in enumerate(self.levels, start=1):
            h = np.zeros(len(target), dtype=np.int64)  # the last k - 1 tokens of the history
            for j in range(self.order - k, self.order - 1):
                h = h * v + history[:, j]
            total = _lookup(level.histories, level.totals, h).astype(float)
            types = _lookup(level.histories, level.followers, h)
            count = _lookup(level.grams, level.counts, h * v + target)
            seen = total > 0
            safe = np.where(seen, total, 1.0)
            p = np.where(seen, (np.maximum(count - d, 0) + d * types * p) / safe, p)
        return p

    def cross_entropy(self, tokens: np.ndarray) -> float:
        """Mean -ln P of tokens[1:] given the tokens before them (nats per token, like a GPT's loss).

        The first positions see a shorter history: they are padded with token 0's history at
        every order, which affects ``order - 1`` of the predictions.
        """
        tokens = np.asarray(tokens, dtype=np.int64)
        padded = np.concatenate([np.full(self.order - 1, tokens[0]), tokens])
        m = len(tokens) - 1
        hist = np.stack([padded[j + 1:j + 1 + m] for j in range(self.order - 1)], axis=1) \
            if self.order > 1 else np.zeros((m, 0), dtype=np.int64)
        return float(-np.log(self.probabilities(hist, tokens[1:])).mean())


def choose_ngram(train: np.ndarray, val: np.ndarray, vocab_size: int, orders=(1, 2, 3, 4),
                 discounts=(0.5, 0.75, 0.9, 1.0)) -> tuple[KneserNey, list[dict]]:
    """Fit every (order, discount) on ``train``; return the model best on ``val`` and all the scores."""
    rows, best = [], None
    for order in orders:
        for d in discounts:
            model = KneserNey(order, vocab_size, d).fit(train)
            loss = model.cross_entropy(val)
            rows.append({"order": order, "discount": d, "val_loss": loss, "val_ppl": math.exp(loss)})
            if best is None or loss < best[0]:
                best = (loss, model)
    return best[1], rows
