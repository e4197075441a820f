"""Byte-level byte-pair encoding (BPE), from scratch: train, encode, decode, save and load.

Text is cut into pieces with GPT-2's pre-tokenisation pattern, each piece into its UTF-8 bytes
(ids 0–255 are the 256 byte values), and training repeatedly merges the most frequent adjacent
pair of tokens into a new token. Ties are broken as in Hugging Face ``tokenizers`` (highest
count, then the smallest pair in its id order, which lists printable bytes first, like GPT-2), so
both give the same merges on the same text; ``tests/test_bpe.py`` asserts it. Any UTF-8 string
round-trips exactly, because every byte is a token.
"""

# Over 300 lines on purpose: training, encoding and the reference they are checked against are one
# algorithm that 11.1 reads top to bottom.

from __future__ import annotations

import hashlib
import heapq
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

import regex

# GPT-2's pattern (also tokenizers' ByteLevel pre-tokenizer): contractions, letters, digits,
# other symbols, whitespace; each with at most one leading space.
GPT2_SPLIT_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
END_OF_TEXT = "<|endoftext|>"
USER = "<|user|>"
ASSISTANT = "<|assistant|>"
DEFAULT_SPECIAL_TOKENS = (END_OF_TEXT, USER, ASSISTANT)
FORMAT = "aibook-bpe-1"
REFERENCE_TOKENIZER = Path(__file__).parent / "results" / "tang_bpe.json"
# how the reference tokenizer's size was chosen: benchmarks/tokenizer.py's measurements
TOKENIZER_SWEEP = Path(__file__).parent / "results" / "tokenizer_sweep.json"


