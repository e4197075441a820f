"""Turning data into vectors (Chapter 2): PCA from scratch, a toy corpus written by code and a
small skip-gram word-embedding trainer with nearest neighbours."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def pca(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(components (k, d), explained variances (k,), projections (n, k)) of the rows of ``x``.

    From the eigen-decomposition of the covariance matrix; each component's sign is fixed so its
    largest-|.| entry is positive (the decomposition itself leaves the sign free).
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or not 1 <= k <= x.shape[1]:
        raise ValueError(f"need a 2-D array and 1 <= k <= {x.shape[-1]}, got shape {x.shape}, k={k}")
    centered = x - x.mean(axis=0)
    cov = centered.T @ centered / (len(x) - 1)
    values, vectors = np.linalg.eigh(cov)  # ascending
    order = np.argsort(values)[::-1][:k]
    comps = vectors[:, order].T
    signs = np.sign(comps[np.arange(k), np.abs(comps).argmax(axis=1)])
    comps = comps * signs[:, None]
    return comps, values[order], centered @ comps.T


SUBJECTS = {"animal": ["cat", "dog", "horse", "cow", "sheep"],
            "person": ["king", "queen", "man", "woman", "child"]}
TEMPLATES = {
    "animal": [["the", "{s}", "eats", "{o}"], ["a", "{s}", "runs", "in", "the", "field"],
               ["the", "{s}", "sleeps", "on", "the", "grass"]],
    "person": [["the", "{s}", "reads", "a", "{o}"], ["a", "{s}", "lives", "in", "the", "city"],
               ["the", "{s}", "speaks", "to", "the", "people"]],
}
OBJECTS = {"animal": ["grass", "hay", "food"], "person": ["book", "letter", "story"]}


def toy_corpus(n_sentences: int = 2000, seed: int = 0) -> list[list[str]]:
    """Synthetic sentences from templates: animals eat and run, people read and speak."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_sentences):
        kind = "animal" if rng.random() < 0.5 else "person"
        template = TEMPLATES[kind][rng.integers(len(TEMPLATES[kind]))]
        s = SUBJECTS[kind][rng.integers(len(SUBJECTS[kind]))]
        o = OBJECTS[kind][rng.integers(len(OBJECTS[kind]))]
        out.append([w.format(s=s, o=o) for w in template])
    return out


CATEGORY_WORDS = {
    "animal": "cat dog horse cow sheep goat pig lion tiger bear wolf fox".split(),
    "food": "bread rice apple cheese soup cake egg pasta salad banana grape cookie".split(),
    "vehicle": "car bus train truck bike boat plane taxi tram van ship scooter".split(),
    "tool": "hammer saw drill wrench knife spade axe chisel pliers shovel ladder rake".split(),
}
CATEGORY_TEMPLATES = {
    "animal": ["the {w} runs in the field", "a {w} sleeps in the barn", "the farmer feeds the {w}"],
    "food": ["we eat the {w} for lunch", "the {w} tastes sweet", "she cooks the {w} in the kitchen"],
    "vehicle": ["the {w} drives on the road", "we ride the {w} to work", "the {w} needs fuel"],
    "tool": ["he fixes the door with the {w}", "the {w} hangs in the shed", "use the {w} to cut wood"],
}
NEUTRAL_TEMPLATES = ["i saw the {w} yesterday", "this {w} is new", "where is the {w}", "look at that {w}"]


def category_corpus(n_sentences: int = 4000, neutral_fraction: float = 0.5, seed: int = 0) -> list[list[str]]:
    """Unlabelled sentences about 4 categories x 12 words: a random word of a random category in one of
    its category's templates, or (with probability ``neutral_fraction``) in a template any word fits."""
    if not 0 <= neutral_fraction < 1:
        raise ValueError(f"neutral_fraction must be in [0, 1), got {neutral_fraction}")
    rng = np.random.default_rng(seed)
    categories = list(CATEGORY_WORDS)
    out = []
    for _ in range(n_sentences):
        category = categories[rng.integers(len(categories))]
        word = CATEGORY_WORDS[category][rng.integers(len(CATEGORY_WORDS[category]))]
        templates = NEUTRAL_TEMPLATES if rng.random() < neutral_fraction else CATEGORY_TEMPLATES[category]
        out.append(templates[rng.integers(len(templates))].format(w=word).split())
    return out


def skipgram_pairs(sentences: list[list[str]], window: int = 2) -> tuple[list[str], np.ndarray]:
    """(vocabulary sorted, int array (pairs, 2) of (centre, context) word ids within ``window``)."""
    vocab = sorted({w for s in sentences for w in s})
    index = {w: i for i, w in enumerate(vocab)}
    pairs = [(index[s[i]], index[s[j]]) for s in sentences for i in range(len(s))
             for j in range(max(0, i - window), min(len(s), i + window + 1)) if j != i]
    return vocab, np.array(pairs, dtype=np.int64)


def train_word_embeddings(sentences: list[list[str]], dim: int = 16, window: int = 2, epochs: int = 5,
                          lr: float = 0.05, batch_size: int = 512, seed: int = 0
                          ) -> tuple[list[str], np.ndarray, list[float]]:
    """Skip-gram with a full softmax (the vocabulary is tiny): (vocab, embeddings, loss per epoch)."""
    vocab, pairs = skipgram_pairs(sentences, window)
    g = torch.Generator().manual_seed(seed)
    emb = nn.Embedding(len(vocab), dim)
    out = nn.Linear(dim, len(vocab))
    with torch.no_grad():
        emb.weight.copy_(torch.randn(len(vocab), dim, generator=g) * 0.1)
        out.weight.copy_(torch.randn(len(vocab), dim, generator=g) * 0.1)
        out.bias.zero_()
    opt = torch.optim.Adam([*emb.parameters(), *out.parameters()], lr=lr)
    data = torch.from_numpy(pairs)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(data), generator=g)
        total = 0.0
        for b in range(0, len(data), batch_size):
            batch = data[order[b:b + batch_size]]
            loss = nn.functional.cross_entropy(out(emb(batch[:, 0])), batch[:, 1])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(batch)
        losses.append(total / len(data))
    return vocab, emb.weight.detach().numpy().copy(), losses


def nearest_neighbours(word: str, vocab: list[str], embeddings: np.ndarray, k: int = 3
                       ) -> list[tuple[str, float]]:
    """The ``k`` words with the highest cosine similarity to ``word`` (itself excluded)."""
    if word not in vocab:
        raise KeyError(f"{word!r} is not in the vocabulary: pick one of {vocab[:5]}...")
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    sims = unit @ unit[vocab.index(word)]
    order = [i for i in np.argsort(-sims, kind="stable") if vocab[i] != word][:k]
    return [(vocab[i], float(sims[i])) for i in order]
