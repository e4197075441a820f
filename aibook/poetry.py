"""Chapter 11's corpus: the Tang poems of the npm package ``chinese-poetry``, in simplified Chinese.

The package's tarball (pinned version, checked by SHA-256) is looked for in the cache folder and
otherwise downloaded from the npm registry. Its 全唐诗 files are converted to simplified Chinese
with OpenCC (``t2s``), cleaned (editors' notes removed; poems with missing characters dropped),
de-duplicated, and split into train/validation/test **by document**: poems that share a sentence or
much of their wording (a near-duplicate, a variant, a quotation) form one group, and a whole group
goes to one split.
The prepared corpus is cached as JSON; ``token_ids`` caches each split's token ids on disk.
"""

# Over 300 lines on purpose: fetching, cleaning, near-duplicate grouping and splitting are one recipe;
# splitting it would hide that the corpus hash covers all of it.

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from aibook.data import DataError, data_home, download_verified, sha256_bytes

CHINESE_POETRY_VERSION = "2.0.1"
CHINESE_POETRY_SHA256 = "25b549e46919c3a0569db6b68ddc96956b04a484ea4518ad2bbd4f137e307e86"
CHINESE_POETRY_URL = f"https://registry.npmjs.org/chinese-poetry/-/chinese-poetry-{CHINESE_POETRY_VERSION}.tgz"
CHINESE_POETRY_LICENSE = "MIT (Copyright (c) 2016 JackeyGao), see package/LICENSE in the tarball"
TANG_FILES = re.compile(r"package/dist/quantangshi/poet\.tang\.\d+\.json")
# Bumped whenever cleaning or splitting changes, so an old cache is never used.
RECIPE_VERSION = 3
SPLITS = ("train", "validation", "test")
SPLIT_PER_MILLE = (900, 50, 50)  # of the near-duplicate groups, by a hash of the group

# editors' notes and variant readings: （…）, (…), 〖…〗; emendation brackets [字] / {字} keep the text
_NOTES = re.compile(r"（[^（）]*）|\([^()]*\)|〖[^〖〗]*〗")
_BRACKETS = re.compile(r"[\[\]{}]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]")
_ALLOWED_NON_HAN = set("，。？！、；：《》「」『』·…\n")
_SENTENCE_END = re.compile(r"[。？！；\n]")
SHINGLE = 5  # characters per n-gram in the near-duplicate test
NEAR_DUPLICATE_OVERLAP = 0.3
COMMON_SHINGLE = 50  # an n-gram in more poems than this is a stock phrase


class Poem(NamedTuple):
    """One poem: its title, its author and its text (one line per couplet)."""

    title: str
    author: str
    text: str


def tarball_path() -> Path:
    """Where the pinned ``chinese-poetry`` tarball is cached."""
    return data_home() / f"chinese-poetry-{CHINESE_POETRY_VERSION}.tgz"


def fetch_tarball(download: bool = True) -> Path:
    """The pinned tarball, from the cache or else the npm registry; its SHA-256 is checked either way."""
    path = tarball_path()
    fix = "delete it and run 'make data' (or python -m aibook.poetry)"
    if path.is_file():
        if sha256_bytes(path.read_bytes()) != CHINESE_POETRY_SHA256:
            raise DataError(f"{path} is corrupted (SHA-256 mismatch): {fix}")
        return path
    if not download:
        raise DataError(f"{path} not found: run 'make data' (it downloads the npm package chinese-poetry)")
    return download_verified(CHINESE_POETRY_URL, path, CHINESE_POETRY_SHA256)


def raw_tang_poems(tarball: Path) -> list[dict]:
    """The 全唐诗 records of the tarball as they are (traditional characters), in file order."""
    records: list[dict] = []
    with tarfile.open(tarball, "r:gz") as tar:
        members = sorted((m for m in tar if TANG_FILES.fullmatch(m.name)),
                         key=lambda m: int(m.name.rsplit(".", 2)[-2]))
        for m in members:
            records.extend(json.load(io.TextIOWrapper(tar.extractfile(m), encoding="utf-8")))
    if not records:
        raise DataError(f"{tarball} holds no Tang poems: delete it and run 'make data'")
    return records


