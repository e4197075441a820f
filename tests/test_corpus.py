"""aibook.corpus: the fixed training text of Chapter 6.2 is the book's own prose, without markup."""

from aibook.corpus import BOOK_PROSE


def test_book_prose_is_long_chinese_text_without_markup():
    assert len(BOOK_PROSE) > 5_000
    chinese = sum("\u4e00" <= ch <= "\u9fff" for ch in BOOK_PROSE)
    assert chinese / len(BOOK_PROSE) > 0.6
    for markup in ("{cite}", "$", "`", "**", "(errata-"):
        assert markup not in BOOK_PROSE, markup
    assert BOOK_PROSE.endswith("\n") and "\n\n" not in BOOK_PROSE  # one paragraph per line