def gpt2_byte_order() -> list[int]:
    """The 256 byte values in GPT-2's (and ``tokenizers``') id order: printable bytes first."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    return printable + [b for b in range(256) if b not in set(printable)]


# rank used to break ties between equally frequent pairs: a byte's position in that order
_BYTE_RANK = {b: i for i, b in enumerate(gpt2_byte_order())}


def _rank(token: int) -> int:
    return _BYTE_RANK[token] if token < 256 else token


def split_pieces(text: str) -> list[str]:
    """Pre-tokenise ``text`` into the pieces BPE works inside (GPT-2's pattern)."""
    return regex.findall(GPT2_SPLIT_PATTERN, text)


def merge_pair(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of ``pair`` in ``ids``, left to right without overlap, by ``new_id``."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def _merge_counting(
    ids: list[int], pair: tuple[int, int], new_id: int, changed: Counter, weight: int
) -> list[int] | None:
    """``merge_pair`` that also adds to ``changed`` how the word's pair counts change (None: no change)."""
    a, b = pair
    out: list[int] = []
    i, n, found = 0, len(ids), False
    while i < n:
        if i + 1 < n and ids[i] == a and ids[i + 1] == b:
            found = True
            if out:  # the left neighbour now pairs with the new token
                changed[(out[-1], a)] -= weight
                changed[(out[-1], new_id)] += weight
            if i + 2 < n:  # and so does the right neighbour
                changed[(b, ids[i + 2])] -= weight
                changed[(new_id, ids[i + 2])] += weight
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out if found else None


def train_merges(texts: Iterable[str], n_merges: int) -> list[tuple[int, int]]:
    """Learn up to ``n_merges`` merges from ``texts``; each text is pre-tokenised on its own.

    Pair counts are updated only in the pieces a merge touches, so training on a few MB takes
    minutes in pure Python, not hours.
    """
    piece_counts = Counter(p for text in texts for p in split_pieces(text))
    words = [list(p.encode("utf-8")) for p in piece_counts]
    counts = list(piece_counts.values())
    pair_counts: Counter = Counter()
    where: defaultdict[tuple[int, int], set[int]] = defaultdict(set)
    for w, (ids, c) in enumerate(zip(words, counts, strict=True)):
        for pair in zip(ids, ids[1:], strict=False):
            pair_counts[pair] += c
            where[pair].add(w)
    heap = [(-c, _rank(a), _rank(b), (a, b)) for (a, b), c in pair_counts.items()]
    heapq.heapify(heap)
    merges: list[tuple[int, int]] = []
    while len(merges) < n_merges and heap:
        neg, _, _, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -neg or -neg <= 0:
            continue  # a stale entry: the pair's current count is in the heap too
        new_id = 256 + len(merges)
        merges.append(pair)
        changed: Counter = Counter()
        for w in where.pop(pair):
            merged = _merge_counting(words[w], pair, new_id, changed, counts[w])
            if merged is not None:
                words[w] = merged
                for p in zip(merged, merged[1:], strict=False):
                    if p[0] == new_id or p[1] == new_id:
                        where[p].add(w)
        pair_counts.pop(pair, None)
        changed.pop(pair, None)
        for p, delta in changed.items():
            c = pair_counts[p] + delta
            if c > 0:
                pair_counts[p] = c
                heapq.heappush(heap, (-c, _rank(p[0]), _rank(p[1]), p))
            else:
                pair_counts.pop(p, None)
    return merges


def gpt2_char_to_byte() -> dict[str, int]:
    """How GPT-2 and ``tokenizers`` print bytes as characters, inverted: printable bytes stand for
    themselves, the other 68 (control bytes, space, 0x7F–0xA0, 0xAD) for U+0100 onwards."""
    order = gpt2_byte_order()
    return {chr(b): b for b in order[:188]} | {chr(256 + i): b for i, b in enumerate(order[188:])}


def tokenizers_bpe(docs: list[str], vocab_size: int, special_tokens: Iterable[str] = DEFAULT_SPECIAL_TOKENS):
    """Hugging Face ``tokenizers``' byte-level BPE trained with this module's settings: the reference."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(special_tokens),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  min_frequency=0, show_progress=False)
    tok.train_from_iterator(docs, trainer)
    return tok


def tokenizers_merges(
    docs: list[str], vocab_size: int, special_tokens: Iterable[str] = DEFAULT_SPECIAL_TOKENS
) -> list[tuple[bytes, bytes]]:
    """The merges ``tokenizers_bpe`` learns, in order, as pairs of byte strings."""
    char_to_byte = gpt2_char_to_byte()
    merges = json.loads(tokenizers_bpe(docs, vocab_size, special_tokens).to_str())["model"]["merges"]
    split = [m.split(" ") if isinstance(m, str) else m for m in merges]
    return [tuple(bytes(char_to_byte[c] for c in part) for part in m) for m in split]


class BPETokenizer:
    """A byte-level BPE tokenizer: ids 0–255 are bytes, then one id per merge, then special tokens."""

    def __init__(
        self,
        merges: list[tuple[int, int]],
        special_tokens: Iterable[str] = DEFAULT_SPECIAL_TOKENS,
        metadata: dict | None = None,
    ) -> None:
        self.merges = [tuple(m) for m in merges]
        self.ranks = {pair: i for i, pair in enumerate(self.merges)}
        self.vocab: dict[int, bytes] = {b: bytes([b]) for b in range(256)}
        for i, (a, b) in enumerate(self.merges):
            self.vocab[256 + i] = self.vocab[a] + self.vocab[b]
        first = 256 + len(self.merges)
        self.special_tokens = {s: first + i for i, s in enumerate(special_tokens)}
        self.metadata = dict(metadata or {})
        self._cache: dict[str, list[int]] = {}
        if self.special_tokens:
            alternatives = sorted(self.special_tokens, key=len, reverse=True)
            self._special_re = regex.compile("(" + "|".join(regex.escape(s) for s in alternatives) + ")")
        else:
            self._special_re = None

    @classmethod
    def train(
        cls,
        text: str | Iterable[str],
        vocab_size: int,
        special_tokens: Iterable[str] = DEFAULT_SPECIAL_TOKENS,
    ) -> BPETokenizer:
        """Learn merges until the vocabulary (256 bytes + merges + special tokens) has ``vocab_size`` ids."""
        special_tokens = list(special_tokens)
        texts = [text] if isinstance(text, str) else list(text)
        n_merges = vocab_size - 256 - len(special_tokens)
        if n_merges < 0:
            raise ValueError(f"vocab_size={vocab_size} is too small: it needs at least "
                             f"{256 + len(special_tokens)} (256 bytes + the special tokens)")
        merges = train_merges(texts, n_merges)
        settings = {"vocab_size": vocab_size, "pattern": GPT2_SPLIT_PATTERN,
                    "tie_rule": "count, then smallest pair"}
        return cls(merges, special_tokens, {"settings": settings})

    @property
    def vocab_size(self) -> int:
        """The number of ids: 256 bytes, the merges and the special tokens."""
        return 256 + len(self.merges) + len(self.special_tokens)

    def token_bytes(self, token: int) -> bytes:
        """The bytes of one (non-special) token."""
        return self.vocab[token]

    def encode_piece(self, piece: str) -> list[int]:
        """Encode one pre-tokenised piece: apply the learned merges, earliest-learned first."""
        cached = self._cache.get(piece)
        if cached is not None:
            return cached
        ids, ranks, never = list(piece.encode("utf-8")), self.ranks, 1 << 62
        while len(ids) > 1:
            best_rank, best = never, -1
            for i in range(len(ids) - 1):
                r = ranks.get((ids[i], ids[i + 1]), never)
                if r < best_rank:
                    best_rank, best = r, i
            if best < 0:
                break
            # the first occurrence is at ``best``: merge from there on, left to right
            ids = ids[:best] + merge_pair(ids[best:], (ids[best], ids[best + 1]), 256 + best_rank)
        if len(self._cache) < 1_000_000:
            self._cache[piece] = ids
        return ids

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode ``text`` treating special-token strings as plain text."""
        out: list[int] = []
        for piece in split_pieces(text):
            out.extend(self.encode_piece(piece))
        return out

    def encode(self, text: str, allow_special: bool = True) -> list[int]:
        """Encode ``text`` to ids; with ``allow_special`` a special token's string becomes its id."""
        if not allow_special or self._special_re is None:
            return self.encode_ordinary(text)
        out: list[int] = []
        for part in self._special_re.split(text):
            if part in self.special_tokens:
                out.append(self.special_tokens[part])
            elif part:
                out.extend(self.encode_ordinary(part))
        return out

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The bytes that ``ids`` stand for (special tokens as their UTF-8 strings)."""
        inverse = {i: s.encode("utf-8") for s, i in self.special_tokens.items()}
        parts = []
        for i in ids:
            i = int(i)
            if i in inverse:
                parts.append(inverse[i])
            elif 0 <= i < 256 + len(self.merges):
                parts.append(self.vocab[i])
            else:
                raise ValueError(f"token id {i} is outside this tokenizer's vocabulary "
                                 f"(0..{self.vocab_size - 1})")
        return b"".join(parts)

    def decode(self, ids: Iterable[int]) -> str:
        """Decode ids to text; bytes that are not valid UTF-8 become U+FFFD (�)."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def to_dict(self) -> dict:
        """The tokenizer as a JSON-ready dict (merges as id pairs)."""
        return {
            "format": FORMAT,
            "pattern": GPT2_SPLIT_PATTERN,
            "merges": [list(m) for m in self.merges],
            "special_tokens": list(self.special_tokens),
            "metadata": self.metadata,
        }

    def fingerprint(self) -> str:
        """SHA-256 of what decides the encoding (pattern, merges, special tokens), not the metadata."""
        d = self.to_dict()
        del d["metadata"]
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    def save(self, path: str | Path) -> Path:
        """Write the tokenizer to a JSON file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> BPETokenizer:
        """Read a tokenizer written by ``save``."""
        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ValueError(f"cannot read tokenizer {path} ({e.__class__.__name__}): "
                             "save it again") from None
        if not isinstance(d, dict) or d.get("format") != FORMAT or d.get("pattern") != GPT2_SPLIT_PATTERN:
            raise ValueError(f"{path} is not an aibook BPE tokenizer ({FORMAT}) file")
        return cls([tuple(m) for m in d["merges"]], d["special_tokens"], d.get("metadata"))

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)})"


def reference_tokenizer() -> BPETokenizer:
    """The book's fixed tokenizer, trained on the Tang-poem training split (``aibook/results/``)."""
    if not REFERENCE_TOKENIZER.is_file():
        raise FileNotFoundError(f"{REFERENCE_TOKENIZER} is missing: reinstall aibook, or run "
                                "'python -m benchmarks.tokenizer' to train it again")
    return BPETokenizer.load(REFERENCE_TOKENIZER)
