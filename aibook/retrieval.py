"""Retrieval-based question answering (Chapter 6.1): tokens, TF-IDF, cosine top-k, top-k accuracy.

The TF-IDF here uses scikit-learn's default formula (smoothed idf, raw counts, l2 rows), so the
book can check it against ``sklearn.feature_extraction.text.TfidfVectorizer`` with the same tokens.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_TOKEN = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9]+")


def tokenize(text: str, bigrams: bool = True) -> list[str]:
    """Lower-cased Latin words, Chinese characters and (optionally) Chinese character bigrams."""
    tokens: list[str] = []
    for piece in _TOKEN.findall(text.lower()):
        if _CJK_RUN.fullmatch(piece):
            tokens.extend(piece)
            if bigrams:
                tokens.extend(piece[i : i + 2] for i in range(len(piece) - 1))
        else:
            tokens.append(piece)
    return tokens


def build_vocabulary(documents: Sequence[Sequence[str]]) -> dict[str, int]:
    """Token -> column index, tokens sorted (the order scikit-learn uses)."""
    return {t: i for i, t in enumerate(sorted({t for doc in documents for t in doc}))}


def smoothed_idf(documents: Sequence[Sequence[str]], vocabulary: dict[str, int]) -> np.ndarray:
    """idf(t) = ln((1 + n) / (1 + df(t))) + 1, scikit-learn's ``smooth_idf=True``."""
    df = np.zeros(len(vocabulary))
    for doc in documents:
        for t in set(doc):
            if t in vocabulary:
                df[vocabulary[t]] += 1
    return np.log((1 + len(documents)) / (1 + df)) + 1


def tfidf_matrix(documents: Sequence[Sequence[str]], vocabulary: dict[str, int], idf: np.ndarray
                 ) -> np.ndarray:
    """Rows of raw term counts times idf, each scaled to unit l2 norm; unknown tokens are dropped."""
    out = np.zeros((len(documents), len(vocabulary)))
    for row, doc in enumerate(documents):
        for t, count in Counter(doc).items():
            if t in vocabulary:
                out[row, vocabulary[t]] = count
    out *= idf
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


def cosine_similarity(queries: np.ndarray, documents: np.ndarray) -> np.ndarray:
    """(n_queries, n_documents) cosine similarities; a zero vector has similarity 0 with everything."""
    def unit(a: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(a, axis=1, keepdims=True)
        return np.divide(a, norms, out=np.zeros_like(a, dtype=float), where=norms > 0)

    return unit(np.asarray(queries, dtype=float)) @ unit(np.asarray(documents, dtype=float)).T


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores per row, best first; ties go to the lower index."""
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (queries x documents), got shape {scores.shape}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def top_k_accuracy(scores: np.ndarray, targets: Sequence[int], k: int) -> float:
    """Share of queries whose correct document is among their k best-scoring documents."""
    ranked = top_k(scores, k)
    targets = np.asarray(targets)
    if targets.shape != (ranked.shape[0],):
        raise ValueError(f"targets has shape {targets.shape}, expected ({ranked.shape[0]},)")
    return float((ranked == targets[:, None]).any(axis=1).mean())


def lsa(matrix: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """Latent semantic analysis: (document embeddings U_k S_k, projection V_k) from a truncated SVD.

    A query vector q is embedded as ``q @ projection``; signs follow numpy's SVD.
    """
    u, s, vt = np.linalg.svd(np.asarray(matrix, dtype=float), full_matrices=False)
    if not 1 <= n_components <= len(s):
        raise ValueError(f"n_components must be in 1..{len(s)}, got {n_components}")
    return u[:, :n_components] * s[:n_components], vt[:n_components].T
