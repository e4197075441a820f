"""Byte-level BPE: round trips, the tie rule, a naive reference trainer, and Hugging Face tokenizers."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from aibook import bpe
from aibook.bpe import (
    END_OF_TEXT,
    BPETokenizer,
    gpt2_char_to_byte,
    merge_pair,
    split_pieces,
    tokenizers_bpe,
    tokenizers_merges,
    train_merges,
)

MIXED = [
    "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。",
    "春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。",
    "牀前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。",
    "Hello world, it's 2024!  Tabs\tand   spaces\n\nGPT-2's pattern 'll work; 3.14159 ",
    "emoji 😀😀🎉 and 𠀀𪚥 (rare CJK), café, naïve, Ωμέγα, \u200b zero width",
] * 3


def naive_merges(texts: list[str], n_merges: int) -> list[tuple[int, int]]:
    """The textbook algorithm: recount every pair after each merge (slow, obviously right)."""
    words = Counter(p for t in texts for p in split_pieces(t))
    seqs = {w: list(w.encode("utf-8")) for w in words}
    rank = {b: i for i, b in enumerate(bpe.gpt2_byte_order())}
    merges = []
    for k in range(n_merges):
        counts: Counter = Counter()
        for w, ids in seqs.items():
            for pair in zip(ids, ids[1:], strict=False):
                counts[pair] += words[w]
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], rank.get(p[0], p[0]), rank.get(p[1], p[1])))
        merges.append(best)
        seqs = {w: merge_pair(ids, best, 256 + k) for w, ids in seqs.items()}
    return merges


def random_text(rng: random.Random, n: int) -> str:
    """Random code points from every plane that UTF-8 can encode (no surrogates)."""
    out = []
    for _ in range(n):
        top = rng.choice([0x80, 0x800, 0x10000, 0x110000])
        c = rng.randrange(top)
        out.append(chr(c) if not 0xD800 <= c < 0xE000 else "字")
    return "".join(out)


def test_merge_pair_is_left_to_right_without_overlap():
    assert merge_pair([1, 1, 1], (1, 1), 9) == [9, 1]
    assert merge_pair([1, 1, 1, 1], (1, 1), 9) == [9, 9]
    assert merge_pair([1, 2, 1, 2, 3], (1, 2), 9) == [9, 9, 3]


def test_split_pieces_matches_gpt2_examples():
    assert split_pieces("Hello world's 123!") == ["Hello", " world", "'s", " 123", "!"]
    assert split_pieces("床前明月光，疑是") == ["床前明月光", "，", "疑是"]
    assert "".join(split_pieces(MIXED[3])) == MIXED[3]


def test_incremental_trainer_equals_naive_trainer():
    assert train_merges(MIXED, 120) == naive_merges(MIXED, 120)


def test_ties_go_to_the_smallest_pair_in_gpt2_byte_order():
    # (0x00, 0x01) and ("!", "!") both occur once; "!" comes first in GPT-2's order, 0x00 does not
    assert train_merges(["\x00\x01", "!!"], 1) == [(33, 33)]
    assert train_merges(["cd", "ab"], 1) == [(97, 98)]
    assert train_merges(["ab", "ab", "cd"], 1) == [(97, 98)]  # count first
    assert train_merges(["ab", "cd", "cd"], 1) == [(99, 100)]


@pytest.mark.parametrize("seed", range(5))
def test_round_trip_of_any_utf8_string(seed):
    tok = BPETokenizer.train(MIXED, 400)
    text = random_text(random.Random(seed), 300)
    for s in [text, *MIXED, "", "\x00", "<|endoftext" + "|>", END_OF_TEXT * 2]:
        assert tok.decode(tok.encode(s, allow_special=False)) == s


def test_special_tokens_get_their_own_ids():
    tok = BPETokenizer.train(MIXED, 300)
    eot = tok.special_tokens[END_OF_TEXT]
    assert eot == 300 - 3 and tok.vocab_size == 300
    ids = tok.encode(f"春眠{END_OF_TEXT}不觉晓")
    assert ids.count(eot) == 1 and tok.decode(ids) == f"春眠{END_OF_TEXT}不觉晓"
    assert eot not in tok.encode(END_OF_TEXT, allow_special=False)
    with pytest.raises(ValueError, match="outside"):
        tok.decode([tok.vocab_size])
    with pytest.raises(ValueError, match="too small"):
        BPETokenizer.train(MIXED, 258)


def test_one_chinese_character_is_three_bytes_that_decode_alone_to_mojibake():
    tok = BPETokenizer([])
    ids = tok.encode("霜")
    assert ids == list("霜".encode()) and len(ids) == 3
    assert tok.decode(ids[:1]) == "\ufffd" and tok.decode(ids) == "霜"


def test_save_load_and_fingerprint(tmp_path):
    tok = BPETokenizer.train(MIXED, 350)
    path = tok.save(tmp_path / "t.json")
    again = BPETokenizer.load(path)
    assert again.merges == tok.merges and again.special_tokens == tok.special_tokens
    assert again.fingerprint() == tok.fingerprint()
    assert again.encode(MIXED[0]) == tok.encode(MIXED[0])
    assert BPETokenizer(tok.merges[:-1]).fingerprint() != tok.fingerprint()
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="cannot read"):
        BPETokenizer.load(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match="not an aibook BPE"):
        BPETokenizer.load(tmp_path / "other.json")


def test_same_merges_and_ids_as_hugging_face_tokenizers():
    pytest.importorskip("tokenizers", reason="Hugging Face tokenizers is pinned in requirements.txt")
    from aibook.poetry import document, poems

    docs = [document(p) for p in poems("train")[:400]] + MIXED
    ours = BPETokenizer.train(docs, 1200)
    theirs = tokenizers_merges(docs, 1200)
    assert len(ours.merges) == 1200 - 259 == len(theirs)
    assert [(ours.vocab[a], ours.vocab[b]) for a, b in ours.merges] == theirs
    # and the same encoding of unseen text, token for token
    reference = tokenizers_bpe(docs, 1200)
    char_to_byte, id_of = gpt2_char_to_byte(), {v: k for k, v in ours.vocab.items()}
    for text in [document(p) for p in poems("validation")[:100]] + MIXED:
        expected = [id_of[bytes(char_to_byte[c] for c in t)] for t in reference.encode(text).tokens]
        assert ours.encode_ordinary(text) == expected


def test_reference_tokenizer_is_shipped_with_its_provenance():
    tok = bpe.reference_tokenizer()
    assert tok.vocab_size == tok.metadata["settings"]["vocab_size"]
    assert len(tok.metadata["corpus_sha256"]) == 64 and tok.metadata["command"].startswith("python ")
    assert tok.decode(tok.encode("床前明月光，疑是地上霜。")) == "床前明月光，疑是地上霜。"
