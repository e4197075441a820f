"""Chapter 11's reference tokenizer and the measurements that chose its vocabulary size.

    python benchmarks/tokenizer.py                     # train, compare with tokenizers, sweep, save
    python benchmarks/tokenizer.py --vocab 4096 --max-vocab 16384

Trains ``aibook.bpe`` once on the training split of the Tang poems up to ``--max-vocab`` ids (BPE is
greedy, so the merges of a smaller vocabulary are a prefix of these), asserts that Hugging Face
``tokenizers`` learns the same merges on the same documents with the same settings, then measures
on the validation split, for each vocabulary size: tokens per character, the bits per byte of a
unigram model of the tokens fitted on the training split (add-one smoothing), and how many ids are
rare in training. Writes the reference tokenizer (``--vocab`` ids) to ``aibook/results/tang_bpe.json``
and the sweep to ``aibook/results/tokenizer_sweep.json``; 11.1 reads both.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import sys
import time
from collections import Counter

import numpy as np

from aibook.bpe import (
    DEFAULT_SPECIAL_TOKENS,
    REFERENCE_TOKENIZER,
    TOKENIZER_SWEEP,
    BPETokenizer,
    tokenizers_merges,
)
from aibook.poetry import CHINESE_POETRY_SHA256, CHINESE_POETRY_VERSION, corpus_hash, document, poems


def measure(tok: BPETokenizer, train_docs: list[str], valid_docs: list[str]) -> dict:
    """Tokens per character and unigram bits per byte on validation; rare ids in training."""
    train_counts = Counter(t for d in train_docs for t in tok.encode_ordinary(d))
    valid = [t for d in valid_docs for t in tok.encode_ordinary(d)]
    n_train = sum(train_counts.values())
    n_ids = 256 + len(tok.merges)
    log_p = {t: math.log2((c + 1) / (n_train + n_ids)) for t, c in train_counts.items()}
    unseen = math.log2(1 / (n_train + n_ids))
    bits = -sum(log_p.get(t, unseen) for t in valid)
    chars = sum(len(d) for d in valid_docs)
    n_bytes = sum(len(d.encode("utf-8")) for d in valid_docs)
    return {
        "vocab_size": tok.vocab_size,
        "train_tokens": n_train,
        "valid_tokens": len(valid),
        "tokens_per_char": len(valid) / chars,
        "unigram_bits_per_byte": bits / n_bytes,
        "ids_seen_under_10_times": sum(1 for t in range(n_ids) if train_counts[t] < 10),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vocab", type=int, default=4096, help="the reference tokenizer's size")
    parser.add_argument("--max-vocab", type=int, default=16384, help="the largest size swept")
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[259, 512, 1024, 2048, 3072, 4096, 6144, 8192, 12288, 16384])
    args = parser.parse_args()
    train_docs = [document(p) for p in poems("train")]
    valid_docs = [document(p) for p in poems("validation")]
    print(f"training split: {len(train_docs)} poems, {sum(len(d) for d in train_docs)} characters, "
          f"{sum(len(d.encode()) for d in train_docs) / 1e6:.2f} MB", flush=True)

    start = time.perf_counter()
    big = BPETokenizer.train(train_docs, args.max_vocab)
    train_s = time.perf_counter() - start
    print(f"aibook.bpe: {len(big.merges)} merges in {train_s:.0f} s", flush=True)
    start = time.perf_counter()
    theirs = tokenizers_merges(train_docs, args.max_vocab)
    hf_s = time.perf_counter() - start
    ours = [(big.vocab[a], big.vocab[b]) for a, b in big.merges]
    agree = next((i for i, (x, y) in enumerate(zip(ours, theirs, strict=False)) if x != y), len(ours))
    print(f"tokenizers: {len(theirs)} merges in {hf_s:.1f} s; the first {agree} agree", flush=True)
    assert ours == theirs, f"merge {agree} differs: ours {ours[agree]}, tokenizers {theirs[agree]}"

    rows = []
    for v in args.sizes:
        tok = BPETokenizer(big.merges[: v - 256 - len(DEFAULT_SPECIAL_TOKENS)])
        start = time.perf_counter()
        row = measure(tok, train_docs, valid_docs)
        row["encode_s"] = time.perf_counter() - start
        rows.append(row)
        print(json.dumps(row), flush=True)

    settings = {"vocab_size": args.vocab, "special_tokens": list(DEFAULT_SPECIAL_TOKENS),
                "pattern": "GPT-2", "tie_rule": "count, then smallest pair (as tokenizers)",
                "trained_on": "aibook.poetry train split, one document per poem"}
    provenance = {
        "date": datetime.date.today().isoformat(),
        "command": "python " + " ".join(sys.argv),
        "corpus": f"npm chinese-poetry {CHINESE_POETRY_VERSION} (tarball SHA-256 {CHINESE_POETRY_SHA256})",
        "corpus_sha256": corpus_hash(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
    }
    ref = BPETokenizer(big.merges[: args.vocab - 256 - len(DEFAULT_SPECIAL_TOKENS)],
                       metadata={"settings": settings, **provenance})
    ref.save(REFERENCE_TOKENIZER)
    sweep = {**provenance, "train_seconds": {"aibook.bpe": train_s, "tokenizers": hf_s},
             "max_vocab": args.max_vocab, "merges_agree_with_tokenizers": agree, "rows": rows}
    TOKENIZER_SWEEP.write_text(json.dumps(sweep, indent=1) + "\n")
    print(f"wrote {REFERENCE_TOKENIZER} ({ref}) and {TOKENIZER_SWEEP}")
    assert np.all(np.diff([r["tokens_per_char"] for r in rows]) <= 0)


if __name__ == "__main__":
    main()