def clean_text(paragraphs: list[str]) -> str | None:
    """Join a poem's lines without editors' notes; None if it has missing or non-Chinese characters."""
    lines = []
    for line in paragraphs:
        previous = None
        while previous != line:  # nested notes
            previous, line = line, _NOTES.sub("", line)
        line = _BRACKETS.sub("", line).strip()
        if _HAN.search(line):
            lines.append(line)
    text = "\n".join(lines)
    if len(_HAN.findall(text)) < 10:
        return None
    if any(not _HAN.match(ch) and ch not in _ALLOWED_NON_HAN for ch in text):
        return None  # □ (a lost character), stray digits or markup: not a clean poem
    return text


def _sentences(text: str) -> set[str]:
    # a sentence of at least 8 characters (a full couplet of 5-character verse) links two poems
    return {s for s in (re.sub(r"[，、：]", "", x) for x in _SENTENCE_END.split(text)) if len(s) >= 8}


def shingles(text: str, n: int = SHINGLE) -> set[str]:
    """The character n-grams of a poem with punctuation and line breaks removed."""
    chars = "".join(_HAN.findall(text))
    return {chars[i : i + n] for i in range(len(chars) - n + 1)}


def near_duplicate_groups(texts: list[str]) -> list[int]:
    """For each text, the index of its group: texts linked transitively by a shared sentence of
    8 or more characters, or by sharing at least ``NEAR_DUPLICATE_OVERLAP`` of the shorter one's
    5-grams (variants differ in a character or two per line, so they share few whole sentences)."""
    parent = list(range(len(texts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def link(i: int, j: int) -> None:
        parent[find(i)] = find(j)

    first_seen: dict[str, int] = {}
    for i, text in enumerate(texts):
        for s in _sentences(text):
            j = first_seen.setdefault(s, i)
            if j != i:
                link(i, j)
    grams = [shingles(t) for t in texts]
    postings: defaultdict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(grams):
        for x in g:
            postings[x].append(i)
    for i, g in enumerate(grams):
        shared: Counter = Counter()
        for x in g:
            docs = postings[x]
            if len(docs) <= COMMON_SHINGLE:  # a stock phrase links nothing on its own
                shared.update(j for j in docs if j > i)
        for j, k in shared.items():
            if k >= NEAR_DUPLICATE_OVERLAP * min(len(g), len(grams[j])):
                link(i, j)
    return [find(i) for i in range(len(texts))]


def split_of_group(key: str) -> str:
    """The split a group goes to, from a hash of its key (stable when the corpus grows)."""
    h = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % 1000
    return SPLITS[0] if h < SPLIT_PER_MILLE[0] else SPLITS[1] if h < sum(SPLIT_PER_MILLE[:2]) else SPLITS[2]


def prepare(records: list[dict]) -> tuple[dict[str, list[Poem]], dict[str, list[str]]]:
    """Convert to simplified Chinese, clean, de-duplicate and split the raw records.

    Returns the splits and, aligned with them, each poem's cleaned text before conversion.
    """
    import opencc  # only needed to prepare; the cached corpus loads without it

    t2s = opencc.OpenCC("t2s").convert
    poems, originals, seen = [], [], set()
    for r in records:
        original = clean_text(r.get("paragraphs") or [])
        if original is None:
            continue
        text = t2s(original)
        if text in seen:  # exact duplicate after conversion: keep the first
            continue
        seen.add(text)
        poems.append(Poem(t2s(r.get("title", "").strip()), t2s(r.get("author", "").strip()), text))
        originals.append(original)
    groups = near_duplicate_groups([p.text for p in poems])
    key_of_group = {}
    for p, g in zip(poems, groups, strict=True):
        key_of_group.setdefault(g, p.text)  # the group's first poem names it
    out: dict[str, list[Poem]] = {s: [] for s in SPLITS}
    traditional: dict[str, list[str]] = {s: [] for s in SPLITS}
    for p, original, g in zip(poems, originals, groups, strict=True):
        split = split_of_group(key_of_group[g])
        out[split].append(p)
        traditional[split].append(original)
    return out, traditional


def corpus_path() -> Path:
    """Where the prepared corpus is cached."""
    return data_home() / f"tang-poems-{CHINESE_POETRY_VERSION}-r{RECIPE_VERSION}.json"


def _corpus_hash(splits: dict[str, list[Poem]]) -> str:
    return hashlib.sha256(json.dumps(splits, ensure_ascii=False).encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def _load_prepared(download: bool) -> dict:
    path = corpus_path()
    if path.is_file():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            splits = {s: [Poem(*p) for p in stored["splits"][s]] for s in SPLITS}
            if _corpus_hash(splits) == stored["sha256"] and set(stored["traditional"]) == set(SPLITS):
                return stored | {"splits": splits}
        except (ValueError, KeyError, TypeError):
            pass  # damaged: prepare it again below
    splits, traditional = prepare(raw_tang_poems(fetch_tarball(download)))
    stored = {"source": CHINESE_POETRY_URL, "tarball_sha256": CHINESE_POETRY_SHA256, "recipe": RECIPE_VERSION,
              "sha256": _corpus_hash(splits), "splits": splits, "traditional": traditional}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(stored, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    return stored


@lru_cache(maxsize=1)
def corpus(download: bool = True) -> tuple[dict[str, list[Poem]], str]:
    """All three splits and the corpus hash (SHA-256 of the prepared splits), prepared once and cached."""
    stored = _load_prepared(download)
    return stored["splits"], stored["sha256"]


def traditional_texts(split: str) -> list[str]:
    """The poems of a split as the package has them (traditional characters), cleaned, aligned with
    ``poems(split)``: for comparing how traditional and simplified Chinese tokenise."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    return _load_prepared(True)["traditional"][split]


def corpus_hash() -> str:
    """SHA-256 of the prepared corpus (all splits): what a tokenizer or a checkpoint was trained on."""
    return corpus()[1]


def poems(split: str) -> list[Poem]:
    """The poems of one split: 'train', 'validation' or 'test'."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    return corpus()[0][split]


def document(poem: Poem) -> str:
    """The training text of one poem: title, author, then the poem, one line each."""
    return f"{poem.title}\n{poem.author}\n{poem.text}"


def token_ids(split: str, tokenizer) -> np.ndarray:
    """A split's documents encoded and joined, each followed by the end-of-text token (uint16).

    Cached on disk, keyed by the corpus hash and the tokenizer's fingerprint.
    """
    from aibook.bpe import END_OF_TEXT

    if tokenizer.vocab_size > 1 << 16:
        raise ValueError(f"vocab_size={tokenizer.vocab_size} does not fit uint16: use at most 65536")
    docs = poems(split)
    path = data_home() / "tokens" / f"{split}-{corpus_hash()[:16]}-{tokenizer.fingerprint()[:16]}.npy"
    if path.is_file():
        try:
            return np.load(path)
        except (OSError, ValueError):
            pass  # damaged: encode again
    eot = tokenizer.special_tokens[END_OF_TEXT]
    ids: list[int] = []
    for p in docs:
        ids.extend(tokenizer.encode_ordinary(document(p)))
        ids.append(eot)
    arr = np.asarray(ids, dtype=np.uint16)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npy")
    np.save(tmp, arr)
    tmp.replace(path)
    return arr


def main() -> None:
    """Fetch and prepare the corpus and its token ids for the reference tokenizer (``make data``)."""
    from aibook.bpe import reference_tokenizer

    splits, digest = corpus()
    tokenizer = reference_tokenizer()
    for s in SPLITS:
        chars = sum(len(document(p)) for p in splits[s])
        print(f"Tang poems {s}: {len(splits[s])} poems, {chars} characters, "
              f"{len(token_ids(s, tokenizer))} tokens")
    print(f"corpus sha256 {digest[:16]}…, cached in {corpus_path()}")


if __name__ == "__main__":
    try:
        main()
    except DataError as e:
        raise SystemExit(f"error: {e}") from None
