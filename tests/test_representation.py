"""PCA against SVD and scikit-learn; the word-embedding trainer on the toy corpus."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA

from aibook.representation import (
    CATEGORY_WORDS,
    category_corpus,
    nearest_neighbours,
    pca,
    skipgram_pairs,
    toy_corpus,
    train_word_embeddings,
)


def test_pca_matches_svd_and_sklearn_up_to_sign():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 6)) @ rng.normal(size=(6, 6))
    comps, var, proj = pca(x, 3)
    _, s, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    signs = np.sign((comps * vt[:3]).sum(1))
    np.testing.assert_allclose(comps, vt[:3] * signs[:, None], atol=1e-8)
    np.testing.assert_allclose(var, s[:3] ** 2 / 99)
    ref = PCA(3).fit(x)
    np.testing.assert_allclose(var, ref.explained_variance_)
    np.testing.assert_allclose(np.abs(proj), np.abs(ref.transform(x)), atol=1e-8)


def test_pca_rejects_bad_k():
    with pytest.raises(ValueError):
        pca(np.zeros((5, 3)), 4)


def test_toy_corpus_and_pairs():
    corpus = toy_corpus(10, seed=1)
    assert corpus == toy_corpus(10, seed=1) and len(corpus) == 10
    vocab, pairs = skipgram_pairs([["a", "b", "c"]], window=1)
    assert vocab == ["a", "b", "c"]
    assert sorted(map(tuple, pairs.tolist())) == [(0, 1), (1, 0), (1, 2), (2, 1)]


def test_embeddings_group_words_by_role():
    vocab, emb, losses = train_word_embeddings(toy_corpus(1000), dim=8, epochs=3)
    assert losses[-1] < losses[0]
    near = [w for w, _ in nearest_neighbours("cat", vocab, emb, k=3)]
    assert set(near) <= {"dog", "horse", "cow", "sheep"}
    with pytest.raises(KeyError, match="not in the vocabulary"):
        nearest_neighbours("unicorn", vocab, emb)


def test_category_corpus_is_reproducible_and_mixes_neutral_sentences():
    corpus = category_corpus(400, neutral_fraction=0.5, seed=3)
    assert corpus == category_corpus(400, neutral_fraction=0.5, seed=3) and len(corpus) == 400
    words = {w for s in corpus for w in s}
    assert all(w in words for ws in CATEGORY_WORDS.values() for w in ws)  # 400 draws cover all 48 words
    neutral = sum(s[0] in {"i", "this", "where", "look"} for s in corpus)
    assert 150 < neutral < 250
    assert not any(s[0] in {"i", "this", "where", "look"} for s in category_corpus(200, neutral_fraction=0.0))
    with pytest.raises(ValueError, match="neutral_fraction"):
        category_corpus(10, neutral_fraction=1.0)
