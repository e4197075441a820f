"""aibook.retrieval and the FAQ corpus: tokens, TF-IDF against scikit-learn, top-k."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity as sk_cosine

from aibook import retrieval as r
from aibook.faq import FAQ, HELD_OUT


def test_tokenize_mixes_chinese_characters_bigrams_and_words():
    assert r.tokenize("GPU 训练") == ["gpu", "训", "练", "训练"]
    assert r.tokenize("学习率", bigrams=False) == ["学", "习", "率"]
    assert r.tokenize("，。!?") == []


def test_tfidf_matches_scikit_learn():
    texts = [q + a for q, a in FAQ]
    docs = [r.tokenize(t) for t in texts]
    vocab = r.build_vocabulary(docs)
    ours = r.tfidf_matrix(docs, vocab, r.smoothed_idf(docs, vocab))
    vec = TfidfVectorizer(analyzer=r.tokenize)
    theirs = vec.fit_transform(texts).toarray()
    assert list(vec.vocabulary_) and vec.vocabulary_ == vocab
    np.testing.assert_allclose(ours, theirs, atol=1e-12)
    queries = [q for q, _ in HELD_OUT]
    ours_q = r.tfidf_matrix([r.tokenize(q) for q in queries], vocab, r.smoothed_idf(docs, vocab))
    np.testing.assert_allclose(ours_q, vec.transform(queries).toarray(), atol=1e-12)


def test_unknown_tokens_give_a_zero_vector_with_similarity_zero():
    docs = [["a", "b"], ["b", "c"]]
    vocab = r.build_vocabulary(docs)
    q = r.tfidf_matrix([["z"]], vocab, r.smoothed_idf(docs, vocab))
    assert not q.any()
    assert not r.cosine_similarity(q, np.eye(3)).any()


def test_cosine_similarity_matches_scikit_learn():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 6)), rng.normal(size=(5, 6))
    np.testing.assert_allclose(r.cosine_similarity(a, b), sk_cosine(a, b), atol=1e-12)


def test_top_k_breaks_ties_by_lower_index_and_accuracy_counts_hits():
    scores = np.array([[0.1, 0.5, 0.5, 0.2], [0.9, 0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(r.top_k(scores, 2), [[1, 2], [0, 1]])
    assert r.top_k_accuracy(scores, [2, 3], 1) == 0.0
    assert r.top_k_accuracy(scores, [2, 3], 2) == 0.5
    assert r.top_k_accuracy(scores, [2, 3], 10) == 1.0
    with pytest.raises(ValueError, match="k must be"):
        r.top_k(scores, 0)
    with pytest.raises(ValueError, match="targets"):
        r.top_k_accuracy(scores, [1], 1)


def test_lsa_reconstructs_with_all_components_and_embeds_queries():
    rng = np.random.default_rng(1)
    m = rng.uniform(size=(6, 9))
    emb, proj = r.lsa(m, 6)
    np.testing.assert_allclose(emb @ proj.T, m, atol=1e-12)
    np.testing.assert_allclose(m @ proj, emb, atol=1e-12)  # documents embed like queries
    with pytest.raises(ValueError, match="n_components"):
        r.lsa(m, 7)


def test_every_held_out_question_points_at_a_document():
    assert len(HELD_OUT) >= 2 * len(FAQ)
    assert {i for _, i in HELD_OUT} == set(range(len(FAQ)))
    assert not {q for q, _ in HELD_OUT} & {q for q, _ in FAQ}
