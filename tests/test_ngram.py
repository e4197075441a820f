"""aibook.ngram: Kneser-Ney equals a slow dictionary version, sums to 1, is chosen on validation."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from aibook import ngram


def corpus(n: int = 3000, vocab: int = 12, seed: int = 0) -> np.ndarray:
    """A Markov chain with a few likely successors per token, so higher orders help."""
    rng = np.random.default_rng(seed)
    table = rng.dirichlet(np.full(vocab, 0.3), size=(vocab, vocab))
    out = [0, 1]
    for _ in range(n - 2):
        out.append(rng.choice(vocab, p=table[out[-2], out[-1]]))
    return np.array(out, dtype=np.uint16)


def slow_kneser_ney(tokens: list[int], order: int, vocab: int, d: float):
    """Interpolated Kneser-Ney written with Counters, straight from the textbook formula."""
    grams = {k: Counter(tuple(tokens[i:i + k]) for i in range(len(tokens) - k + 1))
             for k in range(1, order + 2)}

    def counts(k: int) -> Counter:
        if k == order:
            return grams[k]
        return Counter(g[1:] for g in grams[k + 1])  # distinct left neighbours

    tables = {k: counts(k) for k in range(1, order + 1)}

    def prob(history: tuple, w: int) -> float:
        p = 1.0 / vocab
        for k in range(1, order + 1):
            h = history[len(history) - (k - 1):] if k > 1 else ()
            table = tables[k]
            total = sum(c for g, c in table.items() if g[:-1] == h)
            if total == 0:
                continue
            types = sum(1 for g in table if g[:-1] == h)
            p = (max(table.get(h + (w,), 0) - d, 0) + d * types * p) / total
        return p

    return prob


@pytest.mark.parametrize("order,d", [(1, 0.75), (2, 0.5), (3, 0.9), (3, 1.0)])
def test_vectorised_kneser_ney_equals_the_slow_formula(order, d):
    toks = corpus(600, vocab=6)
    model = ngram.KneserNey(order, 6, d).fit(toks)
    slow = slow_kneser_ney(toks.tolist(), order, 6, d)
    rng = np.random.default_rng(1)
    hist = rng.integers(0, 6, size=(40, order - 1))
    target = rng.integers(0, 6, size=40)
    want = [slow(tuple(h.tolist()), int(w)) for h, w in zip(hist, target, strict=True)]
    np.testing.assert_allclose(model.probabilities(hist, target), want, rtol=1e-12)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_probabilities_sum_to_one_over_the_vocabulary_for_seen_and_unseen_histories(order):
    vocab = 12
    model = ngram.KneserNey(order, vocab, 0.75).fit(corpus(vocab=vocab))
    for h in ([0, 1, 2], [5, 5, 5], [11, 0, 7]):
        hist = np.tile(h[3 - (order - 1):] if order > 1 else [], (vocab, 1)).astype(int)
        p = model.probabilities(hist, np.arange(vocab))
        assert (p > 0).all()
        assert abs(p.sum() - 1) < 1e-12


def test_unigram_and_bigram_near_maximum_likelihood_with_a_small_discount():
    toks = corpus()
    uni = ngram.KneserNey(1, 12, 1e-9).fit(toks)
    freq = np.bincount(toks, minlength=12) / len(toks)
    np.testing.assert_allclose(uni.probabilities(np.zeros((12, 0)), np.arange(12)), freq, rtol=1e-6)
    bi = ngram.KneserNey(2, 12, 1e-9).fit(toks)
    pairs = Counter(zip(toks[:-1].tolist(), toks[1:].tolist(), strict=False))
    first = Counter(toks[:-1].tolist())
    assert abs(bi.probabilities(np.array([[3]]), np.array([4]))[0] - pairs[(3, 4)] / first[3]) < 1e-6


def test_cross_entropy_is_mean_negative_log_probability_and_higher_orders_help():
    toks = corpus()
    train, val = toks[:2500], toks[2500:]
    losses = [ngram.KneserNey(k, 12, 0.75).fit(train).cross_entropy(val) for k in (1, 2, 3)]
    assert losses[0] > losses[1] > losses[2]  # the chain has order 2: trigrams capture it
    assert losses[0] < math.log(12)
    model = ngram.KneserNey(2, 12, 0.75).fit(train)
    p = model.probabilities(val[:-1, None], val[1:])
    assert abs(model.cross_entropy(val) - (-np.log(p).mean())) < 1e-12


def test_choose_ngram_picks_the_lowest_validation_loss():
    toks = corpus()
    best, rows = ngram.choose_ngram(toks[:2500], toks[2500:], 12, orders=(1, 2, 3), discounts=(0.5, 0.9))
    assert len(rows) == 6
    top = min(rows, key=lambda r: r["val_loss"])
    assert (best.order, best.discount) == (top["order"], top["discount"])


def test_bad_input_gives_one_line_errors():
    with pytest.raises(ValueError, match="fit the model first"):
        ngram.KneserNey(2, 5).probabilities(np.zeros((1, 1)), np.zeros(1))
    with pytest.raises(ValueError, match="lower the order"):
        ngram.KneserNey(5, 70000)
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        ngram.KneserNey(2, 5).fit(np.array([1, 2, 9, 3]))
